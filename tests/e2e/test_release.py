"""Releases on a real engine: a code deploy whose release fails stops with the release's output and
leaves the running version serving; the next `up` with the code fixed goes through without
`--replace`.

One stack, updated in order: a good first deploy, a code change whose release fails, the fix.
"""

from __future__ import annotations

import json

import pytest
from deploy import DeployFailed, destroy_stack
from harness import Deployment, https, retry, temp_folder

pytestmark = pytest.mark.e2e

STACK = "release-e2e"
HOST = f"web.{STACK}.localhost"

# A small source app serving the VERSION file of its code; its release reads the same file and
# fails, with a migration-like message, when the code says "broken".
SPEC = """\
version: 1
stack: {stack}
tls: {{default_domain: localhost}}
apps:
  web:
    source: ./site
    port: 8000
    nodes: 2
    health_check: /version
    release: sh -c 'if grep -qx broken VERSION; then echo "migration exploded on table orders"; exit 3; fi; echo migrated'
backups: {{enabled: false}}
"""
PROCFILE = ("web: sh -c 'mkdir -p /tmp/site && cp VERSION /tmp/site/version && cd /tmp/site "
            "&& exec python3 -m http.server \"$PORT\"'\n")


class Stack:
    def __init__(self, images):
        self.folder = temp_folder()
        self.spec = self.folder / "flashdrive.yaml"
        (self.folder / "site").mkdir()
        (self.folder / "site/Procfile").write_text(PROCFILE)
        (self.folder / "site/requirements.txt").write_text("# nothing to install\n")
        self.images = images
        self.deployment = Deployment(STACK, self.spec, None, {}, images=images)

    def up(self, version: str):
        """A deploy of the code with this VERSION file."""
        self.spec.write_text(SPEC.format(stack=STACK))
        (self.folder / "site/VERSION").write_text(version + "\n")
        return self.deployment.deploy()

    def served_version(self) -> str:
        ca = self.deployment.last.ca_pem.read_text()

        def call():
            status, _, body = https(HOST, "/version", ca_pem=ca, address=self.deployment.address)
            assert status == 200, status
            return body.decode().strip()
        return retry(call, seconds=60)

    def copies(self) -> dict[str, str]:
        return {c["Name"].lstrip("/"): c["Id"] for c in self.deployment.stack_containers()
                if c["Config"]["Labels"].get("flashdrive.app") == "web"}


@pytest.fixture(scope="module")
def stack(stand_in_images):
    destroy_stack(stack=STACK)
    deployed = Stack(stand_in_images)
    try:
        deployed.up("one")
        yield deployed
    finally:
        destroy_stack(stack=STACK)


def test_the_first_deploy_serves_after_its_release(stack):
    assert stack.served_version() == "one"


def test_a_code_deploy_whose_release_fails_stops_with_its_output_and_the_old_copies_keep_serving(stack):
    before = stack.copies()
    with pytest.raises(DeployFailed) as failure:
        stack.up("broken")
    message = str(failure.value)
    assert "migration exploded on table orders" in message
    assert "3" in message  # the exit code is named
    assert "Traceback" not in message
    assert stack.copies() == before, "no copy may be touched by a deploy whose release failed"
    assert stack.served_version() == "one"


def test_the_next_up_with_the_code_fixed_goes_through_without_replace(stack):
    deployed = stack.up("two")
    assert stack.served_version() == "two"
    assert deployed.last.changes["create"] >= 2, deployed.last.changes
    assert not any(n.endswith(("-web-1", "-web-2")) for n in stack.copies()), "copies carry their version"


def test_a_second_identical_up_changes_nothing(stack):
    deployed = stack.up("two")
    changes = deployed.last.changes
    assert changes["create"] == changes["update"] == changes["replace"] == changes["delete"] == 0, \
        json.dumps(deployed.last.steps)
