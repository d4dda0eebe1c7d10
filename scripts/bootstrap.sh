# Sourced by scripts/run and scripts/test: finds Python 3.12+, makes .venv, installs the project.
# Usage: . scripts/bootstrap.sh [extras]   (extras e.g. "test")
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

python_ok() {
  "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
  local candidate
  for candidate in "${T2_PYTHON:-}" python3.12 python3.13 python3.14 python3 \
      "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 \
      /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do
    [ -n "$candidate" ] || continue
    if python_ok "$candidate"; then
      command -v "$candidate" 2>/dev/null || echo "$candidate"
      return 0
    fi
  done
  return 1
}

if [ -x .venv/bin/python ] && ! python_ok .venv/bin/python; then
  echo "bootstrap: .venv has an old Python; making it again" >&2
  rm -rf .venv
fi

if [ ! -x .venv/bin/python ]; then
  if ! PYTHON="$(find_python)"; then
    cat >&2 <<'MSG'
bootstrap: no Python 3.12 or newer was found (Django 6 needs it).
Looked for $T2_PYTHON, python3.12, python3.13, python3.14, python3 and pyenv's versions.
Install one (e.g. `pyenv install 3.12` or your system's python3.12 package with venv), or
point T2_PYTHON at it: T2_PYTHON=/path/to/python3.12 scripts/run
MSG
    exit 1
  fi
  echo "bootstrap: making .venv with $PYTHON ($("$PYTHON" --version))" >&2
  "$PYTHON" -m venv .venv
fi

EXTRAS="${1:-}"
SPEC="."
[ -n "$EXTRAS" ] && SPEC=".[$EXTRAS]"

# llama-cpp-python first, built for this CPU without AMX (see scripts/llama_build.sh); the
# project's install below then finds it in place and does not build it again.
. "$ROOT/scripts/llama_build.sh"
if ! llama_build_ok; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  llama_install
fi

STAMP=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)-${EXTRAS:-base}"
if [ ! -f "$STAMP" ]; then
  echo "bootstrap: installing $SPEC" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet "$SPEC"
  touch "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"

# The route engine's compiled scans (routes/engine/_scan.c, a few seconds; nothing when
# current). Without a C compiler it says so and the engine runs its Python references.
python -m routes.engine.build
