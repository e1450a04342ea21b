"""The engine stand-in decides as the Pulumi engine and pulumi-docker do (no Docker needed here)."""

from __future__ import annotations

import pytest
from provider import (CONTAINER, IMAGE, StateEntry, changed_inputs, decimal_cpus, dependency_order,
                      dependents_to_replace, go_duration, read_back)


@pytest.mark.parametrize("sent,read", [("1", "1.0"), ("2", "2.0"), ("0.5", "0.5"), ("0.25", "0.25"),
                                       ("1.5", "1.5"), ("10", "10."), ("0", "0")])
def test_cpus_are_read_back_as_the_provider_writes_them(sent, read):
    assert decimal_cpus(sent) == read


@pytest.mark.parametrize("sent,read", [("1s", "1s"), ("30s", "30s"), ("60s", "1m0s"), ("90s", "1m30s"),
                                       ("3600s", "1h0m0s"), ("500ms", "500ms"), ("1.5s", "1.5s"), ("0s", "0s")])
def test_durations_are_read_back_as_go_prints_them(sent, read):
    assert go_duration(sent) == read


def test_a_second_run_with_the_same_program_inputs_shows_the_providers_drift():
    sent = {"cpus": "1", "healthcheck": {"interval": "60s", "tests": ["CMD", "true"]}, "envs": ["A=1", "B=2"]}
    stored = read_back(CONTAINER, sent)
    assert changed_inputs(CONTAINER, stored, sent) == ["cpus", "healthcheck"]
    assert changed_inputs(CONTAINER, stored, read_back(CONTAINER, sent)) == []


def test_sets_are_compared_without_order_and_lists_with_it():
    stored = {"envs": ["A=1", "B=2"], "command": ["a", "b"]}
    assert changed_inputs(CONTAINER, stored, {"envs": ["B=2", "A=1"], "command": ["a", "b"]}) == []
    assert changed_inputs(CONTAINER, stored, {"envs": ["A=1", "B=2"], "command": ["b", "a"]}) == ["command"]


def entry(urn, typ=CONTAINER, deps=None, prop=None):
    return StateEntry(urn=urn, type=typ, name=urn, id=urn, inputs={}, outputs={},
                      dependencies=list(deps or []), property_dependencies=prop or {})


def test_copies_whose_image_comes_through_the_release_are_replaced_with_it():
    # The release gate bug of issue #22, as the engine's calculateDependentReplacements sees it.
    resources = {
        "image": entry("image", IMAGE),
        "release": entry("release", deps=["image"], prop={"image": ["image"]}),
        "web-1": entry("web-1", deps=["release", "image"], prop={"image": ["image", "release"]}),
        "web-2": entry("web-2", deps=["release", "image"], prop={"image": ["image", "release"]}),
        "edge": entry("edge", deps=["web-1", "web-2"]),  # depends_on only: not replaced with them
        "db": entry("db"),
    }
    assert sorted(dependents_to_replace(resources, "release")) == ["web-1", "web-2"]


def test_a_dependency_on_an_input_updated_in_place_replaces_nothing():
    resources = {"a": entry("a"), "b": entry("b", deps=["a"], prop={"memory": ["a"]})}
    assert dependents_to_replace(resources, "a") == []


def test_deletes_run_dependents_first():
    resources = {"net": entry("net"), "db": entry("db", deps=["net"]), "app": entry("app", deps=["db", "net"])}
    assert dependency_order(resources, ["app", "net", "db"]) == ["net", "db", "app"]


def test_deploy_py_reports_a_broken_spec_at_its_position_without_a_traceback(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    spec = tmp_path / "flashdrive.yaml"
    spec.write_text("version: 1\nstack: broken\napps:\n  web:\n    nodez: 2\n")
    deploy = Path(__file__).with_name("deploy.py")
    result = subprocess.run([sys.executable, str(deploy), "up", str(spec)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"{spec}:5:5: error: apps.web.nodez" in result.stderr
    assert "Traceback" not in result.stderr
