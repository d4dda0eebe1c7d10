"""Summary figures of the per-model timing history (plain Python)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def summarize(attempts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Count, success rate, median / p95 latency, load time and tokens/s of attempt rows."""
    rows = list(attempts)
    ok = [r for r in rows if r["status"] == "ok"]
    durations = [r["duration_ms"] for r in rows]
    loads = [r["load_ms"] for r in rows if r.get("load_ms")]
    speeds = [r["tokens_per_second"] for r in rows if r.get("tokens_per_second")]
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "count": len(rows),
        "ok": len(ok),
        "success_rate": round(len(ok) / len(rows), 3) if rows else None,
        "statuses": statuses,
        "median_ms": rounded(percentile(durations, 0.5)),
        "p95_ms": rounded(percentile(durations, 0.95)),
        "median_load_ms": rounded(percentile(loads, 0.5)),
        "median_tokens_per_second": rounded(percentile(speeds, 0.5)),
    }
