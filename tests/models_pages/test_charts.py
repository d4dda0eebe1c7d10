"""The SVG charts: what is drawn is exactly the stored attempts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from llm import charts
from llm.models import Attempt
from tests.models_pages.conftest import make_attempt

SVG = "{http://www.w3.org/2000/svg}"


def circles(svg: str) -> list[dict]:
    root = ET.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))
    return [c.attrib for c in root.iter(f"{SVG}circle")]


def test_each_point_is_a_circle_with_its_values_and_tooltip():
    points = [charts.Point(1, 100, "first"), charts.Point(5, 900, "second <b>", "rejected")]

    svg = charts.plot(points, title="t", x_label="stops", y_label="ms")

    drawn = circles(svg)
    assert [(c["data-x"], c["data-y"]) for c in drawn] == [("1", "100"), ("5", "900")]
    assert drawn[1]["fill"] == charts.COLOURS["rejected"]
    assert "second &lt;b&gt;" in svg
    assert 'data-points="2"' in svg


def test_the_line_joins_the_points_in_x_order():
    points = [charts.Point(3, 10, "c"), charts.Point(1, 30, "a"), charts.Point(2, 20, "b")]

    svg = charts.plot(points, title="t", x_label="x", y_label="y", line=True)

    path = re.search(r'<path class="chart-line" d="([^"]+)"', svg).group(1)
    xs = [float(x) for x in re.findall(r"[ML]([\d.]+) ", path)]
    assert xs == sorted(xs) and len(xs) == 3


def test_higher_values_are_drawn_higher_up():
    svg = charts.plot(
        [charts.Point(1, 100, "low"), charts.Point(2, 5000, "high")],
        title="t",
        x_label="x",
        y_label="y",
    )

    low, high = circles(svg)
    assert float(high["cy"]) < float(low["cy"])


def test_no_points_says_so_instead_of_drawing_axes():
    svg = charts.plot([], title="t", x_label="x", y_label="y")

    assert "no attempts to show" in svg and "<circle" not in svg


def test_the_chart_uses_no_style_attribute_under_the_strict_csp():
    svg = charts.plot([charts.Point(1, 1, "a")], title="t", x_label="x", y_label="y", line=True)

    assert "style=" not in svg and "<script" not in svg


@pytest.mark.parametrize(
    "low, high, expected",
    [
        (0, 10, [0, 2, 4, 6, 8, 10]),
        (0, 930, [0, 200, 400, 600, 800, 1000]),
        (5, 5, [5, 5.2, 5.4, 5.6, 5.8, 6]),
    ],
)
def test_ticks_are_round_numbers_covering_the_range(low, high, expected):
    assert charts.nice_ticks(low, high) == pytest.approx(expected)


@pytest.mark.parametrize(
    "low, high, expected",
    [
        (15, 15, [14, 15, 16]),
        (0, 0, [0, 1]),
        (10, 20, list(range(10, 21))),
        (5, 150, [0, 50, 100, 150]),
    ],
)
def test_stop_counts_get_whole_number_ticks_each_once(low, high, expected):
    assert charts.integer_ticks(low, high) == expected


def test_axis_labels_in_milliseconds_and_seconds():
    assert charts.seconds(850) == "850 ms"
    assert charts.seconds(12000) == "12 s"
    assert charts.seconds(2500) == "2.5 s"


@pytest.mark.django_db
def test_the_page_s_charts_show_the_stored_attempts_of_the_slot(user_client):
    for i, ms in enumerate((1200.0, 3400.5, 800.0, 15000.0)):
        make_attempt("qwen", duration_ms=ms, stops=4 + i, status="ok" if i % 2 else "rejected")
    make_attempt("llama", duration_ms=777.0, stops=50)

    html = user_client.get("/models/").content.decode()

    stored = list(
        Attempt.objects.for_slot("qwen").values_list("duration_ms", "stops", "created_at")
    )
    time_svg = re.search(r'<svg class="chart" id="chart-qwen-time".*?</svg>', html, re.S).group(0)
    stops_svg = re.search(r'<svg class="chart" id="chart-qwen-stops".*?</svg>', html, re.S).group(0)
    by_time = circles(time_svg)
    by_stops = circles(stops_svg)
    assert sorted(float(c["data-y"]) for c in by_time) == sorted(ms for ms, _, _ in stored)
    assert sorted(float(c["data-x"]) for c in by_time) == pytest.approx(
        sorted(at.timestamp() for _, _, at in stored), abs=1
    )
    assert sorted((float(c["data-x"]), float(c["data-y"])) for c in by_stops) == sorted(
        (stops, ms) for ms, stops, _ in stored
    )
    llama_svg = re.search(r'<svg class="chart" id="chart-llama-stops".*?</svg>', html, re.S).group(
        0
    )
    assert [(c["data-x"], c["data-y"]) for c in circles(llama_svg)] == [("50", "777")]


@pytest.mark.parametrize(
    "reason, group",
    [
        ("travel 45 min is over 10% more", "travel … min is over …% more"),
        ("prompt needs 2100 tokens, n_ctx is 2048.", "prompt needs … tokens, n_ctx is …."),
        (
            "GGUF model file not found: qwen2-0_5b-instruct-q4_k_m.gguf (looked in: /m/t-pro-it-1.0-q4_k_m.gguf)",
            "GGUF model file not found: qwen2-0_5b-instruct-q4_k_m.gguf (looked in: /m/t-pro-it-1.0-q4_k_m.gguf)",
        ),
    ],
)
def test_refusals_are_grouped_with_their_numbers_blanked_but_not_names(reason, group):
    from llm.stats import reason_group

    assert reason_group(reason) == group
