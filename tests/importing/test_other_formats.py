"""JSON and XLSX files, the limits, and files that are not locations at all."""

from __future__ import annotations

import datetime
import io
import json

import openpyxl
import pytest

from routes.importing import RowError, parse_locations_file
from routes.samples import DATA_DIR
from tests.factories import body, location


def _xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.create_sheet("Second sheet").append(["ignored"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_it_reads_the_apis_locations_array():
    locations = [location(1), location(2, priority="high", visit_minutes=45)]

    result = parse_locations_file("set.json", json.dumps(locations).encode())

    assert result.errors == []
    assert result.locations == locations
    assert result.constraints is None


def test_it_reads_a_whole_request_body_with_its_constraints():
    request = body(3, constraints={"start_time": "08:30", "return_to_start": True})

    result = parse_locations_file("request.json", json.dumps(request).encode())

    assert result.errors == []
    assert result.locations == request["locations"]
    assert result.constraints == {"start_time": "08:30", "return_to_start": True}


def test_bad_constraints_are_reported_for_the_file_and_dropped():
    request = body(2, constraints={"speed_kmh": 0, "start": "nowhere"})

    result = parse_locations_file("request.json", json.dumps(request).encode())

    assert result.errors == [
        RowError(0, 0, "constraints.speed_kmh", "Input should be greater than 0"),
    ]
    assert result.constraints is None
    assert len(result.locations) == 2


def test_json_rows_are_reported_by_their_index_in_the_array():
    locations = [location(1), location(2, lat="55.7"), "not a location"]

    result = parse_locations_file("set.json", json.dumps(locations).encode())

    assert [(e.row, e.line, e.field) for e in result.errors] == [(2, 1, "lat"), (3, 2, "location")]
    assert result.errors[0].message == "must be a number"  # JSON keeps its types, as the API


def test_it_imports_the_original_projects_json_with_categories():
    data = (DATA_DIR / "locations_mordovia.json").read_bytes()

    result = parse_locations_file("locations_mordovia.json", data)

    assert result.errors == []
    assert len(result.locations) == 30
    assert {loc["priority"] for loc in result.locations} <= {"A", "B", "C", "D"}
    assert result.locations[0]["address"] == "ул. Советская, 35"
    assert "city" not in result.locations[0]


def test_json_that_is_not_locations_is_refused_clearly():
    for data, message in [
        (b"{not json", "not valid JSON"),
        (b'{"requests": []}', 'expected a list of locations or an object with a "locations" list'),
    ]:
        result = parse_locations_file("x.json", data)

        assert result.locations == []
        assert result.errors[0].row == 0
        assert message in result.errors[0].message


def test_it_reads_the_first_sheet_of_an_xlsx_workbook():
    data = _xlsx(
        [
            ["Название", "Адрес", "Широта", "Долгота", "Начало", "Конец", "Категория", "ID"],
            ["Салон", "Саранск", 54.1871, 45.1749, datetime.time(9, 0), "18:00", "C", 17],
            [None] * 8,
            ["Киоск", None, "54,2", 45.2, 0.375, datetime.time(19, 30), None, None],
        ]
    )

    result = parse_locations_file("points.xlsx", data)

    assert result.errors == []
    assert result.locations == [
        {
            "ID": "17",
            "name": "Салон",
            "address": "Саранск",
            "lat": 54.1871,
            "lon": 45.1749,
            "time_window_start": "09:00",
            "time_window_end": "18:00",
            "priority": "C",
        },
        {
            "ID": "p2",
            "name": "Киоск",
            "address": "",
            "lat": 54.2,
            "lon": 45.2,
            "time_window_start": "09:00",
            "time_window_end": "19:30",
            "priority": "A",
        },
    ]


def test_xlsx_errors_name_the_sheet_row():
    data = _xlsx(
        [
            ["name", "lat", "lon", "time_window_start", "time_window_end"],
            ["Хорошая", 55.75, 37.62, "09:00", "18:00"],
            ["Плохая", 155.75, 37.62, "09:00", "18:00"],
        ]
    )

    result = parse_locations_file("points.xlsx", data)

    assert result.errors == [
        RowError(2, 3, "lat", "Input should be less than or equal to 90"),
    ]


def test_a_damaged_xlsx_is_refused_clearly():
    result = parse_locations_file("points.xlsx", b"PK\x03\x04 not really a zip")

    assert result.errors == [RowError(0, 0, "file", "not a readable XLSX file")]


def test_an_xlsx_sent_with_a_csv_name_is_still_read():
    data = _xlsx(
        [["lat", "lon", "time_window_start", "time_window_end"], [55, 37, "09:00", "18:00"]]
    )

    result = parse_locations_file("points.csv", data)

    assert result.errors == []
    assert len(result.locations) == 1


def test_a_file_over_the_size_limit_is_refused_with_the_sizes():
    data = b"x" * 1_500_000

    result = parse_locations_file("points.csv", data)

    assert result.errors == [RowError(0, 0, "file", "the file is 1.5 MB; at most 1 MB")]
    assert result.locations == []


def test_a_file_over_the_row_limit_imports_nothing():
    rows = "".join(f"Точка {i},55.75,37.62,09:00,18:00\n" for i in range(6))
    data = ("name,lat,lon,time_window_start,time_window_end\n" + rows).encode()

    result = parse_locations_file("points.csv", data, max_rows=5)

    assert result.locations == []
    assert result.errors == [
        RowError(
            0,
            0,
            "file",
            "the file has more than 5 rows; at most 5 locations can be imported at once",
        )
    ]


def test_the_row_limit_applies_to_json_and_xlsx_too():
    as_json = json.dumps(body(4)["locations"]).encode()
    as_xlsx = _xlsx(
        [["lat", "lon", "time_window_start", "time_window_end"]] + [[55, 37, "09:00", "18:00"]] * 4
    )

    for name, data in [("a.json", as_json), ("a.xlsx", as_xlsx)]:
        result = parse_locations_file(name, data, max_rows=3)

        assert result.locations == []
        assert "more than 3 rows" in result.errors[0].message


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("route.gpx", b"<gpx></gpx>", "'route.gpx' is not a CSV, JSON or XLSX file"),
        ("old.xls", b"\xd0\xcf\x11\xe0", "old Excel .xls files cannot be read"),
        ("", b"\x00\x01", "'the file' is not a CSV, JSON or XLSX file"),
    ],
)
def test_an_unknown_format_is_refused_clearly(filename, data, message):
    result = parse_locations_file(filename, data)

    assert result.locations == []
    assert message in result.errors[0].message


def test_json_without_an_extension_is_recognised_by_its_content():
    result = parse_locations_file("points", json.dumps(body(1)).encode())

    assert result.errors == []


def test_a_binary_file_named_csv_is_refused_without_echoing_it():
    data = b"%PDF-1.4\n" + bytes(range(256)) * 20

    result = parse_locations_file("points.csv", data)

    assert result.locations == []
    assert len(result.errors) == 1
    assert len(result.errors[0].message) < 700
