from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "all": None}

#: Number-of-stops ranges a planner thinks in: (label, lowest, highest or None).
STOP_RANGES = {
    "1-5": (1, 5),
    "6-10": (6, 10),
    "11-20": (11, 20),
    "21-50": (21, 50),
    "51-100": (51, 100),
    "101+": (101, None),
}


class ModelHistoryForm(forms.Form):
    """Filters of the models page's timing history (GET)."""

    period = forms.ChoiceField(
        label=_("Period"),
        required=False,
        choices=[("all", _("all time")), ("week", _("last 7 days")), ("day", _("last 24 hours"))],
        widget=forms.Select(attrs={"data-autosubmit": ""}),
    )
    stops = forms.ChoiceField(
        label=_("Stops"),
        required=False,
        choices=[("", _("any number"))] + [(key, key) for key in STOP_RANGES],
        widget=forms.Select(attrs={"data-autosubmit": ""}),
    )

    def choice(self) -> tuple[str, str]:
        """The chosen period and stops range ("all" and "" when the form is invalid)."""
        if not self.is_valid():
            return ("all", "")
        return (self.cleaned_data["period"] or "all", self.cleaned_data["stops"])

    def filters(self) -> dict:
        """The attempt filters the valid choices stand for ({} when the form is invalid)."""
        if not self.is_valid():
            return {}
        filters = {}
        period = PERIODS.get(self.cleaned_data["period"] or "all")
        if period is not None:
            filters["created_at__gte"] = timezone.now() - period
        if self.cleaned_data["stops"]:
            low, high = STOP_RANGES[self.cleaned_data["stops"]]
            filters["stops__gte"] = low
            if high is not None:
                filters["stops__lte"] = high
        return filters
