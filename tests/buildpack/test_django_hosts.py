"""Literal ALLOWED_HOSTS / SECURE_SSL_REDIRECT that would refuse the app's traffic are warned about, with the fix."""

from __future__ import annotations

import pytest

from buildpack_helpers import DJANGO_SETTINGS, django_app
from flashdrive.buildpack import detect
from flashdrive.buildpack.django import FLASHDRIVE_HOSTS_FIX, host_allowed

HEROKU_STYLE = DJANGO_SETTINGS + """
ALLOWED_HOSTS = ["myshop.herokuapp.com", ".example.com"]
SECURE_SSL_REDIRECT = True
"""


def _warnings_about(detection, word: str) -> list[str]:
    return [w for w in detection.warnings if word in w]


@pytest.mark.parametrize("host, allowed, expected", [
    ("shop.example.com", ["shop.example.com"], True),
    ("Shop.Example.COM", ["shop.example.com"], True),
    ("www.example.com", [".example.com"], True),
    ("example.com", [".example.com"], True),
    ("badexample.com", [".example.com"], False),
    ("web.shop.localhost", ["*"], True),
    ("web", ["web.shop.localhost"], False),
])
def test_hosts_match_as_django_matches_them(host, allowed, expected):
    assert host_allowed(host, allowed) is expected


def test_detect_warns_about_a_fixed_host_list_and_a_redirect_without_the_proxy_header(make_app):
    detection = detect(make_app(django_app({"shop/settings.py": HEROKU_STYLE})))
    (hosts,) = _warnings_about(detection, "ALLOWED_HOSTS")
    assert hosts.startswith("shop/settings.py:8: ALLOWED_HOSTS is the fixed list ['myshop.herokuapp.com', '.example.com']")
    assert FLASHDRIVE_HOSTS_FIX in hosts
    (redirect,) = _warnings_about(detection, "SECURE_SSL_REDIRECT")
    assert redirect.startswith("shop/settings.py:9: SECURE_SSL_REDIRECT = True without SECURE_PROXY_SSL_HEADER")
    assert 'SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")' in redirect


@pytest.mark.parametrize("settings", [
    DJANGO_SETTINGS + 'ALLOWED_HOSTS = ["*"]\nSECURE_SSL_REDIRECT = True\n'
                      'SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")\n',
    # read from the environment: not literal, nothing to say
    "import os\n" + DJANGO_SETTINGS + 'ALLOWED_HOSTS = os.environ["FLASHDRIVE_HOSTS"].split(",")\n'
                                     'SECURE_SSL_REDIRECT = os.environ.get("SSL") == "1"\n',
    # django-heroku assigns ALLOWED_HOSTS = ["*"] after the literal: the literal is not the last word
    "import django_heroku\n" + HEROKU_STYLE + "django_heroku.settings(locals())\n",
])
def test_no_warning_when_the_settings_allow_every_host_or_are_not_literal(make_app, settings):
    detection = detect(make_app(django_app({"shop/settings.py": settings})))
    assert not _warnings_about(detection, "ALLOWED_HOSTS") and not _warnings_about(detection, "SECURE_SSL_REDIRECT")


def _spec(tmp_path, domains: str, settings: str) -> str:
    from buildpack_helpers import write_app

    write_app(tmp_path / "app", django_app({"shop/settings.py": settings}))
    (tmp_path / "flashdrive.yaml").write_text(
        f"version: 1\nstack: shop\ntls: {{email: ops@example.com}}\napps:\n  web:\n    source: ./app\n    domains: {domains}\n")
    return str(tmp_path / "flashdrive.yaml")


def test_validate_names_the_public_hosts_the_list_refuses(cli, tmp_path):
    result = cli("validate", _spec(tmp_path, "[shop.example.com, admin.acme.org]", HEROKU_STYLE))
    assert result.code == 0
    refused = [line for line in result.err.splitlines() if "ALLOWED_HOSTS" in line]
    assert len(refused) == 1 and "warning: apps.web.source: shop/settings.py:8:" in refused[0]
    # shop.example.com is allowed by .example.com; the others are refused, the first probed host is fine
    assert "refuses admin.acme.org, web.shop.localhost: Django answers 400 (DisallowedHost)" in refused[0]
    assert "health checks" not in refused[0]


def test_validate_says_the_health_checks_fail_when_the_probed_host_is_refused(cli, tmp_path):
    result = cli("validate", _spec(tmp_path, "[admin.acme.org]", HEROKU_STYLE))
    assert "refuses admin.acme.org, web.shop.localhost" in result.err
    assert "the health checks ask for the first, so every copy counts as unhealthy" in result.err


def test_validate_is_quiet_when_flashdrive_hosts_is_used(cli, tmp_path):
    settings = "import os\n" + DJANGO_SETTINGS + f"{FLASHDRIVE_HOSTS_FIX}\n"
    result = cli("validate", _spec(tmp_path, "[admin.acme.org]", settings))
    assert result.code == 0 and "ALLOWED_HOSTS" not in result.err
