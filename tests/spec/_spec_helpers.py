"""Helpers shared by the spec tests (imported by name: this folder is on sys.path under pytest)."""

from __future__ import annotations

from cli_helpers import PROBLEM  # noqa: F401 - shared by every test folder


