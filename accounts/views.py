"""Log in and out, the first account, the password, and API tokens on the account page."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.forms import ApiTokenForm, LoginForm, SetupCodeLinkForm, SetupForm, is_loopback
from accounts.models import ApiToken


def _no_account_yet() -> bool:
    return not get_user_model().objects.exists()


def _get_token_for_user(request: HttpRequest, token_id: int) -> ApiToken:
    return get_object_or_404(ApiToken.objects.for_user(request.user), pk=token_id)


class NextForm(forms.Form):
    next = forms.CharField(max_length=2000, required=False)


def _next_param(request: HttpRequest) -> str:
    form = NextForm(request.POST if request.method == "POST" else request.GET)
    return form.cleaned_data["next"] if form.is_valid() else ""


def _next_url(request: HttpRequest) -> str:
    """Where to go after logging in: `next` when it stays on this site, else the sets."""
    url = _next_param(request)
    allowed = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if url and allowed else resolve_url(settings.LOGIN_REDIRECT_URL)


# --- Logging in and out ------------------------------------------------------------------------


@sensitive_post_parameters()
@never_cache
def login(request: HttpRequest) -> HttpResponse:
    if _no_account_yet():
        return redirect("setup")
    if request.method != "POST" and request.user.is_authenticated:
        return redirect(_next_url(request))
    form = LoginForm(request, data=request.POST if request.method == "POST" else None)
    if form.is_valid():
        auth_login(request, form.get_user())
        return redirect(_next_url(request))
    context = {"form": form, "next": _next_param(request)}
    return render(request, "accounts/login.html", context, status=429 if form.throttled else 200)


def login_alias(request: HttpRequest) -> HttpResponse:
    """/login/, the address people type."""
    return redirect("setup" if _no_account_yet() else "login")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


@sensitive_post_parameters()
@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST if request.method == "POST" else None)
    if form.is_valid():
        form.save()
        update_session_auth_hash(request, form.user)
        return redirect("password_change_done")
    return render(request, "accounts/password_change.html", {"form": form, "nav": "account"})


@login_required
def password_change_done(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/password_change_done.html", {"nav": "account"})


# --- The first account -------------------------------------------------------------------------


@sensitive_post_parameters()
@never_cache
def setup(request: HttpRequest) -> HttpResponse:
    """Creates the first account (a staff superuser) and disappears once any account exists.

    Whoever reaches a new server first must not own it: from anywhere but this machine, and
    always in production (a reverse proxy makes every caller look local), it asks for the
    one-time code that `manage.py setup_code` printed in the server's log.
    """
    if not _no_account_yet():
        raise Http404
    needs_code = settings.PRODUCTION or not is_loopback(request)
    link = SetupCodeLinkForm(request.GET)
    initial = {"code": link.cleaned_data["code"]} if link.is_valid() else {}
    data = request.POST if request.method == "POST" else None
    form = SetupForm(data, needs_code=needs_code, initial=initial)
    if form.is_valid():
        with transaction.atomic():
            if not _no_account_yet():  # someone else was quicker
                raise Http404
            user = form.save()
        auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome! Your administrator account is ready."))
        return redirect("sets")
    return render(request, "accounts/setup.html", {"form": form, "needs_code": needs_code})


# --- The account page and API tokens -----------------------------------------------------------


def _account_page(
    request: HttpRequest, form: ApiTokenForm, *, new_token=None, new_secret: str = ""
) -> HttpResponse:
    context = {
        "form": form,
        "tokens": ApiToken.objects.for_user(request.user),
        "new_token": new_token,
        "new_secret": new_secret,
        "nav": "account",
    }
    return render(request, "accounts/account.html", context)


@login_required
def account(request: HttpRequest) -> HttpResponse:
    return _account_page(request, ApiTokenForm())


@never_cache
@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _account_page(request, form)
    token, secret = ApiToken.objects.issue(request.user, form.cleaned_data["name"])
    # Shown in this answer only: the secret is stored nowhere, not even in the session.
    return _account_page(request, ApiTokenForm(), new_token=token, new_secret=secret)


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = _get_token_for_user(request, token_id)
    token.delete()
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("account")
