"""A fresh database holds the seed's three slots with the seed's defaults (guide, section 10)."""

from django.db import migrations

SEED = [
    # name, display name, role, position, file, repo, quant, threads, gpu, ctx, batch, timeout
    ("qwen", "Qwen2-0.5B-Instruct", "primary", 1, "qwen2-0_5b-instruct-q4_k_m.gguf",
     "Qwen/Qwen2-0.5B-Instruct-GGUF", "Q4_K_M", 4, 0, 2048, 512, 120),
    ("tpro", "T-Pro-it-1.0", "secondary", 2, "t-pro-it-1.0-q4_k_m.gguf",
     "t-tech/T-pro-it-1.0-Q4_K_M-GGUF", "Q4_K_M", 4, 0, 512, 512, 30),
    ("llama", "Llama-3.2-1B-Instruct", "fallback", 3, "Llama-3.2-1B-Instruct-Q4_K_M.gguf",
     "bartowski/Llama-3.2-1B-Instruct-GGUF", "Q4_K_M", 8, -1, 4096, 256, 120),
]


def create_slots(apps, schema_editor):
    ModelSlot = apps.get_model("llm", "ModelSlot")
    for name, display, role, position, file, repo, quant, threads, gpu, ctx, batch, timeout in SEED:
        ModelSlot.objects.get_or_create(
            name=name,
            defaults=dict(
                display_name=display,
                role=role,
                position=position,
                model_file=file,
                hf_repo=repo,
                hf_file=file,
                quantization=quant,
                n_threads=threads,
                n_gpu_layers=gpu,
                n_ctx=ctx,
                n_batch=batch,
                timeout=timeout,
            ),
        )


def remove_slots(apps, schema_editor):
    apps.get_model("llm", "ModelSlot").objects.filter(name__in=[s[0] for s in SEED]).delete()


class Migration(migrations.Migration):
    dependencies = [("llm", "0001_initial")]

    operations = [migrations.RunPython(create_slots, remove_slots)]
