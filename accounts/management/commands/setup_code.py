"""Prints the one-time code that creates the first account (scripts/run calls it)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts.models import SetupCode


class Command(BaseCommand):
    help = (
        "While no account exists, issue a new one-time setup code (replacing any earlier one) "
        "and print the link that creates the first account; print nothing otherwise."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server's address")

    def handle(self, *args, url: str, **options):
        if get_user_model().objects.exists():
            return
        code = SetupCode.objects.issue()
        link = f"{url.rstrip('/')}/setup/?code={code}"
        self.stdout.write(f"First run: create the admin account at {link} (setup code {code})")
