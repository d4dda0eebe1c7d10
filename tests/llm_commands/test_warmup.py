"""manage.py warmup: load the enabled slots in the seed's order and print load times."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from llm.models import ModelSlot
from llm.runtime import configure_pool, get_pool

pytestmark = [pytest.mark.llm, pytest.mark.django_db]


@pytest.fixture
def fresh_pool():
    pool = configure_pool()
    yield pool
    get_pool().close()


def test_warmup_loads_the_enabled_slots_in_the_seeds_order(test_model_path, fresh_pool, capsys):
    ModelSlot.objects.filter(name__in=["qwen", "llama"]).update(
        model_file=str(test_model_path), n_threads=2, n_ctx=1024
    )

    call_command("warmup", "--here")

    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["qwen", "llama", "tpro"]
    assert "loaded in" in lines[0] and "loaded in" in lines[1]
    assert "not_found" in lines[2]
    assert sorted(m["name"] for m in fresh_pool.loaded()) == ["llama", "qwen"]


def test_warming_a_loaded_model_does_not_load_it_again(test_model_path, fresh_pool, capsys):
    ModelSlot.objects.filter(name="qwen").update(model_file=str(test_model_path), n_threads=2)
    ModelSlot.objects.exclude(name="qwen").update(enabled=False)

    call_command("warmup", "--here")
    call_command("warmup", "--here")

    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("qwen: loaded in") and float(out[0].split()[-2]) > 0
    assert out[1] == "qwen: already loaded"
