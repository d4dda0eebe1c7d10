"""Hypothesis strategies for request bodies: valid-ish ones that reach the route engine, and
broken ones (wrong types, NaN and huge numbers, unicode, missing, extra and nested fields)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from hypothesis import strategies as st

# PostgreSQL cannot store NUL in text or jsonb: a known 500 on that database, kept out of the
# generated text there and pinned by test_bodies.test_a_nul_in_a_name_is_not_a_500.
NUL = "" if "postgresql" in settings.DATABASES["default"]["ENGINE"] else "\x00"

# Few IDs, so that duplicates (a 400) come up often; integers are accepted as IDs too.
IDS = st.sampled_from(["a", "b", "c", "loc_1", "loc_2", "Точка", "𝔘", 1, 2, "1"])

#: Any JSON value, nested a few levels: the garbage put where a field's value should be.
json_garbage = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**300), max_value=10**300)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

clock = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))
bad_clock = st.sampled_from(["24:00", "9:00", "09:60", "0900", " ", "", "12:00:00", "٠٩:٠٠"])
latitude = st.floats(min_value=55.5, max_value=56.0) | st.floats(min_value=-90, max_value=90)
longitude = st.floats(min_value=37.3, max_value=37.9) | st.floats(min_value=-180, max_value=180)
bad_number = (
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: abs(x) > 180 or x != x)
    | st.integers(min_value=-(10**300), max_value=10**300).filter(lambda x: abs(x) > 180)
    | st.sampled_from(["55.7", "north", "", True, None, [55.7], {"deg": 55}])
)
priority = st.sampled_from(["high", "medium", "low", "A", "B", "C", "D", "HIGH", " b "])
# Unicode that has broken apps before: right-to-left marks, combining characters, emoji,
# NUL and other control characters; lone surrogates are refused by JSON encoders (not here).
text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="" if NUL else "\x00"),
    max_size=40,
) | st.sampled_from(
    ["", "\u202eevil\u202c", "Z\u0351\u0360a\u0367lgo", "😀" * 20, NUL + "\x07\x1b[2J"]
)


def _location(ident: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "ID": st.just(ident),
            "name": text,
            "address": text,
            "lat": latitude,
            "lon": longitude,
            "time_window_start": st.sampled_from(["08:00", "09:00", "10:00"]) | clock,
            "time_window_end": st.sampled_from(["18:00", "20:00", "23:59"]) | clock,
            "priority": priority,
        },
        optional={"visit_minutes": st.floats(min_value=0, max_value=90)},
    )


location = IDS.flatmap(_location)

LOCATION_FIELDS = [
    "ID",
    "name",
    "address",
    "lat",
    "lon",
    "time_window_start",
    "time_window_end",
    "priority",
    "visit_minutes",
]
BAD_VALUES: dict[str, st.SearchStrategy] = {
    "ID": st.sampled_from(["", "   ", None, True, 1.5, [], {}, "x" * 101]),
    "name": st.sampled_from([None, 5, ["a"], "n" * 301]),
    "address": st.sampled_from([None, 5.5, {"street": "x"}, "a" * 501]),
    "lat": bad_number,
    "lon": bad_number,
    "time_window_start": bad_clock | json_garbage,
    "time_window_end": bad_clock | json_garbage,
    "priority": st.sampled_from(["urgent", "", "E", 1, None, ["A"]]) | json_garbage,
    "visit_minutes": st.sampled_from([-1, 601, "20", float("nan"), 1e308, True]),
}


@st.composite
def broken_location(draw) -> Any:
    """A location with one or more fields wrong, missing or added; or not an object at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_garbage)
    loc = dict(draw(location))
    for _ in range(draw(st.integers(1, 3))):
        field = draw(st.sampled_from(LOCATION_FIELDS))
        action = draw(st.sampled_from(["bad", "bad", "missing", "extra"]))
        if action == "bad":
            loc[field] = draw(BAD_VALUES[field])
        elif action == "missing":
            loc.pop(field, None)
        else:
            loc[draw(st.text(min_size=1, max_size=12))] = draw(json_garbage)
    return loc


good_constraints = st.fixed_dictionaries(
    {},
    optional={
        "start_time": st.sampled_from(["08:00", "09:00"]) | clock,
        "end_time": st.sampled_from(["18:00", "21:00"]) | clock,
        "start": st.none() | IDS | st.fixed_dictionaries({"lat": latitude, "lon": longitude}),
        "return_to_start": st.booleans(),
        "speed_kmh": st.floats(min_value=1, max_value=200),
        "detour_factor": st.floats(min_value=1, max_value=5),
        "visit_minutes": st.floats(min_value=0, max_value=120),
        "cost_per_km_rub": st.floats(min_value=0, max_value=10_000),
    },
)

CONSTRAINT_FIELDS = [
    "start_time",
    "end_time",
    "start",
    "return_to_start",
    "speed_kmh",
    "detour_factor",
    "visit_minutes",
    "cost_per_km_rub",
]


@st.composite
def broken_constraints(draw) -> Any:
    if draw(st.integers(0, 5)) == 0:
        return draw(json_garbage)
    constraints = dict(draw(good_constraints))
    for _ in range(draw(st.integers(1, 3))):
        field = draw(st.sampled_from(CONSTRAINT_FIELDS + ["unknown"]))
        constraints[field] = draw(
            json_garbage
            | bad_clock
            | bad_number
            | st.sampled_from([0, -1, 1e6, "yes", {"lat": 999, "lon": 0}, {"lat": 1}])
        )
    return constraints


valid_ish_body = st.fixed_dictionaries(
    {"locations": st.lists(location, min_size=1, max_size=10)},
    optional={"constraints": good_constraints},
)


@st.composite
def broken_body(draw) -> Any:
    """A body with something wrong somewhere, from the top level down."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(json_garbage)
    body: dict[str, Any] = {}
    if draw(st.integers(0, 7)):
        body["locations"] = draw(
            st.lists(location | broken_location(), max_size=8) | json_garbage | st.just([])
        )
    if draw(st.booleans()):
        body["constraints"] = draw(good_constraints | broken_constraints())
    if draw(st.integers(0, 4)) == 0:
        body[draw(st.text(min_size=1, max_size=10))] = draw(json_garbage)
    return body


@st.composite
def encoded(draw, bodies: st.SearchStrategy) -> bytes:
    """A body as the bytes a client might send: JSON (NaN and Infinity as Python writes them),
    sometimes escaped to ASCII, sometimes cut short or with a few bytes changed."""
    value = draw(bodies)
    raw = json.dumps(value, ensure_ascii=draw(st.booleans()), allow_nan=True).encode()
    change = draw(st.integers(0, 9))
    if change == 0 and raw:
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    elif change == 1 and raw:
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=4)) + raw[at + 1 :]
    elif change == 2:
        raw = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b" \n\t", b""])) + raw
    return raw
