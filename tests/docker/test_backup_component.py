"""The backup component as the program declares it: schedule, retention, isolation, secrets."""

from __future__ import annotations

import json

import pytest

from flashdrive.backups.scripts import backup_script, prune_script
from flashdrive.model import resolve
from flashdrive.plan import plan_spec
from flashdrive.spec import load_spec

CONTAINER = "docker:index/container:Container"
SPEC = """\
version: 1
stack: shop
apps:
  web:
    image: ghcr.io/acme/web:1.4
    disks: [{name: media, mount: /app/media, size_gb: 2}]
  jobs:
    image: ghcr.io/acme/web:1.4
    type: worker
    disks: [{name: scratch, mount: /scratch, size_gb: 1, access: read_only}]
databases:
  main: {engine: postgres}
  cache: {engine: redis}
  legacy: {engine: mysql}
  docs: {engine: mongodb}
backups:
  schedule: "15 2 * * *"
  keep_days: 14
"""


@pytest.fixture
def spec_path(tmp_path):
    def write(text: str = SPEC):
        path = tmp_path / "flashdrive.yaml"
        path.write_text(text)
        return path
    return write


@pytest.fixture
def plan(spec_path):
    return plan_spec(spec_path())


def containers(plan) -> dict:
    return {r.name: r for r in plan.by_type(CONTAINER)}


def upload(container, file: str) -> str:
    return next(u["content"] for u in container.inputs["uploads"] if u["file"] == file)


def test_the_job_runs_on_the_spec_schedule_and_prunes_to_keep_days(plan):
    c = containers(plan)
    assert upload(c["shop-backup"], "/flashdrive/crontabs/root").startswith("15 2 * * * /flashdrive/backup.sh")
    prune = upload(c["shop-backup-prune"], "/flashdrive/prune.sh")
    assert "forget --host shop --keep-within-daily 14d --prune" in prune
    assert "restic check" in prune.split("--prune", 1)[1]


def test_every_disk_is_mounted_read_only_into_the_job_and_every_database_dumped(plan):
    job = containers(plan)["shop-backup"]
    mounts = {v["containerPath"]: v for v in job.inputs["volumes"]}
    assert set(mounts) == {"/data/disks/media", "/data/disks/scratch"}
    assert all(v["readOnly"] for v in mounts.values())
    script = upload(job, "/flashdrive/backup.sh")
    for tool in ("pg_dump", "mysqldump --single-transaction", "mongodump", "redis-cli -h cache -p 6379 --rdb"):
        assert tool in script


def test_only_backup_containers_mount_the_repository(plan):
    users = {name for name, c in containers(plan).items()
             if any(v["volumeName"] == "shop-backups" for v in c.inputs.get("volumes", []))}
    assert users == {"shop-backup-server", "shop-backup-prune"}


def test_no_app_or_database_shares_a_network_with_the_backup_server(plan):
    c = containers(plan)
    server_networks = {n["name"] for n in c["shop-backup-server"].inputs["networksAdvanced"]}
    assert server_networks == {"shop-backup"}
    for name, container in c.items():
        if name.startswith("shop-backup"):
            continue
        assert "shop-backup" not in {n["name"] for n in container.inputs.get("networksAdvanced", [])}, name


def test_the_server_is_append_only_and_the_prune_job_has_no_network(plan):
    c = containers(plan)
    assert "rclone serve restic --append-only" in c["shop-backup-server"].inputs["command"][0]
    assert c["shop-backup-prune"].inputs["networkMode"] == "none"
    job_envs = c["shop-backup"].inputs["envs"]
    assert "RESTIC_REPOSITORY=[secret]" in job_envs  # write-only credentials inside
    assert "RESTIC_REPOSITORY=/repository" in c["shop-backup-prune"].inputs["envs"]


def test_the_repository_password_is_a_secret(plan):
    for name in ("shop-backup", "shop-backup-prune"):
        assert "RESTIC_PASSWORD=[secret]" in containers(plan)[name].inputs["envs"]
    assert "RESTIC_PASSWORD=" not in json.dumps(plan.to_json()).replace("RESTIC_PASSWORD=[secret]", "")


def test_the_repository_volume_is_retained(plan):
    volume = plan.get("shop-backups", "docker:index/volume:Volume")
    assert volume.options["retainOnDelete"] is True
    assert {"label": "flashdrive.role", "value": "backups"} in volume.inputs["labels"]


def test_disabled_backups_declare_nothing(spec_path):
    plan = plan_spec(spec_path(SPEC + "  enabled: false\n"))
    assert not [name for name in containers(plan) if name.startswith("shop-backup")]


def test_a_failed_dump_is_never_stored_as_an_empty_one(spec_path):
    script = backup_script(resolve(load_spec(spec_path())))
    # The dump goes to a file; only a successful, non-empty dump reaches restic.
    block = script[script.index("note 'database main (postgres)'"):]
    assert block.index("pg_dump") < block.index("store_dump main main.pgdump")
    assert 'if [ ! -s "$DUMP" ]' in script
    assert "exit 1" in script.split("FAILED", 1)[1]


def test_prune_uses_the_keep_within_family(spec_path):
    prune = prune_script(resolve(load_spec(spec_path())))
    assert "--keep-within-daily 14d" in prune and "--keep-daily" not in prune
