"""The route engine's compiled scans against their Python references, side by side.

    .venv/bin/python bench/scans.py [--quick] [--iterations N] [--repeat R]

For each case of bench/engine.py it plans the day with ``solve`` at a fixed iteration
count (so both ways do the same work: no clock in the loop) with the compiled scans
(``routes/engine/_scan.c``) and with the Python references (``T2_ENGINE_PURE`` in a
run), interleaved, best CPU time of ``--repeat`` runs each, checks that both planned
the same route, and prints the times and their ratio by size.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from engine import all_cases  # noqa: E402

from routes.engine import compiled, solve, speedups  # noqa: E402


def timed(problem, iterations: int, repeat: int, fast: bool) -> tuple[float, tuple]:
    # compile_problem reads compiled.scan when it builds the day: None = the Python scans.
    compiled.scan = speedups.scan if fast else None
    best = float("inf")
    route = ()
    for _ in range(repeat):
        began = time.thread_time()
        found = solve(problem, seed=0, max_iterations=iterations, time_limit=600)
        best = min(best, time.thread_time() - began)
        route = (found.order, found.travel_minutes)
    compiled.scan = speedups.scan
    return best * 1000, route


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few small cases: a smoke run")
    parser.add_argument("--iterations", type=int, default=None, help="per solve (default by size)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if speedups.scan is None:
        parser.error(
            "the compiled scans are not built (or T2_ENGINE_PURE is set): "
            ".venv/bin/python -m routes.engine.build"
        )
    cases = all_cases()
    if args.quick:
        cases = [c for c in cases if c.name in ("n20w20.001", "moscow-15", "request-10")]
    print(f"# compiled scans vs Python references, {time.strftime('%Y-%m-%d %H:%M')}")
    print("| case | stops | iterations | compiled CPU ms | Python CPU ms | ratio | same route |")
    print("|---|---|---|---|---|---|---|")
    by_size: dict[str, list[float]] = {}
    different = 0
    for case in cases:
        n = len(case.problem.stops)
        iterations = args.iterations or (75 if n <= 20 else 150 if n <= 50 else 60)
        fast_ms, fast_route = timed(case.problem, iterations, args.repeat, True)
        pure_ms, pure_route = timed(case.problem, iterations, args.repeat, False)
        same = fast_route == pure_route
        different += not same
        ratio = pure_ms / fast_ms
        size = "<= 20" if n <= 20 else "21-50" if n <= 50 else "51-150" if n <= 150 else "> 150"
        by_size.setdefault(size, []).append(ratio)
        print(
            f"| {case.name} | {n} | {iterations} | {fast_ms:.1f} | {pure_ms:.1f} | "
            f"{ratio:.2f} | {'yes' if same else 'NO'} |"
        )
    print()
    print("| stops | cases | Python / compiled, median | min | max |")
    print("|---|---|---|---|---|")
    for size in ("<= 20", "21-50", "51-150", "> 150"):
        ratios = by_size.get(size)
        if not ratios:
            continue
        print(
            f"| {size} | {len(ratios)} | {statistics.median(ratios):.2f} | "
            f"{min(ratios):.2f} | {max(ratios):.2f} |"
        )
    print(f"\nroutes that differ: {different}")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
