# Sourced by scripts/bootstrap.sh: installs llama-cpp-python into .venv, built for this CPU
# and never with AMX tile instructions unless asked for.
#
# Why not pip's default build: llama-cpp-python compiles llama.cpp with -march=native, which on
# Intel Xeons reporting AMX compiles ggml's AMX kernels. Virtualised and sandboxed hosts often
# show AMX in CPUID without enabling it, and the first batched decode then dies with SIGILL
# (`tileloadd`), killing the worker and every run it holds. We keep -march=native (AVX-512,
# VNNI and the rest of what this CPU has: full speed) and take out only the AMX instructions
# with -mno-amx-*. GCC lets an explicit -mno-* win over -march, whatever their order, so ggml's
# `#if defined(__AMX_INT8__)` kernels are left out and the library holds no tile instruction.
# The alternative, GGML_NATIVE=OFF with hand-picked GGML_AVX512* switches, would have to
# repeat ggml's feature detection here and fall behind every new CPU feature it learns.
#
# Switches (environment):
#   T2_LLAMA_AMX=1   keep AMX (bare-metal Sapphire Rapids or newer where it works)
#   T2_LLAMA_CUDA=1  build for an NVIDIA GPU (needs the CUDA toolkit), as the seed guide's
#                    CMAKE_ARGS="-DGGML_CUDA=on"; then n_gpu_layers=-1 offloads every layer
#   T2_LLAMA_CMAKE_ARGS  more CMake arguments, appended
#
# pip's own wheel cache is keyed by the source archive, not by CMAKE_ARGS or the CPU, so a wheel
# built with AMX (or on another CPU) would be reused silently. We build the wheel ourselves into
# a cache keyed by the version, the CMake arguments and this CPU's instruction-set flags, and
# check the installed library before trusting it (`llama_build_ok`).

LLAMA_VERSION="$(sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' "$ROOT/pyproject.toml" | head -n 1)"

llama_cmake_args() {
  local args="" flags="" amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
  if [ "${T2_LLAMA_AMX:-0}" != 1 ] && [ "$(uname -m)" = x86_64 ]; then
    # Newer GCCs know more AMX sets; give each only when this compiler accepts it.
    for extra in -mno-amx-fp16 -mno-amx-complex; do
      if echo 'int main(void){return 0;}' | "${CC:-cc}" -x c - -o /dev/null "$extra" >/dev/null 2>&1; then
        amx="$amx $extra"
      fi
    done
    flags="$amx"
    args="-DCMAKE_C_FLAGS='$flags' -DCMAKE_CXX_FLAGS='$flags'"
  fi
  if [ "${T2_LLAMA_CUDA:-0}" = 1 ]; then
    args="$args -DGGML_CUDA=on"
  fi
  echo "$args ${T2_LLAMA_CMAKE_ARGS:-}" | sed 's/^ *//; s/ *$//'
}

cpu_isa_flags() {
  # The instruction-set flags a -march=native build depends on; other flags (bugs, hypervisor
  # hints) change between identical machines and must not force a rebuild.
  grep -m1 -E '^(flags|Features)' /proc/cpuinfo 2>/dev/null | tr ' ' '\n' \
    | grep -E '^(sse|ssse|avx|amx|fma|f16c|bmi|popcnt|vnni|vpclmul|gfni|vaes|sha|asimd|sve|neon)' \
    | sort -u | tr '\n' ' '
}

llama_libdir() {
  .venv/bin/python - <<'PY' 2>/dev/null
import importlib.util, pathlib
spec = importlib.util.find_spec("llama_cpp")
print(pathlib.Path(spec.origin).parent / "lib" if spec else "")
PY
}

# True when llama-cpp-python is installed at the pinned version with the build we want here.
llama_build_ok() {
  local marker=".venv/.llama-build" want
  want="$LLAMA_VERSION|$(llama_cmake_args)|$(cpu_isa_flags)"
  [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ] || return 1
  if [ "${T2_LLAMA_AMX:-0}" != 1 ] && command -v objdump >/dev/null 2>&1; then
    local lib
    lib="$(llama_libdir)"
    for so in "$lib"/libggml-cpu*.so "$lib"/libggml*.so; do
      [ -f "$so" ] || continue
      if objdump -d --no-show-raw-insn "$so" | grep -q -m1 'tileloadd'; then
        echo "bootstrap: $so holds AMX instructions; rebuilding llama-cpp-python" >&2
        return 1
      fi
    done
  fi
  return 0
}

llama_install() {
  llama_build_ok && return 0
  local args key cache wheel
  args="$(llama_cmake_args)"
  key="$(printf '%s|%s|%s' "$LLAMA_VERSION" "$args" "$(cpu_isa_flags)" | sha256sum | cut -c1-16)"
  cache="${T2_WHEEL_CACHE:-$HOME/.cache/t2routes/wheels}/llama-cpp-python-$LLAMA_VERSION-$key"
  wheel="$(ls "$cache"/llama_cpp_python-*.whl 2>/dev/null | head -n 1 || true)"
  if [ -z "$wheel" ]; then
    echo "bootstrap: building llama-cpp-python $LLAMA_VERSION for this CPU (~15-20 min, once)" >&2
    echo "bootstrap: CMAKE_ARGS=$args" >&2
    mkdir -p "$cache"
    CMAKE_ARGS="$args" \
      CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}" \
      .venv/bin/python -m pip wheel --quiet --no-deps --no-cache-dir --no-binary llama-cpp-python \
      -w "$cache" "llama-cpp-python==$LLAMA_VERSION"
    wheel="$(ls "$cache"/llama_cpp_python-*.whl | head -n 1)"
  fi
  .venv/bin/python -m pip install --quiet --force-reinstall --no-deps "$wheel"
  printf '%s|%s|%s' "$LLAMA_VERSION" "$args" "$(cpu_isa_flags)" > .venv/.llama-build
  if ! llama_build_ok; then
    echo "bootstrap: the llama-cpp-python build in $cache is not usable here; remove it and run again" >&2
    return 1
  fi
}
