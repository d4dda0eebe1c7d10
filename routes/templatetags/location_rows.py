"""The rows of a set's location table, rendered in Python.

A set page shows up to 300 editable rows. Django's template engine spends ~0.3 ms per row on
them (about 25 variable lookups with escaping and localisation each), which alone took the page
past its 50 ms budget (bench/pages.py); one format string per row takes a few microseconds.
Every row the app draws, on the page or in an htmx answer, comes from here.
"""

from __future__ import annotations

from html import escape

from django import template
from django.utils.safestring import mark_safe

register = template.Library()

ROW = (
    '<tr id="location-{pk}" data-point="{ident}" tabindex="0">'
    '<td data-label="ID">{ident}</td>'
    '<td class="name wide" title="{lat}, {lon}">{name}</td>'
    '<td class="small wide">{address}</td>'
    '<td class="num coords phone-hide">{lat}</td>'
    '<td class="num coords phone-hide">{lon}</td>'
    '<td class="nowrap" data-label="{window}">{opens}–{closes}</td>'
    '<td data-label="{priority_word}"><span class="prio prio-{priority}">{priority}</span></td>'
    '<td class="num" data-label="{visit_word}">{visit}</td>'
    '<td class="actions wide no-print">'
    # Remove is htmx-only here (no form and token per row); without JS it is on the edit page.
    '<a class="btn btn-small" href="{base}{pk}/edit" hx-get="{base}{pk}/edit"'
    ' hx-target="closest tr" hx-swap="outerHTML">{edit}</a> '
    '<button type="button" class="btn btn-small btn-danger js-only" hx-post="{base}{pk}/delete"'
    ' hx-target="closest tr" hx-swap="outerHTML" hx-confirm="{confirm}">{remove}</button>'
    "</td></tr>"
)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


@register.simple_tag
def location_rows(rows, location_set, labels):
    """`<tr>` elements for the given Location rows of `location_set`. Every text is escaped
    here (html.escape, quotes included; Django's format_html costs 0.3 ms a row)."""
    base = escape(f"{location_set.url}locations/")
    words = {key: escape(str(value)) for key, value in labels.items()}
    return mark_safe(
        "\n".join(
            ROW.format(
                pk=int(row.pk),
                ident=escape(row.ident),
                name=escape(row.name),
                address=escape(row.address),
                lat=_number(row.lat),
                lon=_number(row.lon),
                opens=escape(row.time_window_start),
                closes=escape(row.time_window_end),
                priority=escape(row.priority),
                visit=_number(row.visit_minutes),
                base=base,
                edit=words["edit"],
                remove=words["remove"],
                confirm=words["confirm_remove"],
                window=words["window"],
                priority_word=words["priority"],
                visit_word=words["visit"],
            )
            for row in rows
        )
    )


@register.simple_tag
def location_row(row, location_set, labels):
    return location_rows([row], location_set, labels)
