"""WSGI entry point: `gunicorn shop.wsgi` (see the Procfile)."""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

application = get_wsgi_application()

# settings.py falls back to a placeholder key so the build can run without
# secrets; serving with it would make sessions and signatures forgeable.
from django.conf import settings  # noqa: E402

if not settings.DEBUG and not os.environ.get("SECRET_KEY"):
    raise ImproperlyConfigured("SECRET_KEY is not set; flashdrive.yaml should give it {generate: secret}.")
