"""The planner in a real browser, against the app served as in production: gunicorn in front,
the task worker running the optimizations behind it (not inline), a fresh SQLite file.

The first test meets the fresh server; the others sign in (making the first account
themselves when they run alone)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from playwright.sync_api import expect

from .conftest import open_page
from .server import served_app

pytestmark = pytest.mark.browser

USERNAME = "planner"
PASSWORD = "a-long-browser-password"
# Waits are generous (other suites share the machine) but bounded.
SLOW = 30_000
GPX = "{http://www.topografix.com/GPX/1/1}"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    # Quick heartbeats, so a stopped worker is noticed within a test's patience.
    with served_app(
        tmp_path_factory.mktemp("served"),
        T2_WORKER_HEARTBEAT_SECONDS="0.5",
        T2_WORKER_STALE_SECONDS="3",
    ) as app:
        expect.set_options(timeout=SLOW)
        yield app
    expect.set_options(timeout=5_000)  # Playwright's default, for the other modules


@pytest.fixture
def page(browser, served):
    # The planner works in Moscow, in Russian; the language comes from the browser.
    if served.worker is None:  # a test that stopped it failed before starting it again
        served.start_worker()
    page = open_page(browser, served.url, locale="ru-RU", viewport={"width": 1280, "height": 900})
    page.set_default_timeout(SLOW)
    yield page
    page.context.close()


def create_first_account(page) -> None:
    page.fill("#id_username", USERNAME)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("main form button[type=submit]")


def sign_in(page) -> None:
    page.goto("/")
    if page.url.endswith("/setup/"):
        create_first_account(page)
    elif "/login/" in page.url:
        page.fill("#id_username", USERNAME)
        page.fill("#id_password", PASSWORD)
        page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/sets/$"))


def create_set(page, name: str) -> None:
    page.goto("/sets/")
    page.fill("#id_name", name)
    page.click("aside form button[type=submit] >> nth=0")
    expect(page).to_have_url(re.compile(r"/sets/\d+/$"))
    expect(page.locator("h1")).to_have_text(name)


def optimize_and_wait_for_the_route(page) -> None:
    page.click("#optimize-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/runs/\d+/$"))
    expect(page.locator("#run-map")).to_be_visible(timeout=60_000)


def assert_nothing_went_wrong(page, *, expected: str = "") -> None:
    """No request left the app (map tiles were asked for and blocked), nothing broke.
    `expected`: a console error the test caused on purpose (a form answered 400)."""
    assert all(url.startswith("https://tile.openstreetmap.org/") for url in page.outside_requests)
    assert page.csp_violations == []
    assert [e for e in page.console_errors if not (expected and expected in e)] == []
    assert page.page_errors == []


def test_a_fresh_server_opens_on_the_first_account_page_which_signs_the_planner_in(page):
    page.goto("/")

    expect(page).to_have_url(re.compile(r"/setup/$"))
    expect(page.locator("#id_code")).to_have_count(0)  # no setup code from this machine
    create_first_account(page)

    expect(page).to_have_url(re.compile(r"/sets/$"))
    expect(page.locator(".usermenu")).to_contain_text(USERNAME)
    expect(page.locator("ul.messages")).to_be_visible()
    assert_nothing_went_wrong(page)


def test_a_set_made_inline_is_optimized_by_the_worker_while_the_page_watches(page, served):
    sign_in(page)
    create_set(page, "Москва, вторник")
    page.evaluate("window.t2SamePage = true")
    set_map = page.locator("#set-map")
    expect(set_map).to_have_class(re.compile("t2map-ready"))
    box = set_map.bounding_box()

    # Clicking the map once fills the coordinates of the add form.
    set_map.click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.4})
    lat, lon = float(page.input_value("#loc_lat")), float(page.input_value("#loc_lon"))
    assert 55.3 < lat < 56.2 and 37.0 < lon < 38.3  # around Moscow, where an empty map opens
    page.fill("#loc_name", "Склад")
    page.click("#add-location-form button[type=submit]")
    expect(page.locator("#locations-body tr")).to_have_count(1)
    expect(page.locator("#loc_lat")).to_have_value("")  # a fresh form for the next row

    set_map.click(position={"x": box["width"] * 0.7, "y": box["height"] * 0.6})
    page.fill("#loc_name", "Магазин «Север»")
    page.select_option("#loc_priority", "A")
    page.click("#add-location-form button[type=submit]")
    expect(page.locator("#locations-body tr")).to_have_count(2)

    page.fill("#loc_name", "Киоск & <b>Юг</b>")
    page.fill("#loc_lat", "55.7")
    page.fill("#loc_lon", "37.65")
    page.click("#add-location-form button[type=submit]")
    rows = page.locator("#locations-body tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(2).locator(".name")).to_have_text("Киоск & <b>Юг</b>")  # data, not markup
    expect(set_map.locator(".t2-marker")).to_have_count(3)
    assert page.evaluate("window.t2SamePage") is True  # htmx: no page load in between

    # With the worker stopped the run waits in the queue, and the page says why.
    served.stop_worker()
    page.click("#optimize-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/runs/\d+/$"))
    run_url = page.url
    live = page.locator("section[id$='-live']")
    expect(live).to_have_attribute("hx-trigger", "every 1s")
    expect(live.locator("time[data-elapsed-since]")).to_have_text(re.compile(r"^\d+:\d\d$"))
    expect(live.locator(".alert-warning[role=alert]")).to_be_visible()
    page.evaluate("window.t2SamePage = true")

    # The worker comes back: the page, polling every second, shows the route by itself.
    served.start_worker()
    expect(page.locator("#run-map")).to_be_visible(timeout=60_000)
    assert page.url == run_url
    assert page.evaluate("window.t2SamePage") is None  # reloaded once, when the run finished

    stops = page.locator("table.route-sheet tbody tr")
    expect(stops).to_have_count(3)
    expect(stops.locator("td:first-child")).to_have_text(["1", "2", "3"])
    expect(page.locator(".page-head strong")).to_have_text("greedy")  # no model files here
    expect(page.locator(".timeline > li")).to_have_count(4)  # qwen, tpro, llama, greedy
    run_map = page.locator("#run-map")
    labels = run_map.locator(".t2-marker.t2-ordered .t2-pin-label")
    expect(labels).to_have_count(3)
    assert sorted(labels.all_inner_texts()) == ["1", "2", "3"]
    expect(run_map.locator("path.t2-route")).to_have_count(1)
    assert_nothing_went_wrong(page)


def test_a_file_with_a_bad_row_imports_nothing_until_the_bad_rows_are_skipped(page):
    sign_in(page)
    create_set(page, "Саранск, импорт")
    csv = (
        "name,address,lat,lon,time_window_start,time_window_end,priority\n"
        "Рынок,Саранск,54.1838,45.1749,09:00,18:00,high\n"
        "Вокзал,Саранск,954.2,45.2,09:00,18:00,medium\n"
        "Парк,Саранск,54.1900,45.1800,10:00,17:00,low\n"
    ).encode()
    upload = {"name": "points.csv", "mimeType": "text/csv", "buffer": csv}

    page.click("a[href$='/import']")
    page.set_input_files("#id_file", upload)
    page.click("main form button[type=submit]")

    errors = page.locator("#import-errors tbody tr td")
    expect(errors).to_have_count(4)  # one problem: row, line, field, message
    expect(errors.nth(0)).to_have_text("2")
    expect(errors.nth(1)).to_have_text("3")
    expect(errors.nth(2)).to_have_text("lat")

    page.set_input_files("#id_file", upload)
    page.check("#id_skip_bad_rows")
    page.click("main form button[type=submit]")

    expect(page).to_have_url(re.compile(r"/sets/\d+/$"))
    # Two rows, not four: the first try imported nothing.
    expect(page.locator("#locations-body tr .name")).to_have_text(["Рынок", "Парк"])
    assert_nothing_went_wrong(page, expected="status of 400 (Bad Request) (http")


def test_a_run_found_in_the_history_exports_gpx_and_reads_in_english_and_back(page):
    sign_in(page)
    create_set(page, "Саранск, история")
    for name, lat, lon in [("Рынок", "54.1838", "45.1749"), ("Парк", "54.19", "45.18")]:
        page.fill("#loc_name", name)
        page.fill("#loc_lat", lat)
        page.fill("#loc_lon", lon)
        page.click("#add-location-form button[type=submit]")
        expect(page.locator("#locations-body tr .name").last).to_have_text(name)
    optimize_and_wait_for_the_route(page)
    run_url = page.url

    page.click("nav.mainnav a[href='/runs/']")
    row = page.locator("#history-rows tr", has_text="Саранск, история")
    expect(row).to_have_count(1)
    row.locator("a").first.click()
    expect(page).to_have_url(run_url)

    with page.expect_download() as download:
        page.click("a[href$='/export.gpx']")
    gpx = ET.parse(download.value.path()).getroot()
    assert gpx.tag == f"{GPX}gpx" and gpx.get("version") == "1.1"
    order = page.locator("table.route-sheet tbody td:nth-child(2) strong").all_inner_texts()
    assert sorted(order) == ["Парк", "Рынок"]
    waypoints = [w.findtext(f"{GPX}name") for w in gpx.iter(f"{GPX}wpt")]
    assert waypoints == [f"{n}. {name}" for n, name in enumerate(order, start=1)]
    assert len(list(gpx.iter(f"{GPX}rtept"))) == 2

    russian = page.locator("main h2").all_inner_texts()
    with page.expect_navigation():
        page.select_option("#language-select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main h2").first).to_be_visible()
    english = page.locator("main h2").all_inner_texts()
    assert "Stops in order" in english
    assert page.url == run_url

    with page.expect_navigation():
        page.select_option("#language-select", "ru")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    assert page.locator("main h2").all_inner_texts() == russian
    assert "Stops in order" not in russian  # the headings are translated
    assert_nothing_went_wrong(page)
