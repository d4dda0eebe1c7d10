"""Who is calling the JSON API: a bearer token, a browser session, or nobody."""

from __future__ import annotations

from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware

from accounts.models import ApiToken


class InvalidToken(Exception):
    """An Authorization header was sent but names no active token (HTTP 401): a caller who
    meant to authenticate must not be served as anonymous."""


def authenticate_bearer(request: HttpRequest):
    """The user of `Authorization: Bearer <token>`, None when no such header was sent (or
    only a proxy's `Basic` credentials).

    Raises InvalidToken for a malformed header, an unknown or revoked token, or an inactive
    user.
    """
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() == "basic":
        # A reverse proxy's own password prompt, not a credential of ours.
        return None
    if scheme.lower() != "bearer" or not secret:
        raise InvalidToken("the Authorization header must be `Bearer <token>`")
    token = ApiToken.objects.find(secret)
    if token is None:
        raise InvalidToken("the API token is unknown or revoked")
    token.mark_used()
    return token.user


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


def csrf_failure(request: HttpRequest) -> str | None:
    """Django's CSRF check for a view that is otherwise exempt (the API serves token and
    anonymous callers without it): the reason it fails, or None when it passes."""
    check = _CsrfCheck(lambda request: None)
    check.process_request(request)
    return check.process_view(request, None, (), {})
