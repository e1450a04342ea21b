"""What the docker backend's plan tests share."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def write_spec(request, tmp_path):
    """`write_spec(text=None)`: flashdrive.yaml in the test's own folder, holding `text` or else the
    test module's SPEC; returns its path."""

    def write(text: str | None = None) -> Path:
        path = tmp_path / "flashdrive.yaml"
        path.write_text(request.module.SPEC if text is None else text)
        return path

    return write
