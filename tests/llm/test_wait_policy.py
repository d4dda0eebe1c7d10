"""How llama.cpp's OpenMP threads wait: the app's setting, and the environment's word over it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from llm import runtime

ROOT = Path(__file__).resolve().parents[2]


def test_it_applies_the_apps_wait_policy_when_the_environment_says_nothing():
    environ = {"PATH": "/usr/bin"}

    in_force = runtime.apply_wait_policy(environ)

    assert in_force == runtime.WAIT_POLICY
    assert environ == {"PATH": "/usr/bin", **runtime.WAIT_POLICY}


def test_the_environment_wins_with_either_variable():
    for name, value in (("OMP_WAIT_POLICY", "ACTIVE"), ("GOMP_SPINCOUNT", "infinite")):
        environ = {name: value}

        assert runtime.apply_wait_policy(environ) == {name: value}
        assert environ == {name: value}  # nothing of ours added beside it


def test_llama_cpp_starts_with_the_wait_policy_in_its_environment():
    code = (
        "import os; from llm import runtime; runtime.llama_cpp_version(); "
        "print(sorted((k, v) for k, v in os.environ.items() if k in runtime.WAIT_VARIABLES))"
    )
    env = {k: v for k, v in os.environ.items() if k not in runtime.WAIT_VARIABLES}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(sorted(runtime.WAIT_POLICY.items()))
