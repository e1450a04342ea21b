"""Restore drills on a real engine: `backup verify` and the backup job's scheduled drill pass after a
backup, and fail naming the item once a pack of the repository is damaged."""

from __future__ import annotations

import json
import os
import sys
import time

import pytest
from deploy import destroy_stack
from cli_helpers import run_flashdrive as flashdrive
from harness import EXAMPLE, Deployment, temp_folder, write_overlay
from provider import docker

from flashdrive.cli.main import main

pytestmark = pytest.mark.e2e

STACK = os.environ.get("FLASHDRIVE_E2E_DRILL_STACK", "drills-e2e")
# Bigger than anything else the example stack backs up: its pack is the largest in the repository.
MEDIA_BYTES = 3 * 1024 * 1024


@pytest.fixture(scope="module")
def stack(stand_in_images):
    folder = temp_folder()
    overlay = write_overlay(folder, STACK, stand_in_images)
    destroy_stack(stack=STACK)
    deployment = Deployment(STACK, EXAMPLE, overlay, {}, images=stand_in_images)
    try:
        deployment.deploy()
        yield deployment
    finally:
        destroy_stack(stack=STACK)


def drill_leftovers() -> list[str]:
    """Whatever a drill created and did not remove: containers, volumes, networks."""
    label = ["--filter", f"label=flashdrive.stack={STACK}", "--filter", "label=flashdrive.role=drill"]
    found = docker("ps", "--all", "--format", "{{.Names}}", *label).stdout.split()
    found += docker("volume", "ls", "--format", "{{.Name}}", *label).stdout.split()
    found += docker("network", "ls", "--format", "{{.Name}}", *label).stdout.split()
    return found


@pytest.fixture(scope="module")
def backed_up(stack):
    """Rows in the database, a large file on the disk, then one backup run."""
    stack.exec("web-1", "python", "manage.py", "shell", "-c",
               "from store.models import Visit; [Visit.objects.create(node=f'drill-{i}') for i in range(7)]")
    stack.exec("web-1", "sh", "-c", f"head -c {MEDIA_BYTES} /dev/urandom > /app/media/large.bin")
    code = main(["backup", "run", "--deployed", STACK])
    assert code == 0
    return stack


def test_a_drill_after_a_backup_passes_and_checks_every_item(backed_up, capsys):
    started = time.monotonic()
    code, out, err = flashdrive(capsys, "backup", "verify", "--deployed", STACK, "--json")
    seconds = time.monotonic() - started
    assert code == 0, out + err
    report = json.loads(out)
    items = {item["item"]: item for item in report["items"]}
    assert set(items) == {"repository", "disk:media", "database:main", "database:cache"}, items
    assert all(item["ok"] for item in items.values()), items
    assert items["disk:media"]["size_bytes"] >= MEDIA_BYTES
    # The Django tables answered, with the rows written before the backup.
    visits = next(rows for table, rows in items["database:main"]["tables"].items() if table.endswith("store_visit"))
    assert visits >= 7, items["database:main"]
    assert "flashdrive-e2e/postgres" in items["database:main"]["checked"]  # the live server's own image
    assert items["database:cache"]["tables"] is not None
    assert drill_leftovers() == []

    code, out, _ = flashdrive(capsys, "backup", "list", "--deployed", STACK)
    assert code == 0 and "Last restore drill:" in out and "ok, 4 items restored and checked" in out, out
    print(f"[e2e] drill of the example stack (verify): {seconds:.1f}s, {report['seconds']}s by its own count",
          file=sys.stderr)


def test_the_scheduled_drill_runs_in_the_backup_job_without_docker(backed_up, capsys):
    job = backed_up.container("backup")
    crontab = docker("exec", job, "cat", "/flashdrive/crontabs/root").stdout
    assert "0 5 * * 0 /flashdrive/drill.sh" in crontab
    started = time.monotonic()
    result = docker("exec", job, "/flashdrive/drill.sh", check=False)
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert "database:main\tok" in result.stdout and "loaded into a fresh postgres" in result.stdout
    assert "database:cache\tok" in result.stdout and "disk:media\tok" in result.stdout
    print(f"[e2e] drill of the example stack (scheduled, in the job): {seconds:.1f}s", file=sys.stderr)


def test_a_damaged_pack_fails_the_drill_naming_the_item(backed_up, capsys):
    # Four bytes of the largest pack (the large file's) flipped, as a failing disk would, on the
    # repository's volume directly (nothing of the stack can write there but the server).
    volume = f"{STACK}-backups"
    damage = ("f=$(ls -S /repository/data/*/* | head -n 1) && printf '\\377\\377\\377\\377' "
              "| dd of=$f bs=1 seek=4096 conv=notrunc status=none && echo $f")
    damaged = docker("run", "--rm", "-v", f"{volume}:/repository", "--entrypoint", "sh", "flashdrive-e2e/debian:bookworm",
                     "-c", damage).stdout.strip()
    assert damaged.startswith("/repository/data/"), damaged

    code, out, err = flashdrive(capsys, "backup", "verify", "--deployed", STACK)
    assert code == 1, out + err
    report = out
    lines = out.splitlines()
    assert any(line.startswith("disk:media") and "FAILED" in line for line in lines), out
    assert any(line.startswith("repository") and "FAILED" in line for line in lines), out
    assert "FAILED: repository, disk:media" in out or "FAILED: disk:media" in out.replace("repository, ", ""), out
    assert drill_leftovers() == []

    result = docker("exec", backed_up.container("backup"), "/flashdrive/drill.sh", check=False)
    assert result.returncode == 1
    assert "disk:media\tfailed" in result.stdout, result.stdout
    code, out, _ = flashdrive(capsys, "backup", "list", "--deployed", STACK)
    assert "Last restore drill:" in out and "FAILED" in out and "disk:media" in out, out
    print(f"[e2e] the drill's report on a damaged repository:\n{report}", file=sys.stderr)
