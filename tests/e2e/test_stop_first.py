"""A stop-first deploy on a real engine: an app whose SQLite file sits on an `exclusive: true` disk
never has two copies writing it, so a code deploy stops the old copy before the new one starts.
That costs a gap, which the same bounded load as tests/e2e/test_updates.py measures and prints;
the disk's data outlives the deploy."""

from __future__ import annotations

import json
import shutil
import time

import pytest
from deploy import destroy_stack
from harness import EXAMPLE, BoundedLoad, Deployment, container_events, https, retry, running_together

pytestmark = pytest.mark.e2e

STACK = "zdt-sqlite-e2e"
HOST = f"notes.{STACK}.localhost"

# The example shop's app, run the way a small team runs Django: SQLite on the app's own disk.
SPEC = f"""\
version: 1
stack: {STACK}
tls: {{default_domain: localhost}}
apps:
  notes:
    source: ./app
    port: 8000
    health_check: /healthz
    env:
      DJANGO_SETTINGS_MODULE: shop.settings
      SECRET_KEY: {{generate: secret}}
      DATABASE_URL: sqlite:////data/db.sqlite3
    disks: [{{name: db, mount: /data, size_gb: 1, exclusive: true}}]
backups: {{enabled: false}}
"""


@pytest.fixture(scope="module")
def notes(stand_in_images, tmp_path_factory):
    folder = tmp_path_factory.mktemp("stop-first")
    shutil.copytree(EXAMPLE.parent / "app", folder / "app",
                    ignore=shutil.ignore_patterns(".flashdrive", "__pycache__", "staticfiles", "media", "*.sqlite3"))
    (folder / "flashdrive.yaml").write_text(SPEC)
    destroy_stack(stack=STACK)
    deployment = Deployment(STACK, folder / "flashdrive.yaml", None, {}, images=stand_in_images)
    deployment.extra["folder"] = folder
    try:
        deployment.deploy()
        yield deployment
    finally:
        destroy_stack(stack=STACK)


def page(deployment: Deployment) -> dict:
    """GET / — the app records a visit in its SQLite file and counts them all."""
    ca = deployment.last.ca_pem.read_text()

    def call() -> dict:
        status, _, raw = https(HOST, "/", ca_pem=ca, address=deployment.address)
        assert status == 200, f"https://{HOST}/ answered {status}: {raw[:300]!r}"
        return json.loads(raw)
    return retry(call, seconds=90)


def test_a_code_deploy_of_a_stop_first_app_has_a_gap_and_keeps_the_disk(notes):
    before = page(notes)
    assert before["db_vendor"] == "sqlite"
    old = notes.inspect("notes-1")
    assert old["Name"] == f"/{STACK}-notes-1", "a stop-first copy keeps one name across versions"
    views = notes.extra["folder"] / "app/store/views.py"
    views.write_text(views.read_text() + "\n# a code change\n")

    since = time.time()
    with BoundedLoad(HOST, notes.last.ca_pem.read_text(), notes.address, path="/healthz") as load:
        notes.deploy()
        page(notes)  # the load runs until the new version serves
    gap = load.longest_gap()
    print(f"[e2e] stop-first code deploy: {len(load.failures)} of {len(load.results)} requests failed; "
          f"longest time without a 200: {gap:.1f}s (deploy {notes.seconds:.1f}s)")
    # The cost of never having two writers, measured: a window in which nothing answered 200 (the
    # old copy stopped, the new one starting; the edge holds requests up to lb_try_duration, so
    # a short gap shows as slow answers rather than failures). Requests here take milliseconds.
    assert load.results and (load.failures or gap > 0.5), \
        f"no gap: {len(load.results)} requests, longest {gap:.2f}s between 200s"
    assert load.results[-1] == 200, "the new version serves before the load ends"

    new = notes.inspect("notes-1")
    assert new["Id"] != old["Id"] and new["Name"] == old["Name"]
    assert running_together(container_events(STACK, since, time.time()), f"{STACK}-notes-1") == [], \
        "the old copy stopped before the new one started"
    after = page(notes)
    assert after["visits"] > before["visits"], "the visits written before the deploy are still on the disk"
