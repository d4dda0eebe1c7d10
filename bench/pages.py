"""Server time of the planner's heaviest pages: a 300-stop set, its 300-stop route, the
history with 10,000 runs and the models page with 10,000 attempts (issue target: under 50 ms
each, with a bounded number of queries).

Runs Django in this process against a fresh SQLite file in a temporary folder, renders each
page through the test client (URL routing, middleware, views, templates: everything but the
socket) and prints the median and 95th percentile of `--repeats` renders after a warm-up.

    .venv/bin/python bench/pages.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="t2-bench-pages-")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ["T2_OPTIMIZE_INLINE"] = "1"
    os.environ["T2_MODELS_DIR"] = tmp  # no model files: the algorithm answers
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "t2site.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from llm.models import Attempt
    from routes.models import Location, LocationSet, RouteRun
    from routes.optimize import optimize
    from routes.samples import point_set_bodies
    from routes.schema import parse_request

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench-password-123")
    body = point_set_bodies()["mordovia-250"]
    extra = [
        {**loc, "ID": f"{loc['ID']}x", "lat": loc["lat"] + 0.001} for loc in body["locations"][:50]
    ]
    locations = body["locations"] + extra  # 300 stops
    body = {"locations": locations, "constraints": {"end_time": "23:00", "visit_minutes": 5}}
    location_set = LocationSet.objects.create(
        owner=user, name="Мордовия 300", constraints=body["constraints"]
    )
    Location.objects.bulk_create(
        Location.from_request(item, location_set=location_set, position=i)
        for i, item in enumerate(locations)
    )
    run = optimize(parse_request(body), owner=user)
    RouteRun.objects.filter(pk=run.pk).update(location_set=location_set)
    RouteRun.objects.bulk_create(
        RouteRun(
            owner=user,
            location_set=location_set,
            set_name=location_set.name,
            request={"locations": [], "constraints": {}},
            location_count=300,
            status="done",
            model_used="greedy",
            total_distance_km=321.0,
            duration_ms=900,
        )
        for _ in range(10_000)
    )
    # The models page: 10,000 attempts over the three slots and the algorithm, as a chain
    # that mostly falls back would leave them (accepted, refused, timed out, no file).
    run_ids = list(RouteRun.objects.values_list("id", flat=True)[:10_000])
    slots = ("qwen", "tpro", "llama", "greedy")
    statuses = ("ok", "ok", "rejected", "timeout", "not_found")

    def figures(km: float) -> dict:
        return {"km": km, "travel_minutes": km * 2, "violations": 0, "dropped_by_rank": [0] * 4}

    Attempt.objects.bulk_create(
        Attempt(
            run_id=run_ids[i % len(run_ids)],
            slot=slots[i % 4],
            status="ok" if slots[i % 4] == "greedy" else statuses[i % 5],
            reason="" if statuses[i % 5] == "ok" else f"travel {i % 90} min is over 10% more",
            stops=2 + i % 60,
            duration_ms=200.0 + (i * 37) % 20000,
            load_ms=300.0 if i % 50 == 0 else None,
            prompt_tokens=400,
            prompt_ms=800.0,
            completion_tokens=60,
            tokens_per_second=25.0,
            metrics={}
            if slots[i % 4] == "greedy"
            else {
                "proposal": figures(40 + i % 7),
                "final": figures(38 + i % 5),
                "algorithm": figures(38 + i % 4),
            },
        )
        for i in range(10_000)
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    pages = {
        "set page, 300 stops": f"/sets/{location_set.pk}/",
        "route page, 300 stops": f"/runs/{run.pk}/",
        "history, 10,000 runs": "/runs/",
        "history, next 50 (htmx)": "/runs/?page=2",
        "models, 10,000 attempts": "/models/",
        "models, uncached history": "/models/",
        "models, live part (htmx)": "/models/",
    }
    # The models page caches each slot's history until an attempt is added: this line pays
    # for recomputing it on every render, as the first view after a run does.
    before = {"models, uncached history": cache.clear}
    htmx_targets = {
        "history, next 50 (htmx)": "history-more",
        "models, live part (htmx)": "slot-qwen-live",
    }
    # CPU ms (this thread's) is what the page costs; wall ms adds waiting for the other core's
    # load and the database. Both are printed: on a busy machine, trust CPU ms.
    print(f"{'page':28} {'median ms':>10} {'p95 ms':>8} {'CPU ms':>7} {'queries':>8} {'KB':>6}")
    for name, url in pages.items():
        target = htmx_targets.get(name)
        headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": target} if target else {}
        for _ in range(3):
            response = client.get(url, **headers)
            assert response.status_code == 200, (url, response.status_code)
        times, cpu = [], []
        for _ in range(args.repeats):
            before.get(name, lambda: None)()
            started, started_cpu = time.perf_counter(), time.thread_time()
            client.get(url, **headers)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
        before.get(name, lambda: None)()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, **headers)
        times.sort()
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        print(
            f"{name:28} {statistics.median(times):10.1f} {p95:8.1f} {statistics.median(cpu):7.1f} "
            f"{len(queries.captured_queries):8d} {len(response.content) / 1024:6.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
