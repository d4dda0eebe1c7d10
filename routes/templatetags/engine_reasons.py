"""The route engine's words on the pages, in the page's language.

`{{ attempt.reason|engine_reason }}`: an attempt's reason (see routes.messages);
`{{ slot.role|slot_role }}`: a model slot's role, stored as a plain English word.
"""

from __future__ import annotations

from django import template
from django.utils.translation import pgettext_lazy

from routes.messages import translate_engine_reason

register = template.Library()

SLOT_ROLES = {
    "primary": pgettext_lazy("model slot role", "primary"),
    "secondary": pgettext_lazy("model slot role", "secondary"),
    "fallback": pgettext_lazy("model slot role", "fallback"),
}


@register.filter
def engine_reason(value: str) -> str:
    return translate_engine_reason(value) if value else value


@register.filter
def slot_role(value: str) -> str:
    return SLOT_ROLES.get(value, value)
