"""Settings come from the environment; production mode is one variable away and safe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "T2_PRODUCTION": "1",
    "SECRET_KEY": "x" * 20 + "-production-secret-key-for-the-deploy-check-0123456789",
    "ALLOWED_HOSTS": "routes.example.com",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("T2_", "DJANGO_"))}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_mode_passes_the_deploy_check():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", "--tag", "security", **PRODUCTION
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_mode_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION, "SECRET_KEY": ""}

    result = manage("check", **env)

    assert result.returncode != 0
    assert "needs SECRET_KEY" in result.stderr


def test_a_bad_setting_value_is_refused_by_name():
    result = manage("check", T2_MAX_LOCATIONS="lots")

    assert result.returncode != 0
    assert "T2_MAX_LOCATIONS must be an integer" in result.stderr


def test_debug_is_off_in_production():
    result = manage(
        "shell", "-c", "from django.conf import settings; print(settings.DEBUG)", **PRODUCTION
    )

    assert result.stdout.strip().endswith("False"), result.stderr


def test_production_static_files_collect_with_hashed_names(tmp_path):
    """Manifest storage follows every url() and source map in CSS: a vendored file that points
    at a missing one would stop the deploy."""
    result = manage(
        "collectstatic", "--noinput", "-v", "0", T2_STATIC_ROOT=str(tmp_path), **PRODUCTION
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "staticfiles.json").exists()
    assert list((tmp_path / "vendor" / "leaflet-1.9.4").glob("leaflet.*.js"))
