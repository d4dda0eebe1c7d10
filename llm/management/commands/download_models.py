"""Download the seed's GGUF files from Hugging Face and record them on their slots."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from llm.catalogue import MODELS
from llm.models import ModelSlot


class Command(BaseCommand):
    help = (
        "Download GGUF model files (the seed's repositories and quantizations) with a progress "
        "bar and resume, and record each file on its slot."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "slots", nargs="*", help=f"slots to download (default: all of {', '.join(MODELS)})"
        )
        parser.add_argument(
            "--quant",
            default="",
            help="quantization, e.g. Q4_K_M (default: each model's recommended one)",
        )
        parser.add_argument("--dir", default="", help="target folder (default: T2_MODELS_DIR)")
        parser.add_argument(
            "--endpoint",
            default=None,
            help="hub URL, e.g. a mirror (default: HF_ENDPOINT or huggingface.co)",
        )
        parser.add_argument("--list", action="store_true", help="list the known files and exit")

    def handle(self, *args, slots, quant, dir, endpoint, list, **options):
        if list:
            self._list()
            return
        unknown = [name for name in slots if name not in MODELS]
        if unknown:
            raise CommandError(f"unknown slot {unknown[0]!r}; known: {', '.join(MODELS)}")
        target = Path(dir) if dir else Path(settings.T2_MODELS_DIR)
        target.mkdir(parents=True, exist_ok=True)
        for name in slots or MODELS:
            info = MODELS[name]
            try:
                variant = info.variant(quant) if quant else info.default
            except KeyError as exc:
                raise CommandError(str(exc.args[0])) from None
            self.stdout.write(
                f"{name}: {variant.repo} / {variant.filename} (~{variant.file_gb} GB) → {target}"
            )
            path = self._download(variant.repo, variant.filename, target, endpoint)
            ModelSlot.objects.filter(name=name).update(
                model_file=str(path),
                hf_repo=variant.repo,
                hf_file=variant.filename,
                quantization=variant.quantization,
            )
            self.stdout.write(self.style.SUCCESS(f"{name}: saved {path} and set it on the slot"))

    def _download(self, repo: str, filename: str, target: Path, endpoint: str | None) -> Path:
        # Imported here: huggingface_hub is only needed by this command.
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            EntryNotFoundError,
            HfHubHTTPError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
        )

        try:
            # Partial files are resumed; tqdm shows progress on the terminal.
            return Path(
                hf_hub_download(
                    repo_id=repo, filename=filename, local_dir=target, endpoint=endpoint
                )
            )
        except RepositoryNotFoundError:
            raise CommandError(
                f"repository {repo!r} not found on the hub (or it is gated)"
            ) from None
        except EntryNotFoundError as exc:
            if isinstance(exc, LocalEntryNotFoundError):
                raise CommandError(
                    f"could not download {filename} from {repo}: the hub is unreachable "
                    "(offline, or HF_HUB_OFFLINE is set) and no copy is cached. Copy the file "
                    f"into {target} by hand, or set the slot's model file to its path."
                ) from None
            raise CommandError(f"{repo} has no file {filename!r}") from None
        except (HfHubHTTPError, OSError) as exc:
            raise CommandError(f"could not download {filename} from {repo}: {exc}") from None

    def _list(self) -> None:
        for info in MODELS.values():
            self.stdout.write(f"{info.slot} ({info.display_name}, {info.parameters}):")
            for v in info.variants:
                mark = " (recommended)" if v.quantization == info.default_quantization else ""
                self.stdout.write(
                    f"  {v.quantization:7} {v.repo}/{v.filename}  ~{v.file_gb} GB file, "
                    f"~{v.ram_gb} GB RAM{mark}"
                )
