"""What `pulumi up` runs reports errors as pulumi.RunError: the engine prints the message alone."""

from __future__ import annotations

import pulumi
import pytest

import flashdrive.program
from flashdrive.buildpack.errors import BuildpackError
from flashdrive.problems import InputError, Mark, Problem

SPEC = "version: 1\nstack: shop\napps:\n  web: {image: ghcr.io/acme/web:1}\n"


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "flashdrive.yaml"
    path.write_text(SPEC)
    return path


@pytest.mark.parametrize("error, shown", [
    (InputError([Problem("no Procfile", mark=Mark("app/Procfile", 1, 1))]), "app/Procfile:1:1: error: no Procfile"),
    (BuildpackError("requirements.txt is empty", hint="add your dependencies"), "requirements.txt is empty"),
    (PermissionError(13, "Permission denied", "app/.flashdrive/Dockerfile"),
     "app/.flashdrive/Dockerfile: Permission denied"),
])
def test_errors_while_building_the_stack_are_run_errors_with_the_message_only(spec, monkeypatch, error, shown):
    def build_stack(model):
        raise error

    monkeypatch.setattr(flashdrive.program, "build_stack", build_stack)
    with pytest.raises(pulumi.RunError) as raised:
        flashdrive.program.run(str(spec))
    assert shown in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_an_invalid_spec_is_a_run_error(tmp_path):
    path = tmp_path / "flashdrive.yaml"
    path.write_text("version: 1\nstack: Shop\n")
    with pytest.raises(pulumi.RunError) as raised:
        flashdrive.program.run(str(path))
    assert "flashdrive.yaml:2:" in str(raised.value)
