"""Fixtures for the buildpack tests live in buildpack_helpers (importable by name, unlike conftest)."""

from buildpack_helpers import *  # noqa: F401,F403
