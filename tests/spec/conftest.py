"""Fixtures for the flashdrive.yaml contract tests (SPEC.md, CLI.md)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest



@pytest.fixture
def write(tmp_path):
    """Write a dedented file under tmp_path (text or bytes) and return its path."""

    def write_file(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return path

    return write_file
