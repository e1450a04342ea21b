"""A pull request's preview on a real engine: seeded from the base's latest backup, scrubbed, isolated.

One base stack (the example: postgres, redis and a disk) and one preview of it, deployed once for
the module; the tests run in order and the last one destroys the preview.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest
from deploy import destroy_stack, loopback_address
from harness import EXAMPLE, Deployment, temp_folder, write_overlay
from provider import docker

from flashdrive.cli.main import main
from flashdrive.docker.seed import restore_script_inside
from flashdrive.model import resolve
from flashdrive.pipeline import check_spec

pytestmark = pytest.mark.e2e

# Another name through the environment, for several checkouts sharing one engine.
BASE = os.environ.get("FLASHDRIVE_E2E_PREVIEW_STACK", "previews-e2e")
NUMBER = 7
# The preview's edge publishes on an address of its own (flashdrive:publishAddress), as it must on
# its base's host, where the base's edge holds 80/443.
PUBLISH_ADDRESS = loopback_address(f"{BASE}-pr-{NUMBER}-own-address")
SCRUB = "python manage.py shell -c \"from store.models import Visit; Visit.objects.update(node='scrubbed')\""
EXTRA = f"""\
previews:
  size: s
  seed:
    from: backups
    scrub: >-
      {SCRUB}
"""


def django(stack: Deployment, code: str) -> str:
    # The last line is the code's own output; Django's shell may print a banner before it.
    return stack.exec("web-1", "python", "manage.py", "shell", "-c", code).stdout.strip().splitlines()[-1]


def nodes(stack: Deployment) -> list[str]:
    return json.loads(django(stack, "import json; from store.models import Visit; "
                                    "print(json.dumps(sorted(Visit.objects.values_list('node', flat=True))))"))


def container_ids(stack: Deployment) -> dict[str, str]:
    return {c["Name"].lstrip("/"): c["Id"] for c in stack.stack_containers()}


def snapshot_ids(base: Deployment) -> list[str]:
    listed = docker("exec", base.container("backup"), "restic", "snapshots", "--json").stdout
    return sorted(item["id"] for item in json.loads(listed))


def restore_inside(images: dict[str, str], overlay, password: str) -> subprocess.CompletedProcess:
    """The seed's own script, run as the seed runs it (base's repository read-only, restic image),
    without a network: for the answers it gives before it restores anything."""
    preview = resolve(*check_spec(EXAMPLE, [overlay]), preview=NUMBER)
    return subprocess.run(
        ["docker", "run", "--rm", "--network=none", "--env", "RESTIC_PASSWORD",
         f"--mount=type=volume,source={BASE}-backups,target=/repository,readonly", "--entrypoint=/bin/sh",
         images["restic"], "-c", restore_script_inside(preview)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "RESTIC_PASSWORD": password})


def repository_locks(base: Deployment) -> str:
    return docker("exec", base.container("backup-prune"), "ls", "-A", "/repository/locks").stdout


@pytest.fixture(scope="module")
def stacks(stand_in_images):
    folder = temp_folder()
    overlay = write_overlay(folder, BASE, stand_in_images, EXTRA)
    destroy_stack(stack=BASE, preview=NUMBER)
    destroy_stack(stack=BASE)
    base = Deployment(BASE, EXAMPLE, overlay, {}, images=stand_in_images)
    preview = Deployment(BASE, EXAMPLE, overlay, {"flashdrive:publishAddress": PUBLISH_ADDRESS},
                         images=stand_in_images, preview=NUMBER)
    try:
        base.deploy()
        # Deployed, never backed up: its repository is there and empty.
        empty = restore_inside(stand_in_images, overlay, "any")
        base.exec("web-1", "sh", "-c", "printf %s customer-photo > /app/media/precious.txt")
        django(base, "from store.models import Visit; [Visit.objects.create(node=n) for n in ('alice', 'bob')]")
        base.exec("cache", "redis-cli", "SET", "seeded-key", "from-the-base")
        assert main(["backup", "run", "--deployed", BASE]) == 0
        before = {"containers": container_ids(base), "snapshots": snapshot_ids(base), "locks": repository_locks(base),
                  "nodes": nodes(base), "empty": empty, "overlay": overlay, "images": stand_in_images}
        preview.deploy()
        seeded = str(preview.last.plan.outputs.get("seed"))
        took = re.search(r"seeded in (\d+) s", seeded)
        print(f"[e2e] base deployed in {base.seconds:.1f}s; preview deployed in {preview.seconds:.1f}s, "
              f"its seed (restore of 2 databases and a disk) in {took.group(1) if took else '?'} s", file=sys.stderr)
        yield base, preview, before, seeded
    finally:
        destroy_stack(stack=BASE, preview=NUMBER)
        destroy_stack(stack=BASE)


def test_the_preview_starts_from_the_base_s_latest_backup_scrubbed(stacks):
    base, preview, before, seeded = stacks
    assert preview.name == f"{BASE}-pr-{NUMBER}"
    for line in ("disk media: restored snapshot", "database main (postgres): restored snapshot",
                 "database cache (redis): restored snapshot"):
        assert line in seeded, seeded
    assert preview.exec("web-1", "cat", "/app/media/precious.txt").stdout == "customer-photo"
    # The preview's redis loads the base's keys (it runs appendonly: a lone dump.rdb would be ignored).
    assert preview.exec("cache", "redis-cli", "GET", "seeded-key").stdout.strip() == "from-the-base"
    # Every row came over, and the scrub rewrote the column before any copy served it.
    assert nodes(preview) == ["scrubbed", "scrubbed"]
    assert before["nodes"] == ["alice", "bob"]
    # Its own name everywhere, its own URL, no custom domain.
    assert preview.last.urls == {"web": f"https://web.{BASE}-pr-{NUMBER}.localhost"}
    assert preview.last.plan.outputs["preview"]["dropped_domains"] == {"shop.example.com": "web"}


def test_the_preview_s_edge_publishes_on_its_own_address(stacks):
    base, preview, _, _ = stacks
    bindings = preview.inspect("edge")["HostConfig"]["PortBindings"]
    assert {port: [b["HostIp"] for b in bound] for port, bound in bindings.items()} == {
        "80/tcp": [PUBLISH_ADDRESS], "443/tcp": [PUBLISH_ADDRESS]}
    assert base.address != PUBLISH_ADDRESS
    assert preview.last.plan.outputs["preview"]["number"] == NUMBER


def test_a_base_without_a_backup_seeds_nothing_and_a_wrong_master_key_says_how_to_fix_it(stacks):
    base, preview, before, _ = stacks
    empty = before["empty"]
    assert empty.returncode == 0, empty.stderr
    assert f"stack {BASE} has no backup yet (its repository is empty): the preview starts empty" in empty.stdout
    wrong = restore_inside(before["images"], before["overlay"], "not-the-base-s-password")
    assert wrong.returncode == 1
    assert "a preview needs its base's master key (pulumi config cp flashdrive:masterKey" in wrong.stdout + wrong.stderr


def test_the_base_is_untouched_and_shares_nothing_with_the_preview(stacks):
    base, preview, before, _ = stacks
    assert container_ids(base) == before["containers"]
    assert nodes(base) == ["alice", "bob"]
    assert snapshot_ids(base) == before["snapshots"]
    assert repository_locks(base) == before["locks"], "the seed took a lock: it wrote to the base's repository"
    # No container of the preview mounts a volume or joins a network that is not the preview's own.
    own = f"{preview.name}-"
    for container in preview.stack_containers():
        for mount in container["Mounts"]:  # named volumes; an image's anonymous ones are the container's
            name = mount.get("Name", own)
            assert name.startswith(own) or re.fullmatch(r"[0-9a-f]{64}", name), (container["Name"], mount)
        for network in container["NetworkSettings"]["Networks"]:
            assert network.startswith(own), (container["Name"], network)
    # Not a cron job, not a backup job: previews run neither.
    roles = {c["Config"]["Labels"].get("flashdrive.role") for c in preview.stack_containers()}
    assert not {r for r in roles if r and (r.startswith("backup") or r == "cron")}


def test_writes_in_the_preview_never_reach_the_base_and_a_later_up_seeds_nothing_again(stacks):
    base, preview, before, _ = stacks
    preview.exec("web-1", "sh", "-c", "printf %s preview-only > /app/media/preview.txt")
    django(preview, "from store.models import Visit; Visit.objects.create(node='preview-write')")
    assert base.exec("web-1", "test", "-e", "/app/media/preview.txt", check=False).returncode != 0
    assert nodes(base) == ["alice", "bob"]
    # The seed and the scrub run once, at creation: an `up` of the preview keeps what it wrote.
    preview.deploy()
    assert nodes(preview) == ["preview-write", "scrubbed", "scrubbed"]
    assert preview.exec("web-1", "cat", "/app/media/preview.txt").stdout == "preview-only"


def test_destroying_the_preview_leaves_the_base_and_its_backups_intact(stacks, capsys):
    base, preview, before, _ = stacks
    started = time.perf_counter()
    preview.teardown()
    print(f"[e2e] preview destroyed in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    assert preview.stack_containers() == []
    assert docker("volume", "ls", "--quiet", "--filter", f"label=flashdrive.stack={preview.name}").stdout.split() == []
    assert container_ids(base) == before["containers"]
    assert nodes(base) == ["alice", "bob"]
    assert base.exec("web-1", "cat", "/app/media/precious.txt").stdout == "customer-photo"
    assert snapshot_ids(base) == before["snapshots"]
    capsys.readouterr()
    assert main(["backup", "list", "--deployed", BASE]) == 0
    listing = capsys.readouterr().out
    assert "disk:media" in listing and "database:main" in listing
