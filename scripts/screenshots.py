"""Screenshots of the planner's main pages at a laptop and a phone width, to look at.

Starts the app as scripts/run does (gunicorn + the task worker, a fresh SQLite file in a
temporary folder), makes the first account, adds the Moscow sample set, optimizes it once to the
end and once more with the worker stopped (a run waiting in the queue), then saves PNGs of the
sets list, the set, the live run, the route, the history, the models page, the account page,
the import errors and the first-account page, in Russian (the default) and the route also in English.

    .venv/bin/python scripts/screenshots.py [--out /tmp/t2-screenshots]

Needs Chromium (`apt-get install chromium`, or T2_CHROMIUM=/path). Map tiles are not fetched:
the maps show their plain background, as offline.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.server import served_app  # noqa: E402

logger = logging.getLogger("screenshots")

WIDTHS = {"laptop": (1280, 800), "phone": (390, 844)}
USERNAME = "planner"
PASSWORD = "a-long-screenshot-password"
BAD_CSV = (
    "name,address,lat,lon,time_window_start,time_window_end,priority\n"
    "Рынок,Саранск,54.1838,45.1749,09:00,18:00,high\n"
    "Вокзал,Саранск,954.2,45.2,9 утра,18:00,medium\n"
).encode()


def new_page(browser, base_url: str, size: tuple[int, int], **options):
    context = browser.new_context(
        base_url=base_url,
        locale="ru-RU",
        viewport={"width": size[0], "height": size[1]},
        **options,
    )

    # Only the app itself: map tiles and anything else from outside are refused.
    def guard(route):
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.on("pageerror", lambda error: logger.warning("page error on %s: %s", page.url, error))
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and "ERR_FAILED" not in m.text  # a refused map tile
            and "status of 400" not in m.text  # the import with a bad row, on purpose
            and logger.warning("console on %s: %s", page.url, m.text)
        ),
    )
    return page


def settle(page) -> None:
    """Let maps draw and fit before the picture is taken."""
    page.wait_for_load_state("networkidle")
    if page.locator(".map").count():
        page.locator(".map.t2map-ready").first.wait_for()
    page.wait_for_timeout(400)


# The outermost elements that stick out past the window's right edge (outside any scrolling
# box): what makes a page scroll sideways.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return true;
    }
    return false;
  };
  const found = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.getBoundingClientRect().right <= width + 1 || clipped(el)) continue;
    if (found.some((outer) => outer.contains(el))) continue;
    found.push(el);
  }
  return found.slice(0, 5).map((el) => el.tagName.toLowerCase()
    + (el.id ? "#" + el.id : "") + (el.className ? "." + String(el.className).split(" ").join(".") : "")
    + " right=" + Math.round(el.getBoundingClientRect().right));
}"""


def shoot(page, out: Path, name: str, width: str) -> None:
    settle(page)
    for culprit in page.evaluate(OVERFLOW):
        logger.warning("%s-%s: wider than the window: %s", name, width, culprit)
    path = out / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    logger.info("saved %s", path)


def prepare(page, app) -> dict[str, str]:
    """The account, a sample set, a finished run and a run waiting for the worker; returns
    the pages' paths."""
    paths = {"setup": "/setup/"}
    page.goto("/setup/")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/sets/$"))
    paths["sets"] = "/sets/"

    page.click("form[action*='/sets/samples/'] button >> nth=0")
    page.wait_for_url(re.compile(r"/sets/\d+/$"))
    paths["set"] = page.url.removeprefix(app.url)

    page.click("#optimize-form button[type=submit]")
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    page.locator("#run-map").wait_for(timeout=120_000)
    paths["route"] = page.url.removeprefix(app.url)

    app.stop_worker()
    page.goto(paths["set"])
    page.click("#optimize-form button[type=submit]")
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    paths["live-run"] = page.url.removeprefix(app.url)
    paths["history"] = "/runs/"
    paths["models"] = "/models/"
    paths["account"] = "/account/"
    paths["import"] = paths["set"] + "import"
    return paths


def take(browser, app, paths: dict[str, str], out: Path) -> None:
    state = out / ".state.json"
    for width, size in WIDTHS.items():
        page = new_page(browser, app.url, size, storage_state=str(state))
        for name in ("sets", "set", "live-run", "route", "history", "models", "account"):
            page.goto(paths[name])
            shoot(page, out, name, width)
        page.goto(paths["set"])
        page.click("#locations-body tr:first-child a.btn")  # edit the first row in place
        page.locator("#locations-body tr.editing").wait_for()
        shoot(page, out, "set-editing", width)
        page.goto(paths["import"])
        page.set_input_files(
            "#id_file", {"name": "points.csv", "mimeType": "text/csv", "buffer": BAD_CSV}
        )
        page.click("main form button[type=submit]")
        page.locator("#import-errors").wait_for()
        shoot(page, out, "import-errors", width)
        page.goto(paths["route"])
        with page.expect_navigation():
            page.select_option("#language-select", "en")
        shoot(page, out, "route-en", width)
        with page.expect_navigation():
            page.select_option("#language-select", "ru")
        page.context.close()
    state.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/t2-screenshots"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    executable = os.environ.get("T2_CHROMIUM") or shutil.which("chromium")
    if not executable:
        sys.exit("Chromium not found: apt-get install chromium, or set T2_CHROMIUM")

    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="t2-screenshots-") as folder,
        served_app(Path(folder)) as app,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=executable, args=["--headless=new", "--no-sandbox", "--disable-gpu"]
        )
        # The first-account page exists only before the account: shot first, at both widths.
        setup_pages = {}
        for width, size in WIDTHS.items():
            page = new_page(browser, app.url, size)
            page.goto("/setup/")
            shoot(page, out, "setup", width)
            setup_pages[width] = page
        page = setup_pages["laptop"]
        paths = prepare(page, app)
        page.context.storage_state(path=str(out / ".state.json"))
        for setup_page in setup_pages.values():
            setup_page.context.close()
        take(browser, app, paths, out)
        browser.close()
    logger.info("screenshots in %s", out)


if __name__ == "__main__":
    main()
