"""The replacement table: which input changes the providers apply in place and which replace."""

from __future__ import annotations

import inspect

import pulumi_docker as docker
import pytest

from flashdrive.diff.replacement import (CONTAINER, IMAGE, NETWORK, REMOTE_IMAGE, UPDATED_IN_PLACE, VOLUME, known,
                                         replacing_inputs)


@pytest.mark.parametrize("inputs", [["restart"], ["memory", "memorySwap"], ["cpuShares"],
                                    ["mustRun", "wait", "waitTimeout"]])
def test_limits_and_lifecycle_fields_update_a_container_in_place(inputs):
    assert replacing_inputs(CONTAINER, inputs) == []


def test_a_changed_health_check_replaces_the_container_because_docker_cannot_change_it_in_place():
    assert replacing_inputs(CONTAINER, ["healthcheck", "restart"]) == ["healthcheck"]


@pytest.mark.parametrize("key", ["image", "envs", "command", "labels", "networksAdvanced", "volumes", "ports",
                                 "uploads", "cpus", "ulimits", "name", "capabilities", "logOpts"])
def test_everything_else_about_a_container_replaces_it(key):
    assert replacing_inputs(CONTAINER, [key, "restart"]) == [key]


@pytest.mark.parametrize("key", ["name", "labels", "driver", "driverOpts"])
def test_every_volume_input_replaces_the_volume(key):
    assert replacing_inputs(VOLUME, [key]) == [key]


def test_every_network_input_replaces_the_network():
    assert replacing_inputs(NETWORK, ["internal", "labels"]) == ["internal", "labels"]


def test_a_rebuilt_image_is_updated_not_replaced():
    assert replacing_inputs(IMAGE, ["build", "imageName"]) == []


def test_a_pulled_image_is_replaced_when_its_name_changes_only():
    assert replacing_inputs(REMOTE_IMAGE, ["keepLocally"]) == []
    assert replacing_inputs(REMOTE_IMAGE, ["name", "keepLocally"]) == ["name"]


def test_generated_passwords_are_replaced_on_any_change():
    assert replacing_inputs("random:index/randomPassword:RandomPassword", ["length"]) == ["length"]


def test_a_type_the_table_does_not_know_is_assumed_replaced():
    assert not known("kubernetes:apps/v1:Deployment")
    assert replacing_inputs("kubernetes:apps/v1:Deployment", ["spec"]) == ["spec"]


def test_the_replace_on_changes_option_forces_a_replacement():
    assert replacing_inputs(CONTAINER, ["restart"], replace_on_changes=["restart"]) == ["restart"]
    assert replacing_inputs(IMAGE, ["build"], replace_on_changes=["*"]) == ["build"]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@pytest.mark.parametrize("token, args", [(CONTAINER, docker.ContainerArgs), (REMOTE_IMAGE, docker.RemoteImageArgs)])
def test_every_input_named_in_the_table_exists_in_the_installed_provider(token, args):
    inputs = {_camel(p) for p in inspect.signature(args.__init__).parameters if p != "self"}
    assert UPDATED_IN_PLACE[token] <= inputs, UPDATED_IN_PLACE[token] - inputs

