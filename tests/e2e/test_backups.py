"""Backups on a real engine: round trip, append-only, retention, failures that show."""

from __future__ import annotations

import datetime
import json
import os
import sys
import time

import pytest
from cli_helpers import run_flashdrive as flashdrive
from harness import EXAMPLE, Deployment, temp_folder, write_overlay
from deploy import destroy_stack
from provider import docker


pytestmark = pytest.mark.e2e

# Another name through the environment, for several checkouts sharing one engine.
STACK = os.environ.get("FLASHDRIVE_E2E_BACKUP_STACK", "backup-e2e")
KEEP_DAYS = 10


@pytest.fixture(scope="module")
def stack(stand_in_images):
    folder = temp_folder()
    extra = f"backups:\n  keep_days: {KEEP_DAYS}\n"
    overlay = write_overlay(folder, STACK, stand_in_images, extra)
    destroy_stack(stack=STACK)
    deployment = Deployment(STACK, EXAMPLE, overlay, {}, images=stand_in_images)
    try:
        deployment.deploy()
        yield deployment
    finally:
        destroy_stack(stack=STACK)


def django(stack: Deployment, code: str) -> str:
    # The last line is the code's own output; Django's shell may print a banner before it.
    return stack.exec("web-1", "python", "manage.py", "shell", "-c", code).stdout.strip().splitlines()[-1:][0] \
        if code else ""


def wait_healthy(container: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if docker("inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip() == "healthy":
            return
        time.sleep(1)
    raise AssertionError(f"{container} did not become healthy")


def test_a_disk_and_a_database_come_back_byte_for_byte(stack, capsys):
    payload = os.urandom(4096).hex()
    stack.exec("web-1", "sh", "-c", f"printf %s {payload} > /app/media/precious.txt")
    django(stack, "from store.models import Visit; Visit.objects.create(node='kept-by-backup')")

    code, out, err = flashdrive(capsys, "backup", "run", "--deployed", STACK)
    assert code == 0, out + err
    code, out, _ = flashdrive(capsys, "backup", "list", "--deployed", STACK)
    assert code == 0 and "disk:media" in out and "database:main" in out and "database:cache" in out

    # Live data is never overwritten by accident.
    code, _, err = flashdrive(capsys, "backup", "restore", "disk:media", "--deployed", STACK)
    assert code == 1 and "--force" in err

    stack.exec("web-1", "rm", "/app/media/precious.txt")
    django(stack, "from store.models import Visit; Visit.objects.all().delete()")

    code, out, err = flashdrive(capsys, "backup", "restore", "disk:media", "--deployed", STACK, "--force")
    assert code == 0, err
    assert "restored disk 'media'" in out and "stopped and restarted" in out
    code, out, err = flashdrive(capsys, "backup", "restore", "database:main", "--deployed", STACK, "--force")
    assert code == 0, err

    wait_healthy(stack.container("web-1"))
    assert stack.exec("web-1", "cat", "/app/media/precious.txt").stdout == payload
    assert django(stack, "from store.models import Visit; print(Visit.objects.filter(node='kept-by-backup').count())") == "1"


def redis(stack: Deployment, *command: str) -> str:
    # The server's container has the password in REDISCLI_AUTH: none on the command line.
    return stack.exec("cache", "redis-cli", *command).stdout.strip()


def test_a_redis_restore_brings_the_backed_up_keys_back(stack, capsys):
    assert redis(stack, "SET", "kept-by-backup", "original") == "OK"
    code, out, err = flashdrive(capsys, "backup", "run", "--deployed", STACK)
    assert code == 0, out + err
    redis(stack, "SET", "kept-by-backup", "changed")
    redis(stack, "SET", "written-after-the-backup", "1")

    code, out, err = flashdrive(capsys, "backup", "restore", "database:cache", "--deployed", STACK, "--force")
    assert code == 0, err
    assert "restored database 'cache' (redis)" in out

    wait_healthy(stack.container("cache"))
    # The server runs with appendonly: the snapshot must be what it loads, not a dump.rdb it ignores.
    assert redis(stack, "GET", "kept-by-backup") == "original"
    assert redis(stack, "EXISTS", "written-after-the-backup") == "0"
    # What is written after the restore survives a restart (the server appends to the restored base).
    redis(stack, "SET", "written-after-the-restore", "yes")
    docker("restart", stack.container("cache"))
    wait_healthy(stack.container("cache"))
    assert redis(stack, "GET", "written-after-the-restore") == "yes"
    assert redis(stack, "GET", "kept-by-backup") == "original"


def test_an_app_cannot_reach_the_repository_and_the_writer_cannot_delete(stack, stand_in_images):
    # The repository is on no app's network and in no app's mounts.
    probe = "import socket; socket.create_connection(('backup-server', 8000), timeout=5)"
    assert stack.exec("web-1", "python", "-c", probe, check=False).returncode != 0
    for container in stack.stack_containers():
        if container["Config"]["Labels"].get("flashdrive.role", "").startswith("backup"):
            continue
        assert all(m.get("Name") != f"{STACK}-backups" for m in container["Mounts"]), container["Name"]

    # Even with the backup job's own credentials, the server refuses to delete or rewrite.
    env = dict(e.split("=", 1) for e in stack.inspect("backup")["Config"]["Env"])
    base = env["RESTIC_REPOSITORY"].removeprefix("rest:")
    snapshot = docker("exec", stack.container("backup"), "restic", "snapshots", "--json").stdout
    snapshot_id = __import__("json").loads(snapshot)[0]["id"]
    attack = (
        "import urllib.request as u, sys\n"
        "base = sys.argv[1]\n"
        "for method, path, body in (('DELETE', 'snapshots/' + sys.argv[2], None), ('POST', 'snapshots/' + sys.argv[2], b'x')):\n"
        "    try:\n"
        "        u.urlopen(u.Request(base + path, data=body, method=method), timeout=10); print(method, 'ALLOWED')\n"
        "    except Exception as e:\n"
        "        print(method, 'refused', getattr(e, 'code', e))\n")
    name = f"{STACK}-attacker"
    docker("rm", "--force", name, check=False)
    docker("create", "--name", name, "--network", f"{STACK}-backup", stand_in_images["python"],
           "python", "-c", attack, base, snapshot_id)
    try:
        result = docker("start", "--attach", name).stdout
    finally:
        docker("rm", "--force", name, check=False)
    assert "ALLOWED" not in result and result.count("refused") == 2, result
    still = docker("exec", stack.container("backup"), "restic", "snapshots", "--json").stdout
    assert snapshot_id in still


def snapshots(stack: Deployment, *args: str) -> list[dict]:
    return json.loads(docker("exec", stack.container("backup"), "restic", "snapshots", "--json", *args).stdout)


def received_at(stack: Deployment, snapshot_id: str, moment: datetime.datetime) -> None:
    """As if the repository had received the snapshot at `moment` (only the repository's holder can)."""
    docker("exec", stack.container("backup-prune"), "touch", "-d", f"@{int(moment.timestamp())}",
           f"/repository/snapshots/{snapshot_id}")


def backed_up_days_ago(stack: Deployment, tag: str, taken: list[datetime.datetime]) -> dict[str, datetime.datetime]:
    """One snapshot per moment, claimed and received then, as the daily 03:00 job would have left them."""
    made: dict[str, datetime.datetime] = {}
    docker("exec", stack.container("backup"), "sh", "-c", "restic cat config >/dev/null 2>&1 || restic init")
    for moment in taken:
        docker("exec", stack.container("backup"), "sh", "-c",
               f"echo {moment:%s} | restic backup --quiet --host {STACK} --tag flashdrive --tag disk={tag} "
               f"--time '{moment:%Y-%m-%d %H:%M:%S}' --stdin --stdin-filename {tag}")
        new = next(item for item in snapshots(stack, "--tag", f"disk={tag}") if item["id"] not in made)
        received_at(stack, new["id"], moment)
        made[new["id"]] = moment
    return made


def prune(stack: Deployment) -> str:
    result = docker("exec", stack.container("backup-prune"), "/flashdrive/prune.sh")
    assert "no errors were found" in result.stdout + result.stderr, result.stdout + result.stderr
    return result.stdout


def test_retention_keeps_exactly_the_last_keep_days_days(stack):
    # Daily backups over 14 days, each an hour before this prune, as the 03:00 job and 04:30 prune.
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    taken = [now - datetime.timedelta(days=days_ago, hours=1) for days_ago in range(14)]
    made = backed_up_days_ago(stack, "retention", taken)
    prune(stack)
    kept = {item["id"] for item in snapshots(stack, "--tag", "disk=retention")}
    assert sorted(made[i] for i in kept) == sorted(taken[:KEEP_DAYS])


def test_forged_times_written_with_the_job_s_own_credentials_delete_no_real_snapshot(stack, capsys):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    real = backed_up_days_ago(stack, "forged-target",
                              [now.replace(hour=3, minute=0, second=0) - datetime.timedelta(days=d) for d in range(1, 10)])
    # The attack: with the backup job's own credentials, through the append-only server, one
    # snapshot back-dated to 23:00 of each recent day, which makes it that day's newest for
    # `forget --keep-within-daily` (the old rule forgot every real one).
    job = stack.container("backup")
    for days_ago in range(0, KEEP_DAYS + 2):
        day = (now - datetime.timedelta(days=days_ago)).date()
        docker("exec", job, "sh", "-c",
               f"echo forged | restic backup --quiet --host {STACK} --tag flashdrive --tag disk=forged-target "
               f"--time '{day} 23:00:00' --stdin --stdin-filename forged-target")
    before = {item["id"] for item in snapshots(stack)}

    out = prune(stack)

    after = {item["id"] for item in snapshots(stack)}
    assert set(real) <= after, f"real snapshots deleted: {set(real) - after}\n{out}"
    assert after == before, "everything was received within keep_days: nothing goes"
    code, listing, err = flashdrive(capsys, "backup", "list", "--deployed", STACK)
    assert code == 0, err
    forged_lines = [line for line in listing.splitlines() if "FORGED?" in line]
    assert len(forged_lines) >= KEEP_DAYS + 1, listing
    assert "claim a time far from when the repository received them" in listing
    assert not any(snapshot[:8] in line for snapshot in real for line in forged_lines), listing


def test_a_failing_dump_fails_the_backup_visibly(stack, capsys):
    database = stack.container("main")
    docker("stop", database)
    try:
        code, out, err = flashdrive(capsys, "backup", "run", "--deployed", STACK)
        assert code == 1
        assert "the backup failed" in err
        code, out, _ = flashdrive(capsys, "backup", "list", "--deployed", STACK)
        assert "FAILED" in out
        failed_lines = [line for line in out.splitlines() if "FAILED" in line and "database:main" in line]
        assert not failed_lines, "a failed dump must not be stored as a snapshot"
    finally:
        docker("start", database)
        wait_healthy(database)
    print(f"[e2e] backup stack deployed in {stack.seconds:.1f}s", file=sys.stderr)
