"""Settings for T2 Routes, read from the environment (and a `.env` file if present).

Local runs need no configuration: SQLite, a per-checkout secret key, DEBUG on.
`T2_PRODUCTION=1` turns DEBUG off, requires SECRET_KEY and ALLOWED_HOSTS, and enables the
secure-cookie and HSTS settings so that `manage.py check --deploy` is clean.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent

# The seed kept its variables in backend/.env; ours is at the project root. Real environment
# variables win over the file.
load_dotenv(BASE_DIR / ".env", override=False)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def envfloat(name: str, default: float, *, minimum: float | None = None) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def envlist(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def _local_secret_key() -> str:
    """A random key kept beside the checkout, so local sessions survive restarts."""
    path = BASE_DIR / ".secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


PRODUCTION = envbool("T2_PRODUCTION", False)

if PRODUCTION:
    DEBUG = False
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("T2_PRODUCTION=1 needs SECRET_KEY (at least 50 characters)")
    ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("T2_PRODUCTION=1 needs ALLOWED_HOSTS (comma-separated)")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
else:
    DEBUG = envbool("DEBUG", True)
    SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret_key()
    ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "accounts",
    "routes",
    "llm",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

# No inline scripts or styles anywhere (templates pass data as JSON blocks that are not run);
# map tiles come from OpenStreetMap when the browser is online.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "https://tile.openstreetmap.org"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

ROOT_URLCONF = "t2site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "t2site.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 0, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the task worker write to one file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Russian first, English second; the browser's language picks one, the switch remembers it.
LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Moscow")
USE_I18N = True
USE_TZ = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "sets"
LOGOUT_REDIRECT_URL = "login"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("T2_STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- Route planning ----------------------------------------------------------------------------
# Largest request the API accepts, in locations and in bytes of body.
T2_MAX_LOCATIONS = envint("T2_MAX_LOCATIONS", 500, minimum=1)
T2_MAX_BODY_BYTES = envint("T2_MAX_BODY_BYTES", 1_000_000, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = T2_MAX_BODY_BYTES
T2_RUNS_PER_PAGE = envint("T2_RUNS_PER_PAGE", 20, minimum=1)
# Whether the JSON API serves callers without a token or a session (the seed's anonymous curl):
# on for a local install, off in production, where such calls get 401.
T2_ANONYMOUS_API = envbool("T2_ANONYMOUS_API", not PRODUCTION)

# --- Models and the optimization worker -------------------------------------------------------
# Where GGUF files are looked up after the path itself (the seed used backend/src/models/).
T2_MODELS_DIR = Path(os.environ.get("T2_MODELS_DIR") or BASE_DIR / "models")
# A model's route is kept when its travel time is within this share of the algorithm's.
T2_QUALITY_TOLERANCE = envfloat("T2_QUALITY_TOLERANCE", 0.10, minimum=0)
# Memory the loaded models may use together (GB); empty = whatever the machine has free.
T2_MEMORY_BUDGET_GB = envfloat("T2_MEMORY_BUDGET_GB", 0, minimum=0) or None
# A model idle this long (seconds) is unloaded to give its memory back.
T2_MODEL_KEEP_ALIVE = envfloat("T2_MODEL_KEEP_ALIVE", 1800, minimum=1)
# Run each loaded local model in a child process of its own (llm.isolated), so that a crash in
# llama.cpp fails that attempt instead of the worker; off = in the worker's own process.
T2_ISOLATE_MODELS = envbool("T2_ISOLATE_MODELS", True)
# Those processes run this much lower in CPU priority (nice) than the web server, so pages and
# API reads get the cores first while a model generates (bench/load.py, model phase).
T2_MODEL_NICE = min(19, envint("T2_MODEL_NICE", 10, minimum=0))
# Run optimizations in the web process instead of the task worker (development, tests, one
# process). Models then live in the web process: run it with a single worker.
T2_OPTIMIZE_INLINE = envbool("T2_OPTIMIZE_INLINE", False)
# How long an API call waits for the worker to finish its run before answering 504.
T2_RUN_WAIT_SECONDS = envfloat("T2_RUN_WAIT_SECONDS", 600, minimum=1)
# The task worker writes a heartbeat this often; one silent for T2_WORKER_STALE_SECONDS is gone.
T2_WORKER_HEARTBEAT_SECONDS = envfloat("T2_WORKER_HEARTBEAT_SECONDS", 2, minimum=0.1)
T2_WORKER_STALE_SECONDS = envfloat("T2_WORKER_STALE_SECONDS", 10, minimum=1)
# A run still queued this long (seconds) with no worker alive is failed: the API answers 503.
T2_WORKER_GRACE_SECONDS = envfloat("T2_WORKER_GRACE_SECONDS", 3, minimum=0)
# Runs waiting for the worker beyond this number are refused at once (503 with Retry-After).
T2_MAX_QUEUED = envint("T2_MAX_QUEUED", 50, minimum=1)
# A run whose chain has no slot that could answer (every local file missing, no remote slot)
# only runs the algorithm: plan it in the web process instead of queueing it for the worker.
T2_ALGORITHM_IN_WEB = envbool("T2_ALGORITHM_IN_WEB", True)
# Such runs planned at once in one web process; the others wait, the smallest day first
# (routes/turns.py). One per process: gunicorn's processes share the cores.
T2_SOLVES_AT_ONCE = envint("T2_SOLVES_AT_ONCE", 1, minimum=1)
# On SIGTERM the worker finishes the run in hand for at most this long, then fails it.
T2_WORKER_STOP_SECONDS = envfloat("T2_WORKER_STOP_SECONDS", 20, minimum=0)
# Imports: the largest file accepted (bytes); rows are limited by T2_MAX_LOCATIONS.
T2_MAX_IMPORT_BYTES = envint("T2_MAX_IMPORT_BYTES", 2_000_000, minimum=1024)

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}
