"""A failing release command stops the deploy, shows its output, and starts no app copy."""

from __future__ import annotations

import pytest
from harness import Deployment, temp_folder, write_overlay
from deploy import DeployFailed, destroy_stack
from provider import docker

pytestmark = pytest.mark.e2e

STACK = "release-e2e"


def test_a_failing_release_stops_the_deploy_with_its_output(stand_in_images):
    folder = temp_folder()
    spec = folder / "flashdrive.yaml"
    spec.write_text(
        "version: 1\n"
        f"stack: {STACK}\n"
        "apps:\n"
        "  web:\n"
        f"    image: {stand_in_images['python']}\n"
        "    release: python -c \"import sys; print('migration exploded on table orders'); sys.exit(3)\"\n"
        "databases:\n"
        "  main: {engine: postgres}\n")
    overlay = write_overlay(folder, STACK, stand_in_images)
    destroy_stack(stack=STACK)
    try:
        with pytest.raises(DeployFailed) as failure:
            Deployment(STACK, spec, overlay, {}, images=stand_in_images).deploy()
        message = str(failure.value)
        assert "release command of app 'web' exited with code 3" in message
        assert "migration exploded on table orders" in message
        names = docker("ps", "--all", "--format", "{{.Names}}", "--filter", f"label=flashdrive.stack={STACK}").stdout.split()
        assert f"{STACK}-web-release" in names
        assert f"{STACK}-web-1" not in names and f"{STACK}-edge" not in names
    finally:
        destroy_stack(stack=STACK)
