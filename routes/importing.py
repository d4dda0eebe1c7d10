"""Reading a file of locations (CSV, JSON or XLSX) into the API's location shape.

Plain Python (no Django): the web views call `parse_locations_file` and decide what to do with
the result — import nothing when it lists errors, unless the user chooses to skip the bad rows
(then `locations` holds exactly the valid ones). Every row is validated by `routes.schema`, so
a file says the same things about a location as the API does.

Columns (CSV and XLSX, header names case-insensitive, in any order):
`ID, name, address, lat, lon, time_window_start, time_window_end, priority | category,
visit_minutes`; only lat, lon and the window are required. A file without IDs gets stable
ones from the row (`p1`, `p2`, …); without priorities every point counts as A, as in the
original project's files; name and address may be missing or empty.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from routes.schema import DEFAULT_MAX_LOCATIONS, OptimizeRequest, RequestError, parse_request

DEFAULT_MAX_BYTES = 1_000_000
#: An XLSX file is a zip: refuse one that unpacks to more than this (a "zip bomb").
MAX_XLSX_UNPACKED_BYTES = 50_000_000
DEFAULT_PRIORITY = "A"
#: A cell that a spreadsheet would run as a formula; exports prefix it with a single quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

FIELDS = (
    "ID",
    "name",
    "address",
    "lat",
    "lon",
    "time_window_start",
    "time_window_end",
    "priority",
    "visit_minutes",
)
REQUIRED_COLUMNS = ("lat", "lon", "time_window_start", "time_window_end")
#: Other header names a column goes by (compared in lower case).
ALIASES = {
    "ID": ("id", "код"),
    "name": ("название", "наименование", "имя"),
    "address": ("адрес",),
    "lat": ("latitude", "широта"),
    "lon": ("lng", "long", "longitude", "долгота"),
    "time_window_start": ("начало", "открытие"),
    "time_window_end": ("конец", "закрытие"),
    "priority": ("category", "приоритет", "категория"),
    "visit_minutes": ("визит, мин", "длительность визита"),
}
_NUMBERS = ("lat", "lon", "visit_minutes")
_CLOCKS = ("time_window_start", "time_window_end")
_LOOSE_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::00)?$")
# Stands in for a bad row in the check across rows, so that a later row repeating its ID is
# still reported (the bad row itself is reported and left out anyway).
_STAND_IN = {
    "name": "",
    "address": "",
    "lat": 0.0,
    "lon": 0.0,
    "time_window_start": "00:00",
    "time_window_end": "00:00",
    "priority": DEFAULT_PRIORITY,
}


@dataclass(frozen=True)
class RowError:
    """One problem: `row` is the 1-based data row (0 = the file as a whole); `line` is the
    line in a CSV file, the sheet row in XLSX, or the index in the JSON `locations` array."""

    row: int
    line: int
    field: str
    message: str


@dataclass
class ImportResult:
    locations: list[dict[str, Any]] = field(default_factory=list)  # the valid rows only
    errors: list[RowError] = field(default_factory=list)
    constraints: dict[str, Any] | None = None  # when a JSON file is a whole request body
    row_count: int = 0  # data rows read, valid or not

    @property
    def bad_rows(self) -> set[int]:
        return {e.row for e in self.errors if e.row}


class _Unreadable(Exception):
    """The file cannot be read at all; nothing in it is imported."""

    def __init__(self, message: str, *, field: str = "file", line: int = 0):
        super().__init__(message)
        self.message = message
        self.field = field
        self.line = line


@dataclass
class _Table:
    """What a reader found: raw rows (line, cells by field) before any validation."""

    rows: list[tuple[int, Any]]
    constraints: dict[str, Any] | None = None
    typed: bool = False  # JSON values keep their types; text cells are converted


def parse_locations_file(
    filename: str,
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_LOCATIONS,
) -> ImportResult:
    """Read `data` (named `filename`, whose extension picks the format) into locations."""
    try:
        if len(data) > max_bytes:
            raise _Unreadable(f"the file is {_size(len(data))}; at most {_size(max_bytes)}")
        reader = _reader_for(filename, data)
        table = reader(data, max_rows)
        if len(table.rows) > max_rows:
            raise _Unreadable(
                f"the file has more than {max_rows} rows; "
                f"at most {max_rows} locations can be imported at once"
            )
        if not table.rows:
            raise _Unreadable("the file has no locations")
    except _Unreadable as exc:
        return ImportResult(errors=[RowError(0, exc.line, exc.field, exc.message)])
    return _validate(table)


# --- formats ------------------------------------------------------------------------------


def _read_csv(data: bytes, max_rows: int) -> _Table:
    text = _decode_text(data)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns: dict[int, str] | None = None
    rows = []
    line = 1  # where the next record starts
    try:
        for record in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if columns is None:
                columns = _columns(record, header_line=start)
                continue
            rows.append((start, _cells(columns, record)))
            if len(rows) > max_rows:
                break
    except csv.Error as exc:
        raise _Unreadable(f"not a readable CSV file: {exc}", line=line) from None
    return _Table(rows)


def _read_json(data: bytes, max_rows: int) -> _Table:
    try:
        body = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise _Unreadable("a JSON file must be UTF-8") from None
    except json.JSONDecodeError as exc:
        raise _Unreadable(f"not valid JSON: {exc}") from None
    constraints = None
    if isinstance(body, dict) and isinstance(body.get("locations"), list):
        constraints = body.get("constraints")
        body = body["locations"]
    if not isinstance(body, list):
        raise _Unreadable('expected a list of locations or an object with a "locations" list')
    rows = []
    for index, item in enumerate(body):
        if isinstance(item, dict):
            columns = _columns(list(item), header_line=0, require=False)
            values = list(item.values())
            item = {name: values[i] for i, name in columns.items()}
        rows.append((index, item))
    return _Table(rows, constraints=constraints, typed=True)


def _read_xlsx(data: bytes, max_rows: int) -> _Table:
    import openpyxl  # only when an XLSX file comes in: it is slow to import

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_XLSX_UNPACKED_BYTES:
            raise _Unreadable(f"the workbook unpacks to {_size(unpacked)}; too big to read")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles it does not know
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except _Unreadable:
        raise
    except Exception:  # openpyxl raises many kinds for a damaged or foreign file
        raise _Unreadable("not a readable XLSX file") from None
    try:
        sheet = book.worksheets[0]
        columns: dict[int, str] | None = None
        rows = []
        for line, record in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = ["" if value is None else value for value in record]
            if not any(str(cell).strip() for cell in cells):
                continue
            if columns is None:
                columns = _columns([str(cell) for cell in cells], header_line=line)
                continue
            rows.append((line, _cells(columns, cells)))
            if len(rows) > max_rows:
                break
    finally:
        book.close()
    return _Table(rows)


def _read_old_excel(data: bytes, max_rows: int) -> _Table:
    raise _Unreadable("old Excel .xls files cannot be read: save the sheet as .xlsx or CSV")


#: Extension → reader. A zip's signature wins over the name (an XLSX saved as ".csv").
READERS: dict[str, Callable[[bytes, int], _Table]] = {
    ".csv": _read_csv,
    ".tsv": _read_csv,
    ".txt": _read_csv,
    ".json": _read_json,
    ".xlsx": _read_xlsx,
    ".xls": _read_old_excel,
}


def _reader_for(filename: str, data: bytes) -> Callable[[bytes, int], _Table]:
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx
    reader = READERS.get(PurePath(filename or "").suffix.lower())
    if reader is not None:
        return reader
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return _read_json
    raise _Unreadable(f"{filename or 'the file'!r} is not a CSV, JSON or XLSX file")


def _decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Russian Excel saves "CSV (разделители — точка с запятой)" in Windows-1251.
        return data.decode("cp1251", errors="replace")


# --- columns and cells --------------------------------------------------------------------


def _columns(header: Iterable[str], *, header_line: int, require: bool = True) -> dict[int, str]:
    """Column index → field. An exact field name beats an alias for the same field."""
    names = [str(name).strip().lstrip("\ufeff").lower() for name in header]
    columns: dict[int, str] = {}
    for wanted in FIELDS:
        exact = [i for i, name in enumerate(names) if name == wanted.lower()]
        alias = [i for i, name in enumerate(names) if name in ALIASES.get(wanted, ())]
        if exact or alias:
            columns[(exact or alias)[0]] = wanted
    missing = [name for name in REQUIRED_COLUMNS if name not in columns.values()]
    if require and missing:
        found = ", ".join(name[:40] for name in names[:12] if name) or "none"
        raise _Unreadable(
            f"no {', '.join(missing)} column{'s' if len(missing) > 1 else ''} "
            f"(columns found: {found})",
            field=missing[0],
            line=header_line,
        )
    return columns


def _cells(columns: dict[int, str], record: list[Any]) -> dict[str, Any]:
    return {name: record[i] if i < len(record) else "" for i, name in columns.items()}


def _text_value(name: str, value: Any) -> Any:
    """A spreadsheet cell as the API would have it, or None for an empty cell."""
    if isinstance(value, datetime.datetime):
        value = value.time()
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M")
    if isinstance(value, datetime.timedelta) and name in _CLOCKS:  # an "[h]:mm" cell
        minutes = round(value.total_seconds() / 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    if isinstance(value, float) and name in _CLOCKS and 0 <= value < 1:
        minutes = round(value * 24 * 60)  # a time cell without a time format: share of a day
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    if isinstance(value, float) and name == "ID" and value.is_integer():
        return str(int(value))
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text[:1] == "'" and text[1:2] in FORMULA_STARTS:
        text = text[1:]  # undo the export's guard against formulas
    if not text:
        return None
    if name in _NUMBERS:
        return _number(text)
    if name in _CLOCKS:
        loose = _LOOSE_CLOCK.match(text)
        if loose:
            return f"{int(loose.group(1)):02d}:{loose.group(2)}"
    return text


def _number(text: str) -> Any:
    """ "55.75" or "55,75" → 55.75; anything else is left for the schema to refuse."""
    candidate = text.replace(" ", "").replace("\u00a0", "")
    if "," in candidate and "." not in candidate and candidate.count(",") == 1:
        candidate = candidate.replace(",", ".")
    try:
        return float(candidate)
    except ValueError:
        return text


# --- validation ---------------------------------------------------------------------------


def _location(item: Any, *, typed: bool) -> Any:
    """A row as an API location: defaults for the optional columns, nothing else changed."""
    if not isinstance(item, dict):
        return item  # the schema says what is wrong with it
    location = {}
    for name, value in item.items():
        value = value if typed else _text_value(name, value)
        if value is not None and value != "":
            location[name] = value
    location.setdefault("name", "")
    location.setdefault("address", "")
    location.setdefault("priority", DEFAULT_PRIORITY)
    return location


def _give_ids(locations: list[Any]) -> None:
    """`p<row>` for rows without an ID, unless another row already uses that name."""
    taken = {str(loc["ID"]).strip() for loc in locations if isinstance(loc, dict) and "ID" in loc}
    for row, location in enumerate(locations, start=1):
        if isinstance(location, dict) and "ID" not in location:
            candidate, n = f"p{row}", 2
            while candidate in taken:
                candidate, n = f"p{row}_{n}", n + 1
            taken.add(candidate)
            location["ID"] = candidate


def _check(body: dict[str, Any]) -> tuple[OptimizeRequest | None, list[dict[str, str]]]:
    try:
        return parse_request(body, max_locations=max(1, len(body["locations"]))), []
    except RequestError as exc:
        return None, exc.errors


_ROW_FIELD = re.compile(r"^locations\[(\d+)\]\.?")


def _validate(table: _Table) -> ImportResult:
    locations = [_location(item, typed=table.typed) for _, item in table.rows]
    _give_ids(locations)
    lines = [line for line, _ in table.rows]
    result = ImportResult(row_count=len(locations))

    # Each row alone: every rule of a single location, with the API's messages.
    valid: dict[int, dict[str, Any]] = {}
    bad_ids: set[int] = set()
    for row, location in enumerate(locations, start=1):
        request, errors = _check({"locations": [location], "constraints": {}})
        for error in errors:
            name = _ROW_FIELD.sub("", error["field"]) or "location"
            result.errors.append(RowError(row, lines[row - 1], name, error["message"]))
            if name in ("ID", "location"):
                bad_ids.add(row)
        if request is not None:
            valid[row] = request.locations[0].model_dump(exclude_none=True)

    # All rows together: duplicate IDs (on the later row) and a request body's constraints.
    together, rows_of = [], []
    for row, location in enumerate(locations, start=1):
        if row in valid:
            together.append(valid[row])
        elif row not in bad_ids:
            together.append({**_STAND_IN, "ID": location["ID"]})
        else:
            continue
        rows_of.append(row)
    constraints = table.constraints
    if not together:
        constraints = None
    else:
        body = {"locations": together, "constraints": {} if constraints is None else constraints}
        for error in _check(body)[1]:
            match = _ROW_FIELD.match(error["field"])
            if match:
                row = rows_of[int(match.group(1))]
                name = _ROW_FIELD.sub("", error["field"])
                result.errors.append(RowError(row, lines[row - 1], name, error["message"]))
                valid.pop(row, None)
            else:
                result.errors.append(RowError(0, 0, error["field"], error["message"]))
                constraints = None
    result.errors.sort(key=lambda e: e.row)
    result.locations = [valid[row] for row in sorted(valid)]
    result.constraints = constraints
    return result


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}".removesuffix(".0") + " MB"
    return f"{max(1, round(n / 1000))} KB"
