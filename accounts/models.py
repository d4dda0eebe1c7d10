"""Who may use the planner: the first-run setup code, log-in failures and API tokens.

Secrets (setup codes, API tokens) are stored only as SHA-256 digests: a copied database
lets nobody in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- The first account -------------------------------------------------------------------------


class SetupCodeQuerySet(models.QuerySet):
    def issue(self) -> str:
        """A new one-time code (the previous one stops working); returns the secret."""
        code = secrets.token_urlsafe(18)
        self.all().delete()
        self.create(digest=digest(code))
        return code

    def matches(self, code: str) -> bool:
        wanted = digest(code or "")
        return any(
            hmac.compare_digest(wanted, known) for known in self.values_list("digest", flat=True)
        )


class SetupCode(models.Model):
    """The one-time code that creates the first account on a server reached from outside.

    `manage.py setup_code` issues it (scripts/run prints it); making the account consumes it.
    """

    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SetupCodeQuerySet.as_manager()

    def __str__(self) -> str:
        return f"setup code of {self.created_at:%Y-%m-%d %H:%M}"


# --- Log-in throttling -------------------------------------------------------------------------
# At most this many failed log-ins per username and per client address in the window.
LOGIN_FAILURE_LIMIT = 5
LOGIN_FAILURE_WINDOW_SECONDS = 60


class LoginFailureQuerySet(models.QuerySet):
    def seconds_to_wait(self, username: str, address: str) -> int:
        """0 when a log-in may be tried now; else how long until the oldest counted failure of
        this username or this address leaves the window."""
        window = timedelta(seconds=LOGIN_FAILURE_WINDOW_SECONDS)
        limit = LOGIN_FAILURE_LIMIT
        now = timezone.now()
        recent = self.filter(created_at__gt=now - window)
        wait = 0.0
        for failures in (
            recent.filter(username=username.casefold()),
            recent.filter(address=address),
        ):
            times = list(
                failures.order_by("-created_at").values_list("created_at", flat=True)[:limit]
            )
            if len(times) >= limit:
                freed_at = times[-1] + window
                wait = max(wait, (freed_at - now).total_seconds())
        return int(wait) + 1 if wait > 0 else 0

    def record(self, username: str, address: str) -> None:
        now = timezone.now()
        # Old failures are never read again; keep the table small.
        self.filter(created_at__lt=now - timedelta(hours=1)).delete()
        self.create(username=username.casefold()[:150], address=address, created_at=now)


class LoginFailure(models.Model):
    """One failed log-in, counted in the database so the limit holds across web processes."""

    username = models.CharField(max_length=150, db_index=True)
    address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = LoginFailureQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.username} from {self.address} at {self.created_at:%H:%M:%S}"


# --- API tokens --------------------------------------------------------------------------------

TOKEN_PREFIX = "t2_"


class ApiTokenQuerySet(models.QuerySet):
    def for_user(self, user) -> ApiTokenQuerySet:
        return self.filter(user=user)

    def issue(self, user, name: str) -> tuple[ApiToken, str]:
        """A new token for `user`; returns it and its secret, which is shown once and never
        stored."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(30)
        token = self.create(user=user, name=name, prefix=secret[:10], digest=digest(secret))
        return token, secret

    def find(self, secret: str) -> ApiToken | None:
        """The active token with this secret, or None."""
        return (
            self.select_related("user").filter(digest=digest(secret), user__is_active=True).first()
        )


class ApiToken(models.Model):
    """A personal key for the JSON API, sent as `Authorization: Bearer <secret>`."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    # The first characters of the secret, to tell tokens apart in a list.
    prefix = models.CharField(_("prefix"), max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def mark_used(self) -> None:
        """Note the use, at most once a minute (every API call would otherwise write)."""
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at > timedelta(minutes=1):
            self.last_used_at = now
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
