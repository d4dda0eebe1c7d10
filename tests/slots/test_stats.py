from llm.stats import percentile, summarize


def test_percentiles_use_the_nearest_rank():
    values = list(range(1, 101))

    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.95) == 95
    assert percentile([], 0.5) is None


def test_the_summary_counts_success_and_ignores_missing_timings():
    rows = [
        {"status": "ok", "duration_ms": 100, "load_ms": 300, "tokens_per_second": 50},
        {"status": "ok", "duration_ms": 200, "load_ms": None, "tokens_per_second": 70},
        {"status": "timeout", "duration_ms": 900, "load_ms": None, "tokens_per_second": None},
        {"status": "not_found", "duration_ms": 1, "load_ms": None, "tokens_per_second": None},
    ]

    summary = summarize(rows)

    assert summary["count"] == 4
    assert summary["success_rate"] == 0.5
    assert summary["median_ms"] == 100
    assert summary["p95_ms"] == 900
    assert summary["median_load_ms"] == 300
    assert summary["median_tokens_per_second"] == 50
    assert summary["statuses"] == {"ok": 2, "timeout": 1, "not_found": 1}
