"""The optimization request: one schema for the JSON API and the HTML forms.

The seed's body works unchanged:
`{"locations": [{ID, name, address, lat, lon, time_window_start, time_window_end, priority}],
"constraints": {}}`. Everything else is optional and documented on the fields below (the
OpenAPI document at /docs is generated from this module).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

#: Priority words and the original project's categories, mapped to ranks (0 = most important).
PRIORITY_RANKS: dict[str, int] = {
    "high": 0,
    "A": 0,
    "medium": 1,
    "B": 1,
    "low": 2,
    "C": 2,
    "D": 3,
}
DEFAULT_MAX_LOCATIONS = 500

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def minutes_of(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def hhmm_of(minutes: float) -> str:
    total = int(round(minutes))
    return f"{total // 60:02d}:{total % 60:02d}"


def _clock(value: Any) -> Any:
    if isinstance(value, str) and _HHMM.match(value.strip()):
        return value.strip()
    raise ValueError('must be a time "HH:MM" between 00:00 and 23:59')


def _finite(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    if not math.isfinite(value):
        raise ValueError("must be a finite number (not NaN or Infinity)")
    return value


def _priority(value: Any) -> Any:
    if isinstance(value, str):
        word = value.strip()
        for known in PRIORITY_RANKS:
            if word.lower() == known.lower():
                return known
    raise ValueError("must be one of high, medium, low, A, B, C, D")


def _start(value: Any) -> Any:
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return _no_nul(str(value).strip())
    raise ValueError('must be {"lat": ..., "lon": ...} or the ID of one of the locations')


def _no_nul(value: str) -> str:
    # PostgreSQL stores no NUL in text or jsonb; no name or ID needs one.
    if "\x00" in value:
        raise ValueError("must not contain a NUL character (\\u0000)")
    return value


def _identifier(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a non-empty string")
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return _no_nul(value.strip())


Clock = Annotated[str, BeforeValidator(_clock)]
Latitude = Annotated[float, BeforeValidator(_finite), Field(ge=-90, le=90)]
Longitude = Annotated[float, BeforeValidator(_finite), Field(ge=-180, le=180)]
Priority = Annotated[str, BeforeValidator(_priority)]
Identifier = Annotated[str, BeforeValidator(_identifier), Field(max_length=100)]
Text = Annotated[str, AfterValidator(_no_nul)]


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: Latitude
    lon: Longitude


class Location(BaseModel):
    """One retail point. Fields other than the documented ones are ignored."""

    model_config = ConfigDict(extra="ignore")

    ID: Identifier = Field(description="Unique within the request.")
    name: Text = Field(max_length=300, description="May be empty.")
    address: Text = Field(max_length=500, description="May be empty.")
    lat: Latitude
    lon: Longitude
    time_window_start: Clock = Field(description='Opening time, "HH:MM".')
    time_window_end: Clock = Field(description='Closing time, "HH:MM"; a visit must start by it.')
    priority: Priority = Field(description="high | medium | low, or categories A | B | C | D.")
    visit_minutes: float | None = Field(
        default=None, ge=0, le=600, description="Overrides constraints.visit_minutes here."
    )

    @property
    def rank(self) -> int:
        return PRIORITY_RANKS[self.priority]


class Constraints(BaseModel):
    """The working day and travel assumptions. Every field is optional."""

    model_config = ConfigDict(extra="forbid")

    start_time: Clock = Field(default="09:00", description="Start of the working day.")
    end_time: Clock = Field(default="18:00", description="The route must end by this time.")
    start: Annotated[Point | str | None, BeforeValidator(_start)] = Field(
        default=None,
        description='Where the day starts: {"lat", "lon"} or the ID of one of the locations. '
        "Default: the route starts at its first stop.",
    )
    return_to_start: bool = Field(default=False, description="End the day back at the start.")
    speed_kmh: float = Field(default=30, gt=0, le=200, description="Average travel speed.")
    detour_factor: float = Field(
        default=1.3, ge=1, le=5, description="Road km per straight-line km."
    )
    visit_minutes: float = Field(default=20, ge=0, le=600, description="Default visit length.")
    cost_per_km_rub: float = Field(default=7, ge=0, le=10_000, description="Travel cost per km.")


class OptimizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locations: list[Location] = Field(min_length=1)
    constraints: Constraints = Field(default_factory=Constraints)


def _cross_field_errors(request: OptimizeRequest) -> list[dict[str, str]]:
    """Checks that span fields, each reported at the field a user would fix."""
    errors = []
    seen: set[str] = set()
    for i, location in enumerate(request.locations):
        if minutes_of(location.time_window_end) < minutes_of(location.time_window_start):
            errors.append(
                {
                    "field": f"locations[{i}].time_window_end",
                    "message": f"window ends ({location.time_window_end}) before it starts "
                    f"({location.time_window_start})",
                }
            )
        if location.ID in seen:
            errors.append(
                {"field": f"locations[{i}].ID", "message": f"duplicate ID {location.ID!r}"}
            )
        seen.add(location.ID)
    constraints = request.constraints
    if minutes_of(constraints.start_time) >= minutes_of(constraints.end_time):
        errors.append(
            {
                "field": "constraints.end_time",
                "message": f"the day must end after it starts ({constraints.start_time})",
            }
        )
    if isinstance(constraints.start, str) and constraints.start not in seen:
        errors.append(
            {
                "field": "constraints.start",
                "message": f"no location has ID {constraints.start!r}",
            }
        )
    return errors


class RequestError(Exception):
    """A bad optimization request; `errors` name each field and its problem."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).startswith(("function-", "lax-", "union[")) or part in {"Point", "str"}:
            continue
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def _message(error: dict[str, Any]) -> str:
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if error["type"] == "missing":
        return "this field is required"
    if error["type"] == "extra_forbidden":
        return "unknown field"
    return message


def parse_request(data: Any, *, max_locations: int = DEFAULT_MAX_LOCATIONS) -> OptimizeRequest:
    """Validate decoded JSON into an OptimizeRequest or raise RequestError."""
    if not isinstance(data, dict):
        raise RequestError([{"field": "body", "message": "must be a JSON object"}])
    locations = data.get("locations")
    if isinstance(locations, list) and len(locations) > max_locations:
        raise RequestError(
            [
                {
                    "field": "locations",
                    "message": f"at most {max_locations} locations per request, got {len(locations)}",
                }
            ]
        )
    try:
        request = OptimizeRequest.model_validate(data)
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            entry = {"field": _field_path(error["loc"]), "message": _message(error)}
            if entry not in errors:
                errors.append(entry)
        raise RequestError(errors) from None
    errors = _cross_field_errors(request)
    if errors:
        raise RequestError(errors)
    return request
