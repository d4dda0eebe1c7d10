"""CSV files as planners have them: the original project's columns, Excel in Russia, bad rows."""

from __future__ import annotations

import pytest

from routes.importing import RowError, parse_locations_file
from routes.samples import DATA_DIR
from routes.schema import parse_request

HEADER = "ID,name,address,lat,lon,time_window_start,time_window_end,priority\n"


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return (header + "".join(row + "\n" for row in rows)).encode()


def test_it_imports_the_shipped_moscow_csv():
    data = (DATA_DIR / "locations_moscow.csv").read_bytes()

    result = parse_locations_file("locations_moscow.csv", data)

    assert result.errors == []
    assert len(result.locations) == result.row_count == 15
    assert result.locations[0] == {
        "ID": "p1",
        "name": "ТЦ Мега Химки",
        "address": "",
        "lat": 55.897,
        "lon": 37.3949,
        "time_window_start": "10:00",
        "time_window_end": "22:00",
        "priority": "A",
    }
    assert [loc["ID"] for loc in result.locations] == [f"p{i}" for i in range(1, 16)]
    parse_request({"locations": result.locations, "constraints": {}})  # a valid request


def test_it_imports_the_shipped_mordovia_csv():
    data = (DATA_DIR / "locations_mordovia.csv").read_bytes()

    result = parse_locations_file("locations_mordovia.csv", data)

    assert result.errors == []
    assert len(result.locations) == 30


def test_it_reads_semicolon_csv_with_a_bom_and_decimal_commas():
    data = (
        "\ufeffname;address;lat;lon;time_window_start;time_window_end;category\r\n"
        "Салон «Центр»;ул. Советская, 35;54,1871;45,1749;09:00;18:00;B\r\n"
    ).encode()

    result = parse_locations_file("points.csv", data)

    assert result.errors == []
    assert result.locations == [
        {
            "ID": "p1",
            "name": "Салон «Центр»",
            "address": "ул. Советская, 35",
            "lat": 54.1871,
            "lon": 45.1749,
            "time_window_start": "09:00",
            "time_window_end": "18:00",
            "priority": "B",
        }
    ]


def test_it_reads_windows_1251_from_russian_excel():
    data = "Название;Адрес;Широта;Долгота;Начало;Конец;Приоритет\r\n".encode("cp1251")
    data += "Магазин;Саранск;54,18;45,17;9:00;18:00;high\r\n".encode("cp1251")

    result = parse_locations_file("точки.csv", data)

    assert result.errors == []
    location = result.locations[0]
    assert (location["name"], location["address"]) == ("Магазин", "Саранск")
    assert location["time_window_start"] == "09:00"  # Excel drops the leading zero
    assert location["priority"] == "high"


def test_it_reads_utf16_tab_separated_unicode_text_from_excel():
    text = "name\tlat\tlon\ttime_window_start\ttime_window_end\nТочка\t55.75\t37.62\t09:00\t18:00\n"

    result = parse_locations_file("points.txt", text.encode("utf-16"))

    assert result.errors == []
    assert result.locations[0]["name"] == "Точка"


def test_header_names_are_case_insensitive_and_columns_in_any_order():
    data = _csv(
        "18:00,09:00,37.62,55.75,Точка,B7,low,25",
        header="Time_Window_End,TIME_WINDOW_START,Lon,LAT,Name,id,Priority,visit_minutes\n",
    )

    result = parse_locations_file("points.csv", data)

    assert result.errors == []
    assert result.locations == [
        {
            "ID": "B7",
            "name": "Точка",
            "address": "",
            "lat": 55.75,
            "lon": 37.62,
            "time_window_start": "09:00",
            "time_window_end": "18:00",
            "priority": "low",
            "visit_minutes": 25.0,
        }
    ]


def test_it_lists_each_bad_row_with_its_line_and_field():
    data = _csv(
        "a,Первая,Москва,55.75,37.62,09:00,18:00,A",
        "b,Вторая,Москва,north,37.62,09:00,18:00,A",
        "",  # blank lines are skipped but still counted as lines
        "c,Третья,Москва,55.75,37.62,18:00,09:00,B",
        "d,Четвёртая,Москва,55.75,37.62,9 утра,18:00,urgent",
    )

    result = parse_locations_file("points.csv", data)

    assert result.errors == [
        RowError(row=2, line=3, field="lat", message="must be a number"),
        RowError(
            row=3,
            line=5,
            field="time_window_end",
            message="window ends (09:00) before it starts (18:00)",
        ),
        RowError(
            row=4,
            line=6,
            field="time_window_start",
            message='must be a time "HH:MM" between 00:00 and 23:59',
        ),
        RowError(
            row=4,
            line=6,
            field="priority",
            message="must be one of high, medium, low, A, B, C, D",
        ),
    ]
    assert result.row_count == 4
    assert result.bad_rows == {2, 3, 4}
    # Skipping the bad rows leaves exactly the valid one.
    assert [loc["ID"] for loc in result.locations] == ["a"]


def test_messages_are_the_apis_own():
    from routes.schema import RequestError

    row = {"ID": "x", "name": "", "address": "", "lat": 95.0, "lon": 37.0}
    row |= {"time_window_start": "09:00", "time_window_end": "18:00", "priority": "A"}
    with pytest.raises(RequestError) as api:
        parse_request({"locations": [row]})

    result = parse_locations_file("p.csv", _csv("x,,,95,37,09:00,18:00,A"))

    assert [e.message for e in result.errors] == [e["message"] for e in api.value.errors]


def test_a_missing_value_is_reported_as_required():
    result = parse_locations_file("p.csv", _csv("x,Точка,,,37.62,09:00,18:00,A"))

    assert result.errors == [RowError(1, 2, "lat", "this field is required")]


def test_a_duplicate_id_is_an_error_on_the_later_row():
    data = _csv(
        "same,Первая,,55.75,37.62,09:00,18:00,A",
        "other,Вторая,,55.76,37.62,09:00,18:00,A",
        "same,Третья,,55.77,37.62,09:00,18:00,A",
    )

    result = parse_locations_file("points.csv", data)

    assert result.errors == [RowError(3, 4, "ID", "duplicate ID 'same'")]
    assert [loc["name"] for loc in result.locations] == ["Первая", "Вторая"]


def test_a_duplicate_of_a_bad_row_is_still_reported():
    data = _csv(
        "same,Первая,,north,37.62,09:00,18:00,A",
        "same,Вторая,,55.76,37.62,09:00,18:00,A",
    )

    result = parse_locations_file("points.csv", data)

    assert result.errors == [
        RowError(1, 2, "lat", "must be a number"),
        RowError(2, 3, "ID", "duplicate ID 'same'"),
    ]


def test_made_up_ids_never_clash_with_ids_in_the_file():
    header = "ID,name,lat,lon,time_window_start,time_window_end\n"
    data = _csv(
        "p2,Первая,55.75,37.62,09:00,18:00",
        ",Вторая,55.76,37.62,09:00,18:00",
        ",Третья,55.77,37.62,09:00,18:00",
        header=header,
    )

    result = parse_locations_file("points.csv", data)

    assert result.errors == []
    assert [loc["ID"] for loc in result.locations] == ["p2", "p2_2", "p3"]


def test_a_missing_required_column_is_one_clear_error():
    data = _csv("Точка,55.75,09:00,18:00", header="name,lat,time_window_start,time_window_end\n")

    result = parse_locations_file("points.csv", data)

    assert result.locations == []
    assert result.errors == [
        RowError(
            0,
            1,
            "lon",
            "no lon column (columns found: name, lat, time_window_start, time_window_end)",
        )
    ]


def test_a_file_with_only_a_header_has_no_locations():
    result = parse_locations_file("points.csv", HEADER.encode())

    assert result.errors == [RowError(0, 0, "file", "the file has no locations")]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("'=1+2", "=1+2"), ("'-Минус", "-Минус"), ("'@home", "@home"), ("'просто", "'просто")],
)
def test_it_undoes_the_exports_formula_guard(cell, expected):
    result = parse_locations_file("p.csv", _csv(f"x,{cell},,55.75,37.62,09:00,18:00,A"))

    assert result.locations[0]["name"] == expected


def test_a_lat_with_two_commas_is_not_a_number():
    result = parse_locations_file("p.csv", _csv('x,,,"55,7,5",37.62,09:00,18:00,A'))

    assert result.errors == [RowError(1, 2, "lat", "must be a number")]
