"""Summary figures of the per-model timing history (plain Python)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
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
    prompt_speeds = [
        r["prompt_tokens"] / r["prompt_ms"] * 1000
        for r in rows
        if r.get("prompt_tokens") and r.get("prompt_ms")
    ]
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
        "median_prompt_tokens_per_second": rounded(percentile(prompt_speeds, 0.5)),
    }


#: Statuses in which the model never started answering (its latency says nothing about it).
NOT_RUN = frozenset({"not_found", "refused_memory", "skipped", "unavailable"})


def latency(attempts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Median latency of the attempts in which the model ran, split as the seed's section 8
    table is: requests that loaded the model first, and the ones after."""
    ran = [r for r in attempts if r["status"] not in NOT_RUN]
    cold = [r["duration_ms"] for r in ran if r.get("load_ms")]
    warm = [r["duration_ms"] for r in ran if not r.get("load_ms")]
    return {
        "ran": len(ran),
        "median_cold_ms": percentile(cold, 0.5),
        "median_warm_ms": percentile(warm, 0.5),
        "cold": len(cold),
        "warm": len(warm),
    }


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


#: A number standing on its own: not the digits inside a name such as "qwen2-0_5b" or
#: "q4_k_m", which would turn a file name into "qwen…-…_…b".
_NUMBER = re.compile(r"(?<![\w./-])\d+(?:[.,]\d+)?(?![\w/-]|[.,]\w)")


@lru_cache(maxsize=1024)
def reason_group(reason: str) -> str:
    """A reason with its numbers blanked, so that "travel 45 min is over ..." and "travel 52
    min is over ..." count as one kind of refusal (file names and paths keep their digits)."""
    return _NUMBER.sub("…", reason.strip()) or "(no reason given)"


def contribution(attempts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """What a model's answers were worth: the share accepted; for accepted ones the mean km of
    its raw order, after repair, and of the algorithm's own route, and how often its route was
    strictly better than the algorithm's (shorter: an accepted route never has more violations
    or drops more important stops, the quality gate sees to that); the reasons for the rest,
    grouped.

    Rows need "status" and "reason", and the km of Attempt.metrics flattened: "proposal_km",
    "final_km", "algorithm_km" (None where the model proposed no order)."""
    rows = list(attempts)
    accepted = [r for r in rows if r["status"] == "ok"]
    compared = [
        r for r in accepted if r.get("final_km") is not None and r.get("algorithm_km") is not None
    ]
    better = sum(1 for r in compared if r["final_km"] < r["algorithm_km"] - 0.005)
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        if r["status"] == "ok":
            continue
        reason = r.get("reason") or ""
        key = (r["status"], reason_group(reason))
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "status": key[0],
                "reason": key[1],
                "example": reason,
                "count": 0,
            }
        group["count"] += 1
    return {
        "attempts": len(rows),
        "accepted": len(accepted),
        "accepted_share": round(len(accepted) / len(rows), 3) if rows else None,
        "compared": len(compared),
        "mean_proposal_km": _mean(
            [r["proposal_km"] for r in compared if r.get("proposal_km") is not None]
        ),
        "mean_final_km": _mean([r["final_km"] for r in compared]),
        "mean_algorithm_km": _mean([r["algorithm_km"] for r in compared]),
        "better": better,
        "as_good": len(compared) - better,
        "refusals": sorted(groups.values(), key=lambda g: -g["count"]),
    }


def fitting_scenarios(total_bytes: int, gb: int = 1024**3) -> list[dict[str, Any]]:
    """The seed's scenarios A–E (llm.catalogue.SCENARIOS) with whether a machine with this much
    RAM fits each, as `manage.py doctor` decides: machines sold as "24 GB" report a little
    less, so 95% of the minimum is enough."""
    from llm.catalogue import SCENARIOS

    return [
        {
            "letter": letter,
            "title": title,
            "slots": slots,
            "minimum_gb": minimum_gb,
            "fits": total_bytes >= minimum_gb * gb * 0.95,
        }
        for letter, title, slots, minimum_gb in SCENARIOS
    ]


#: The seed guide's expected response times on CPU (section 8), in seconds: (first request,
#: with the load; later requests).
SEED_RESPONSE_SECONDS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "qwen": ((5, 15), (3, 10)),
    "tpro": ((30, 120), (30, 120)),
    "llama": ((5, 15), (5, 15)),
}
