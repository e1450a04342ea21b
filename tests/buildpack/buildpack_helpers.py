"""Shared helpers: run the real CLI, and write small app folders for one behaviour each."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden"


def write_app(root: Path, files: dict[str, str | dict]) -> Path:
    """Write an app folder: text files are dedented; dicts are written as JSON (Pipfile.lock)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, dict):
            path.write_text(json.dumps(content, indent=4) + "\n")
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"))
    return root


@pytest.fixture
def make_app(tmp_path):
    def make(files: dict[str, str | dict], name: str = "app") -> Path:
        return write_app(tmp_path / name, files)

    return make


def pipfile_lock(default: dict[str, str], *, develop: dict[str, str] | None = None, requires: dict | None = None) -> dict:
    """A Pipfile.lock as pipenv writes it, with the given name -> version pins."""
    entry = lambda version: {"hashes": ["sha256:" + "0" * 64], "index": "pypi", "version": version}  # noqa: E731
    return {
        "_meta": {
            "hash": {"sha256": "f" * 64},
            "pipfile-spec": 6,
            "requires": requires if requires is not None else {"python_version": "3.12"},
            "sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}],
        },
        "default": {name: entry(version) for name, version in default.items()},
        "develop": {name: entry(version) for name, version in (develop or {}).items()},
    }


PIPFILE = """
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[packages]
flask = "*"
"""

DJANGO_MANAGE_PY = """
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
"""

DJANGO_SETTINGS = """
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.staticfiles"]
WSGI_APPLICATION = "shop.wsgi.application"
STATIC_ROOT = BASE_DIR / "staticfiles"
"""


def django_app(changes: dict[str, str | None] | None = None) -> dict[str, str]:
    """The files of a minimal Django project `shop` installed with pip; `changes` adds, replaces or (None) removes."""
    files = {
        "requirements.txt": "Django==5.1.4\ngunicorn==23.0.0\n",
        "manage.py": DJANGO_MANAGE_PY,
        "shop/__init__.py": "",
        "shop/settings.py": DJANGO_SETTINGS,
        "shop/wsgi.py": "from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n",
        "Procfile": "web: gunicorn shop.wsgi\n",
        ".python-version": "3.12\n",
    }
    files.update(changes or {})
    return {name: content for name, content in files.items() if content is not None}
