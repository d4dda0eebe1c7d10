"""Load the enabled slots in the seed's order (qwen, llama, tpro) and print load times."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Load the enabled model slots where optimizations run: in the task worker (it must be "
        "running) or, with T2_OPTIMIZE_INLINE or --here, in this process."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--here", action="store_true", help="load in this process")
        parser.add_argument(
            "--wait", type=float, default=600, help="seconds to wait for the worker"
        )

    def handle(self, *args, here: bool, wait: float, **options):
        if here or settings.T2_OPTIMIZE_INLINE:
            from llm.warmup import warm_up

            results = warm_up()
        else:
            from llm.tasks import warm_up_models

            result = warm_up_models.enqueue()
            deadline = time.monotonic() + wait
            while not result.is_finished:
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"the worker did not answer in {wait:g} s; is manage.py worker running?"
                    )
                time.sleep(0.2)
                result.refresh()
            if result.errors:
                raise CommandError(f"warm-up failed in the worker: {result.errors[-1].traceback}")
            results = result.return_value
        for line in results:
            if line["status"] != "loaded":
                self.stdout.write(f"{line['slot']}: {line['status']}: {line['reason']}")
            elif line["load_ms"] == 0:
                self.stdout.write(f"{line['slot']}: already loaded")
            else:
                seconds = line["load_ms"] / 1000
                self.stdout.write(self.style.SUCCESS(f"{line['slot']}: loaded in {seconds:.2f} s"))
