from __future__ import annotations

import ipaddress

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import LoginFailure, SetupCode


def client_address(request) -> str | None:
    """The caller's address as the web server saw it (None when it is not an IP address)."""
    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")))
    except ValueError:
        return None


def is_loopback(request) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


class LoginForm(AuthenticationForm):
    """Django's log-in form, refusing to check a password while the username or the address
    has too many recent failures, and counting each failure."""

    throttled = False

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request)
        seconds = LoginFailure.objects.seconds_to_wait(username, address)
        if seconds:
            self.throttled = True
            raise forms.ValidationError(throttled_message(seconds), code="throttled")
        try:
            return super().clean()
        except forms.ValidationError:
            LoginFailure.objects.record(username, address)
            raise


class SetupCodeLinkForm(forms.Form):
    """The `?code=` of the link that `manage.py setup_code` prints."""

    code = forms.CharField(max_length=100, required=False)


class SetupForm(UserCreationForm):
    """The first account: a staff superuser. Outside loopback it needs the setup code."""

    code = forms.CharField(
        label=_("Setup code"),
        max_length=100,
        help_text=_("Printed in the server's log by `manage.py setup_code` (scripts/run)."),
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)

    def __init__(self, *args, needs_code: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not needs_code:
            del self.fields["code"]
        else:
            self.order_fields(["code"])

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if not SetupCode.objects.matches(code):
            raise forms.ValidationError(_("This setup code is not valid."), code="bad_code")
        return code

    @transaction.atomic
    def save(self, commit: bool = True):
        user = super().save(commit=False)
        user.is_staff = True
        user.is_superuser = True
        user.save()
        SetupCode.objects.all().delete()
        return user


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, e.g. “dispatch script”."),
    )


def throttled_message(seconds: int) -> str:
    return ngettext(
        "Too many failed log-ins; try again in %(seconds)d second.",
        "Too many failed log-ins; try again in %(seconds)d seconds.",
        seconds,
    ) % {"seconds": seconds}
