"""Build the engine's compiled scans: ``python -m routes.engine.build``.

Compiles ``_scan.c`` next to it with the C compiler Python was built with (``$CC`` to
choose another), portable flags only (no ``-march``: the same file runs on every x86-64
CPU) and ``-ffp-contract=off`` (no fused multiply-add: the C scans must compute exactly
what their Python references do). Does nothing when the built module is current. Without
a compiler it says so and exits 0: the engine then runs its pure-Python scans, slower
(docs/benchmarks.md), with the same answers.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from .speedups import SOURCE, built_hash, source_hash

TARGET = SOURCE.with_name("_scan" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))


def compiler() -> list[str]:
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return shlex.split(cc)[:1]


def command(output: Path) -> list[str]:
    include = sysconfig.get_paths()["include"]
    return [
        *compiler(),
        "-O2",
        "-ffp-contract=off",
        "-fno-strict-aliasing",
        "-fPIC",
        "-shared",
        f"-I{include}",
        f'-DSOURCE_HASH="{source_hash()}"',
        str(SOURCE),
        "-o",
        str(output),
    ]


def build(force: bool = False) -> bool:
    """Build ``_scan`` unless it is current; True when a current module is in place."""
    if not force and built_hash() == source_hash():
        return True
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / TARGET.name
        try:
            done = subprocess.run(command(output), capture_output=True, text=True)
        except OSError as error:
            print(
                f"engine: no C compiler ({error}); the engine runs in pure Python", file=sys.stderr
            )
            return False
        if done.returncode != 0:
            print(
                "engine: building the compiled scans failed; the engine runs in pure Python\n"
                + done.stderr,
                file=sys.stderr,
            )
            return False
        os.replace(output, TARGET)  # a new file: a process that loaded the old one keeps it
    return True


if __name__ == "__main__":
    ok = build(force="--force" in sys.argv)
    print(
        f"engine: compiled scans {'built' if ok else 'not built'} ({TARGET.name})", file=sys.stderr
    )
