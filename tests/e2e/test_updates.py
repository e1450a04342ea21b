"""The second `pulumi up`, and the ones after: what users run every day, on a real engine.

One stack, updated step by step (the tests run in order and each starts where the last left it):
nothing changed, a run-time env var, more copies then fewer, an app removed, a code change.
"""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest
from deploy import destroy_stack, stack_folder
from harness import EXAMPLE, BoundedLoad, Deployment, edge_reloads, https, retry
from provider import docker

pytestmark = pytest.mark.e2e

STACK = "updates-e2e"
VERSION = re.compile(r"-[0-9a-f]{8}$")  # copies are named <stack>-<app>-<n>-<version>
HOST = f"web.{STACK}.localhost"

SPEC = """\
version: 1
stack: {stack}
tls: {{default_domain: localhost}}
apps:
  web:
    source: ./app
    port: 8000
    nodes: {nodes}
    health_check: /healthz
    env:
      DJANGO_SETTINGS_MODULE: shop.settings
      SECRET_KEY: {{generate: secret}}
      DATABASE_URL: ${{databases.main.url}}
      REDIS_URL: ${{databases.cache.url}}
      GREETING: {{value: "{greeting}", scope: run}}
    disks: [{{name: media, mount: /app/media, size_gb: 1}}]
{worker}databases:
  main: {{engine: postgres}}
  cache: {{engine: redis}}
backups: {{enabled: false}}
"""

WORKER = """\
  worker:
    source: ./app
    type: worker
    process: worker
    size: xs
    env:
      DJANGO_SETTINGS_MODULE: shop.settings
      SECRET_KEY: {generate: secret}
      DATABASE_URL: ${databases.main.url}
      REDIS_URL: ${databases.cache.url}
    disks: [{name: jobs, mount: /app/jobs, size_gb: 1}]
"""


class Stack:
    def __init__(self, folder, images):
        self.folder = folder
        self.spec = folder / "flashdrive.yaml"
        self.deployment = Deployment(STACK, self.spec, None, {}, images=images)
        self.write()

    def write(self, *, nodes: int = 2, greeting: str = "one", worker: bool = True) -> None:
        self.spec.write_text(SPEC.format(stack=STACK, nodes=nodes, greeting=greeting,
                                         worker=WORKER if worker else ""))

    def up(self, **spec) -> dict[str, int]:
        self.write(**spec)
        return self.deployment.deploy().last.changes

    def containers(self) -> dict[str, tuple[str, str]]:
        """name → (id, start time) of every container of the stack; an app copy by its name without
        its version (`updates-e2e-web-1`), so a new version of a copy shows as a new id."""
        return {VERSION.sub("", c["Name"].lstrip("/")): (c["Id"], c["State"]["StartedAt"])
                for c in self.deployment.stack_containers()}

    def page(self, path: str = "/") -> dict:
        ca = self.deployment.last.ca_pem.read_text()

        def call():
            status, _, raw = https(HOST, path, ca_pem=ca, address=self.deployment.address)
            assert status == 200, f"https://{HOST}{path} answered {status}: {raw[:300]!r}"
            return json.loads(raw)
        return retry(call, seconds=90)

    def load(self) -> BoundedLoad:
        """Requests to the app, one after another, while an update runs (zero-downtime, issue #14)."""
        self.page()  # serving before the load starts
        return BoundedLoad(HOST, self.deployment.last.ca_pem.read_text(), self.deployment.address, path="/healthz")

    def nodes_answering(self, requests: int = 40) -> set[str]:
        return {self.page()["node"] for _ in range(requests)}


@pytest.fixture(scope="module")
def stack(stand_in_images, tmp_path_factory):
    folder = tmp_path_factory.mktemp("updates")
    shutil.copytree(EXAMPLE.parent / "app", folder / "app",
                    ignore=shutil.ignore_patterns(".flashdrive", "__pycache__", "staticfiles", "media"))
    destroy_stack(stack=STACK)
    deployed = Stack(folder, stand_in_images)
    try:
        started = time.perf_counter()
        deployed.up()
        deployed.first_up_s = time.perf_counter() - started
        yield deployed
    finally:
        destroy_stack(stack=STACK)


def test_a_second_up_with_nothing_changed_touches_nothing(stack):
    before = stack.containers()
    started = time.perf_counter()
    changes = stack.up()
    seconds = time.perf_counter() - started
    print(f"[e2e] no-change up: {seconds:.1f}s (first up {stack.first_up_s:.1f}s)")
    assert changes["create"] == changes["update"] == changes["replace"] == changes["delete"] == 0, changes
    assert changes["same"] > 10
    assert stack.containers() == before, "no container may be recreated or restarted"


def test_an_env_change_replaces_the_apps_copies_and_keeps_data(stack):
    docker("exec", stack.deployment.container("web-1"), "sh", "-c", "echo kept > /app/media/env-change.txt")
    before = stack.containers()
    with stack.load() as load:
        changes = stack.up(greeting="two")
    assert load.results and not load.failures, f"{len(load.failures)} of {len(load.results)} failed: {load.failures[:5]}"
    after = stack.containers()
    stack.replaced_by_env_change = {name for name in before if name in after and before[name] != after[name]}
    assert {f"{STACK}-web-1", f"{STACK}-web-2"} <= stack.replaced_by_env_change, changes
    assert after[f"{STACK}-main"] == before[f"{STACK}-main"] and after[f"{STACK}-cache"] == before[f"{STACK}-cache"]
    env = stack.deployment.inspect("web-1")["Config"]["Env"]
    assert "GREETING=two" in env
    assert stack.deployment.exec("web-2", "cat", "/app/media/env-change.txt").stdout.strip() == "kept"
    assert stack.page()["app"] == "web"


def test_an_env_change_of_one_app_leaves_the_other_apps_running(stack):
    # Copies wait for the release by depends_on alone: no input of theirs comes from it, so the
    # engine's dependent replacements never reach the worker (issue #22).
    assert stack.replaced_by_env_change == {f"{STACK}-web-1", f"{STACK}-web-2"}


# Caddy 2.6 (Debian's, the stand-in's) resets about one connection in a thousand that arrives while
# it reloads its Caddyfile (reproduced without flashdrive: 2 of 1,898 requests over 69 reloads).
# Adding a copy reloads the edge once: one such reset at that moment is Caddy's, told and counted;
# anything else (a 502, a reset away from a reload, two of them) fails as before.
KNOWN_RELOAD_RESETS = ("ConnectionResetError", "SSLEOFError", "ConnectionAbortedError")


def test_more_copies_then_fewer_and_the_edge_follows(stack):
    started = time.time()
    with stack.load() as load:
        stack.up(greeting="two", nodes=3)
    at_reload, others = load.failures_near(edge_reloads(STACK, started - 1))
    if at_reload:
        print(f"[e2e] the edge's reload reset {len(at_reload)} of {len(load.results)} requests (Caddy 2.6): {at_reload}")
    assert load.results and not others, f"{len(others)} of {len(load.results)} failed: {others[:5]}"
    assert len(at_reload) <= 1 and all(r.startswith(KNOWN_RELOAD_RESETS) for r in at_reload), at_reload
    assert stack.nodes_answering(60) == {"1", "2", "3"}
    names = set(stack.containers())
    assert f"{STACK}-web-3" in names
    changes = stack.up(greeting="two", nodes=2)
    assert changes["delete"] >= 1, changes
    assert f"{STACK}-web-3" not in stack.containers()
    assert stack.nodes_answering(40) == {"1", "2"}


def test_an_app_removed_leaves_its_disk_on_the_engine_and_out_of_the_state(stack):
    stack.deployment.exec("worker-1", "sh", "-c", "echo queued > /app/jobs/left.txt")
    stack.up(greeting="two", nodes=2, worker=False)
    names = set(stack.containers())
    assert not any(name.startswith(f"{STACK}-worker") for name in names)
    volumes = docker("volume", "ls", "--quiet", "--filter", f"label=flashdrive.stack={STACK}").stdout.split()
    assert f"{STACK}-disk-jobs" in volumes, "a removed app's disk is retained"
    state = json.loads((stack_folder(STACK) / "state.json").read_text())
    assert not any(urn.endswith(f"::{STACK}-disk-jobs") for urn in state["resources"])
    kept = docker("run", "--rm", "-v", f"{STACK}-disk-jobs:/jobs", "--entrypoint", "cat",
                  stack.deployment.images["python"], "/jobs/left.txt").stdout.strip()
    assert kept == "queued"


def test_a_code_change_rebuilds_reruns_the_release_and_rolls_the_copies(stack):
    before = stack.containers()
    views = stack.folder / "app/store/views.py"
    views.write_text(views.read_text() + "\n# a code change\n")
    started = time.perf_counter()
    with stack.load() as load:
        changes = stack.up(greeting="two", nodes=2, worker=False)
    seconds = time.perf_counter() - started
    assert load.results and not load.failures, f"{len(load.failures)} of {len(load.results)} failed: {load.failures[:5]}"
    print(f"[e2e] {len(load.results)} requests during the code deploy, none failed")
    print(f"[e2e] code-change up: {seconds:.1f}s (first up {stack.first_up_s:.1f}s)")
    after = stack.containers()
    for name in (f"{STACK}-web-1", f"{STACK}-web-2"):
        assert after[name][0] != before[name][0], f"{name} was not replaced: {changes}"
    assert after[f"{STACK}-main"] == before[f"{STACK}-main"]
    steps = stack.deployment.last.steps
    assert any(op == "update" and urn.endswith("docker:index/image:Image::" + urn.rsplit("::", 1)[-1])
               for op, urn in steps), "the image is rebuilt"
    # The release is a one-off Command, triggered by the new digest: replaced means run again.
    assert any(op == "replace" and "command:local:Command" in urn and "release" in urn for op, urn in steps), steps
    assert stack.page()["app"] == "web"
