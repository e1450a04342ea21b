"""Settings for the flashdrive django-shop example.

Everything that differs between a laptop and a deployment comes from the
environment. flashdrive injects FLASHDRIVE_STACK, FLASHDRIVE_APP,
FLASHDRIVE_NODE and FLASHDRIVE_HOSTS into every copy, plus the app's own env
from flashdrive.yaml (SECRET_KEY, DATABASE_URL, REDIS_URL, ...).

At build time only non-secret env is present (secrets are run-time only), so
importing this module must work with no SECRET_KEY and no DATABASE_URL:
`collectstatic` runs then.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name):
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

# The build step has no secrets, so a placeholder keeps collectstatic working;
# shop/wsgi.py refuses to serve with it (see there). `check --deploy` flags it too.
SECRET_KEY = os.environ.get("SECRET_KEY") or "django-insecure-build-only-not-for-serving"

# FLASHDRIVE_HOSTS lists the app's domains, default domain and internal name.
HOSTS = env_list("FLASHDRIVE_HOSTS")
ALLOWED_HOSTS = HOSTS + (["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = [f"https://{host}" for host in HOSTS]

# TLS ends at the Caddy edge, which forwards plain HTTP with X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# No SECURE_SSL_REDIRECT: the edge already redirects to https, and health
# checks reach the copies over plain HTTP. HSTS is a per-domain promise, so it
# is opt-in (it would also stick to the `localhost` default domain).
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SILENCED_SYSTEM_CHECKS = ["security.W004", "security.W008"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "store",
]

MIDDLEWARE = [
    # First, so /healthz answers before host checks and never needs the database.
    "store.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"

# No DATABASE_URL (laptop, build step, `manage.py check`) means a local sqlite file.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

# Static files are collected into the image at build and served by WhiteNoise.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# The shared flashdrive disk is mounted here (flashdrive.yaml: disks[media].mount).
MEDIA_ROOT = os.environ.get("MEDIA_ROOT", "/app/media")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# Logs go to stdout/stderr, where the container runtime collects them.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
