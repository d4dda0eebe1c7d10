"""`<option>` elements rendered in Python.

The day form's "start from" select lists every stop of the set: 300 options through the
template engine (a loop with a comparison and two escaped variables each) cost ~10 ms of a set
page's 50 ms budget (bench/pages.py); this costs well under one.
"""

from __future__ import annotations

from html import escape

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def select_options(choices, selected) -> str:
    """The options of `choices` ((value, label) pairs), the one equal to `selected` selected."""
    chosen = "" if selected is None else str(selected)
    return mark_safe(
        "".join(
            f'<option value="{escape(str(value))}"{" selected" if str(value) == chosen else ""}>'
            f"{escape(str(label))}</option>"
            for value, label in choices
        )
    )
