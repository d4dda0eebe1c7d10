from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from llm.chain import GREEDY
from routes.messages import translate_schema_message
from routes.schema import RequestError, parse_request


class RunFilterForm(forms.Form):
    """Filters of the run history (GET /api/runs)."""

    page = forms.IntegerField(min_value=1, required=False)
    model = forms.SlugField(max_length=20, required=False, help_text=f"qwen, tpro, llama, {GREEDY}")

    def errors_as_list(self) -> list[dict[str, str]]:
        return [
            {"field": field, "message": " ".join(messages)}
            for field, messages in self.errors.items()
        ]


# --- Location sets -----------------------------------------------------------------------------
# Every check of a location or of the day's constraints is routes.schema's (the API's), so a
# page shows the same messages as the API; these forms only carry the values to it.

PRIORITY_CHOICES = [
    ("A", _("A — most important")),
    ("B", _("B")),
    ("C", _("C")),
    ("D", _("D — least important")),
]


def _schema_errors(form: forms.Form, errors: list[dict[str, str]], prefix: str) -> None:
    """Put routes.schema's errors (field paths like `locations[0].lat`) beside the fields."""
    for error in errors:
        field = error["field"].removeprefix(prefix)
        field = {"ID": "ident", "start": "start_location"}.get(field, field)
        message = translate_schema_message(error["message"])
        form.add_error(field if field in form.fields else None, message)


def clock_input() -> forms.TextInput:
    """A 24-hour "HH:MM" field. Not type="time": browsers show that in 12 hours with AM/PM in
    English locales, and planners read opening hours in 24."""
    return forms.TextInput(
        attrs={
            "inputmode": "numeric",
            "pattern": "([01][0-9]|2[0-3]):[0-5][0-9]",
            "placeholder": "09:00",
            "maxlength": "5",
            "size": "5",
            "autocomplete": "off",
        }
    )


class LocationSetForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)


class LocationForm(forms.Form):
    ident = forms.CharField(label="ID", max_length=100, required=False)
    name = forms.CharField(label=_("Name"), max_length=300, required=False)
    address = forms.CharField(label=_("Address"), max_length=500, required=False)
    lat = forms.FloatField(label=_("Latitude"))
    lon = forms.FloatField(label=_("Longitude"))
    time_window_start = forms.CharField(label=_("Opens"), max_length=5, initial="09:00")
    time_window_end = forms.CharField(label=_("Closes"), max_length=5, initial="18:00")
    priority = forms.ChoiceField(label=_("Priority"), choices=PRIORITY_CHOICES, initial="B")
    visit_minutes = forms.FloatField(label=_("Visit, min"), required=False)

    def __init__(self, *args, location_set=None, instance=None, **kwargs):
        if instance is not None:
            kwargs.setdefault("auto_id", f"loc{instance.pk}_%s")
        kwargs.setdefault("auto_id", "loc_%s")
        super().__init__(*args, **kwargs)
        self.location_set = location_set
        self.instance = instance
        for name in ("time_window_start", "time_window_end"):
            self.fields[name].widget = clock_input()
        for name in ("lat", "lon"):
            self.fields[name].widget.attrs.update({"step": "any", "inputmode": "decimal"})

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        ident = (data.get("ident") or "").strip()
        if not ident:
            ident = self.instance.ident if self.instance else self.location_set.next_ident()
        body = {
            "ID": ident,
            "name": data.get("name") or "",
            "address": data.get("address") or "",
            "lat": data["lat"],
            "lon": data["lon"],
            "time_window_start": (data.get("time_window_start") or "")[:5],
            "time_window_end": (data.get("time_window_end") or "")[:5],
            "priority": data["priority"],
        }
        if data.get("visit_minutes") is not None:
            body["visit_minutes"] = data["visit_minutes"]
        try:
            parse_request({"locations": [body], "constraints": {}})
        except RequestError as exc:
            _schema_errors(self, exc.errors, "locations[0].")
            return data
        taken = self.location_set.locations.filter(ident=ident)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            self.add_error("ident", translate_schema_message(f"duplicate ID {ident!r}"))
        self.request_data = body
        return data


class ConstraintsForm(forms.Form):
    start_time = forms.CharField(label=_("Day starts"), max_length=5)
    end_time = forms.CharField(label=_("Day ends"), max_length=5)
    start_location = forms.ChoiceField(label=_("Start from"), required=False)
    return_to_start = forms.BooleanField(label=_("Return to the start"), required=False)
    speed_kmh = forms.FloatField(label=_("Speed, km/h"))
    detour_factor = forms.FloatField(label=_("Road detour factor"))
    visit_minutes = forms.FloatField(label=_("Visit, min"))
    cost_per_km_rub = forms.FloatField(label=_("Cost per km, ₽"))

    def __init__(self, *args, location_set, locations=None, **kwargs):
        """`locations`: the set's rows when the caller has them already (saves a query)."""
        kwargs.setdefault("auto_id", "day_%s")
        day = location_set.day
        start = day.start if isinstance(day.start, str) else ""
        kwargs.setdefault(
            "initial",
            {
                **day.model_dump(exclude={"start"}),
                "start_location": start,
            },
        )
        super().__init__(*args, **kwargs)
        self.location_set = location_set
        if locations is None:
            idents = list(location_set.locations.values_list("ident", "name"))
        else:
            idents = [(row.ident, row.name) for row in locations]
        self.fields["start_location"].choices = [("", _("the first stop of the route"))] + [
            (ident, f"{ident} — {name}" if name else ident) for ident, name in idents
        ]
        for name in ("start_time", "end_time"):
            self.fields[name].widget = clock_input()
        for name in ("speed_kmh", "detour_factor", "visit_minutes", "cost_per_km_rub"):
            self.fields[name].widget.attrs.update({"step": "any", "inputmode": "decimal"})

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        constraints = {
            "start_time": data["start_time"][:5],
            "end_time": data["end_time"][:5],
            "return_to_start": data["return_to_start"],
            "speed_kmh": data["speed_kmh"],
            "detour_factor": data["detour_factor"],
            "visit_minutes": data["visit_minutes"],
            "cost_per_km_rub": data["cost_per_km_rub"],
        }
        if data.get("start_location"):
            constraints["start"] = data["start_location"]
        locations = [row.as_request() for row in self.location_set.locations.all()] or [
            {
                "ID": constraints.get("start", "x"),
                "name": "",
                "address": "",
                "lat": 0,
                "lon": 0,
                "time_window_start": "00:00",
                "time_window_end": "23:59",
                "priority": "A",
            }
        ]
        try:
            parse_request({"locations": locations, "constraints": constraints}, max_locations=10**6)
        except RequestError as exc:
            _schema_errors(
                self,
                [e for e in exc.errors if e["field"].startswith("constraints")],
                "constraints.",
            )
            return data
        self.constraints = constraints
        return data


class OptimizeForm(forms.Form):
    """What to run: the whole chain, or one slot with or without falling back."""

    model = forms.ChoiceField(label=_("Model"), required=False)
    fallback = forms.BooleanField(label=_("fall back down the chain"), required=False, initial=True)

    def __init__(self, *args, slots=(), **kwargs):
        kwargs.setdefault("auto_id", "run_%s")
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", _("the whole chain"))] + [
            (slot.name, f"{slot.name} — {slot.display_name}") for slot in slots
        ]


class ImportForm(forms.Form):
    file = forms.FileField(label=_("File (CSV, JSON or XLSX)"))
    replace = forms.BooleanField(label=_("replace the current locations"), required=False)
    skip_bad_rows = forms.BooleanField(label=_("skip rows with errors"), required=False)


class HistoryFilterForm(forms.Form):
    """Filters of the history page; every field optional."""

    set = forms.IntegerField(required=False, min_value=1)
    model = forms.SlugField(max_length=20, required=False)
    status = forms.ChoiceField(required=False)
    page = forms.IntegerField(min_value=1, required=False)

    def __init__(self, *args, **kwargs):
        from routes.models import RouteRun

        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", "")] + list(RouteRun.Status.choices)


class CompareForm(forms.Form):
    other = forms.IntegerField(min_value=1, required=False)
