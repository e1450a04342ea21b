"""A blog on MySQL, the driver Django recommends (mysqlclient); the connection must be encrypted."""
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-local-key")
DEBUG = False
ALLOWED_HOSTS = os.environ.get("FLASHDRIVE_HOSTS", "localhost").split(",")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.staticfiles", "blog"]
MIDDLEWARE = ["django.middleware.security.SecurityMiddleware", "django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "site_config.urls"
WSGI_APPLICATION = "site_config.wsgi.application"

DATABASES = {"default": dj_database_url.config(default="sqlite:///" + str(BASE_DIR / "db.sqlite3"), conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # TLS without a CA to check against: what `--ssl-mode=REQUIRED` means for the mysql client.
    DATABASES["default"]["OPTIONS"] = {"ssl_mode": "REQUIRED", "charset": "utf8mb4"}

USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
