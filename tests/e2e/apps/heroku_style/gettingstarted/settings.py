"""Settings as a Heroku app has them: config from the environment, TLS to the database, HTTPS only."""

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

# DJANGO_SECRET_KEY comes from app.json's generator; a random one keeps local runs and the build working.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", default=secrets.token_urlsafe(nbytes=64))

IS_PRODUCTION = "DATABASE_URL" in os.environ
DEBUG = not IS_PRODUCTION

# The public names only: the app is reached through the router, never by an internal name.
ALLOWED_HOSTS = [".herokuapp.com", ".localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "hello",
    "whitenoise.runserver_nostatic",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gettingstarted.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    },
]
WSGI_APPLICATION = "gettingstarted.wsgi.application"

if IS_PRODUCTION:
    DATABASES = {
        "default": dj_database_url.config(env="DATABASE_URL", conn_max_age=600, conn_health_checks=True,
                                          ssl_require=True),
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}

# HTTPS only: the router terminates TLS and says so in X-Forwarded-Proto.
SECURE_SSL_REDIRECT = IS_PRODUCTION
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

USE_TZ = True
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_URL = "static/"
STORAGES = {"staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
