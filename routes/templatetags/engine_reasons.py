"""`{{ attempt.reason|engine_reason }}`: the route engine's reason in the page's language."""

from __future__ import annotations

from django import template

from routes.messages import translate_engine_reason

register = template.Library()


@register.filter
def engine_reason(value: str) -> str:
    return translate_engine_reason(value) if value else value
