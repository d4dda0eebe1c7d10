"""The route engine alone on random over-full days: does every run reach its day's best
priorities, and how far apart is the travel of the runs that do?

    .venv/bin/python bench/overfull.py [--quick] [--seeds N] [--sizes 80,120] [--days 3]

bench/engine.py measures the engine against its peers on a fixed set of days; this one
looks wider, at the engine alone: days drawn by the engine tests' generator
(``tests/engine/engine_cases.random_problem`` with tight windows: a 60 x 60 minute square,
ranks 0-3, visits of 5-20 minutes, a day holds a small share of its stops), for each size
and start mode ``--days`` of them (problem seeds 2000, 2001, ...), each planned with engine
seeds 0..N-1 at the default budget. A day's best profile is the best any of its runs
reached; a run below it "misses"; the spread is max/min travel of the runs at it. Days that
everything fits are left out (none at these sizes). Runs one after another (bench/engine.py's
``run_engine``, which checks each route against ``evaluate``): CPU times are the process's,
comparable only within one sitting on a quiet machine.
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

from engine import Case, profile, run_engine  # noqa: E402

from tests.engine.engine_cases import random_problem  # noqa: E402

MODES = ("free", "depot", "depot-return")
FIRST_DAY = 2000


def plan_day(n: int, mode: str, day: int, seeds: int) -> dict:
    case = Case(f"{n}-{mode}-{day}", "random", random_problem(n, day, mode, tight=True))
    runs = run_engine(case, seeds)
    profiles = [profile(case.problem, r.route) for r in runs]
    best = max(profiles)
    at_best = [r.route.travel_minutes for r, p in zip(runs, profiles, strict=True) if p == best]
    return {
        "name": case.name,
        "over_full": sum(best) < len(case.problem.stops),
        "best": best,
        "misses": len(runs) - len(at_best),
        "spread": max(at_best) / min(at_best) - 1,
        "travel": (min(at_best), max(at_best)),
        "cpu_ms": 1000 * statistics.median(r.seconds for r in runs),
        "runs": len(runs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small day, two runs: a smoke run")
    parser.add_argument("--seeds", type=int, default=4, help="engine runs per day (default 4)")
    parser.add_argument("--sizes", default="80,100,120,160,200", help="stops per day")
    parser.add_argument("--days", type=int, default=3, help="days per size and start mode")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    modes, days, seeds = MODES, args.days, args.seeds
    if args.quick:
        sizes, modes, days, seeds = [80], MODES[:1], 1, 2
    print(f"# random over-full days, engine seeds {seeds}, {time.strftime('%Y-%m-%d %H:%M')}")
    print(
        "| day | best profile | runs below it | travel at it, min-max | spread | CPU ms (median) |"
    )
    print("|---|---|---|---|---|---|")
    results = []
    for n in sizes:
        for mode in modes:
            for day in range(FIRST_DAY, FIRST_DAY + days):
                r = plan_day(n, mode, day, seeds)
                if not r["over_full"]:
                    continue
                results.append(r)
                low, high = r["travel"]
                print(
                    f"| {r['name']} | {'/'.join(map(str, r['best']))} | {r['misses']} of "
                    f"{r['runs']} | {low:.1f}-{high:.1f} | {100 * r['spread']:.2f} % | "
                    f"{r['cpu_ms']:.0f} |",
                    flush=True,
                )
    if not results:
        print("no over-full day drawn")
        return 0
    runs = sum(r["runs"] for r in results)
    misses = sum(r["misses"] for r in results)
    wide = [r for r in results if r["spread"] > 0.01]
    worst = max(results, key=lambda r: r["spread"])
    print()
    print(
        f"days: {len(results)}, runs: {runs}; {misses} below their day's best profile; "
        f"{len(wide)} days with a travel spread above 1 % at it; worst {worst['name']} "
        f"{100 * worst['spread']:.2f} %"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
