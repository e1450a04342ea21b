"""The backup component as the program declares it: schedule, retention, isolation, secrets."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from flashdrive.backup_scripts import (DISKS_DIR, LEDGER, backup_script, grep_no_repository, prune_script,
                                       received_script, restic_found_no_repository)
from flashdrive.model import resolve
from flashdrive.plan import plan_spec
from flashdrive.pipeline import check_spec

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
def plan(write_spec):
    return plan_spec(write_spec())


def containers(plan) -> dict:
    return {r.name: r for r in plan.by_type(CONTAINER)}


def upload(container, file: str) -> str:
    return next(u["content"] for u in container.inputs["uploads"] if u["file"] == file)


def test_the_job_runs_on_the_spec_schedule_and_prunes_to_keep_days(plan):
    c = containers(plan)
    assert upload(c["shop-backup"], "/flashdrive/crontabs/root").startswith("15 2 * * * /flashdrive/backup.sh")
    prune = upload(c["shop-backup-prune"], "/flashdrive/prune.sh")
    assert "restic forget" in prune and "--keep-" not in prune  # by id, never by a claimed time
    assert "/flashdrive/received.sh" in prune
    assert upload(c["shop-backup-prune"], "/flashdrive/received.sh").count("stat -c %Y") == 1
    assert "restic check" in prune.split("restic prune", 1)[1]


def test_the_job_runs_the_restore_drill_weekly_by_default_or_on_backups_verify(plan, write_spec):
    job = containers(plan)["shop-backup"]
    crontab = upload(job, "/flashdrive/crontabs/root").splitlines()
    assert crontab[1].startswith("0 5 * * 0 /flashdrive/drill.sh")
    drill = upload(job, "/flashdrive/drill.sh")
    for line in ("drill_disk media disk=media /data/disks/media", "drill_disk scratch disk=scratch /data/disks/scratch",
                 "drill_database main postgres database=main /main.pgdump",
                 "drill_database legacy mysql database=legacy /legacy.sql",
                 "drill_database docs mongodb database=docs /docs.archive",
                 "drill_database cache redis database=cache /cache.rdb"):
        assert line in drill
    # What each dump is stored as is what the drill reads.
    assert "store_dump main main.pgdump" in upload(job, "/flashdrive/backup.sh")
    weekly = plan_spec(write_spec(SPEC.replace('keep_days: 14', 'keep_days: 14\n  verify: "@weekly"')))
    # busybox crond knows no macros: written out.
    assert upload(containers(weekly)["shop-backup"], "/flashdrive/crontabs/root").splitlines()[1].startswith(
        "0 0 * * 0 /flashdrive/drill.sh")


def test_a_backup_schedule_written_as_a_macro_reaches_busybox_crond_as_five_fields(write_spec):
    daily = plan_spec(write_spec(SPEC.replace('schedule: "15 2 * * *"', 'schedule: "@daily"')))
    assert upload(containers(daily)["shop-backup"], "/flashdrive/crontabs/root").splitlines()[0].startswith(
        "0 0 * * * /flashdrive/backup.sh")


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


def test_disabled_backups_declare_nothing(write_spec):
    plan = plan_spec(write_spec(SPEC + "  enabled: false\n"))
    assert not [name for name in containers(plan) if name.startswith("shop-backup")]


def test_a_failed_dump_is_never_stored_as_an_empty_one(write_spec):
    script = backup_script(resolve(*check_spec(write_spec())))
    # The dump goes to a file; only a successful, non-empty dump reaches restic.
    block = script[script.index("note 'database main (postgres)'"):]
    assert block.index("pg_dump") < block.index("store_dump main main.pgdump")
    assert 'if [ ! -s "$DUMP" ]' in script
    assert "exit 1" in script.split("FAILED", 1)[1]


DAY = 86400


def _run_prune(tmp_path, spec_text: str, received: dict[str, int]) -> tuple[list[str], str]:
    """Runs the generated prune.sh with a stub restic; returns the ids it forgot and its output."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "restic.log"
    restic = bin_dir / "restic"
    restic.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    restic.chmod(0o755)
    lines = "".join(f"echo '{snapshot} {seconds}'\n" for snapshot, seconds in received.items())
    fake_received = tmp_path / "received.sh"
    fake_received.write_text("#!/bin/sh\n" + lines)
    fake_received.chmod(0o755)
    script = prune_script(resolve(*check_spec(spec_text))).replace("/flashdrive/received.sh", str(fake_received))
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True,
                            env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    forgotten = [call.split()[1:] for call in calls if call.startswith("forget")]
    return [snapshot for call in forgotten for snapshot in call], result.stdout + "\n".join(calls)


def test_prune_forgets_by_id_exactly_what_was_received_more_than_keep_days_ago(write_spec, tmp_path):
    # One snapshot received at 03:10 each day for 20 days; keep_days is 14.
    newest = 20_000 * DAY + 3 * 3600 + 600
    received = {f"{day:064x}": newest - day * DAY for day in range(20)}
    forgotten, log = _run_prune(tmp_path, write_spec(), received)
    assert sorted(forgotten) == sorted(f"{day:064x}" for day in range(14, 20))
    assert "prune" in log.splitlines() and "check" in log.splitlines()


def test_prune_counts_days_from_the_newest_snapshot_so_stopped_backups_keep_their_history(write_spec, tmp_path):
    # The last backup was a year ago: nothing of its last 14 days goes.
    newest = 20_000 * DAY
    received = {f"{day:064x}": newest - day * DAY for day in range(14)}
    forgotten, log = _run_prune(tmp_path, write_spec(), received)
    assert forgotten == [] and "prune" not in log.splitlines()


def test_the_received_time_of_a_local_repository_is_the_snapshot_files_time(tmp_path):
    snapshots = tmp_path / "repository" / "snapshots"
    snapshots.mkdir(parents=True)
    for name, seconds in (("a" * 64, 1_700_000_000), ("b" * 64, 1_700_086_400)):
        (snapshots / name).write_text("{}")
        os.utime(snapshots / name, (seconds, seconds))
    script = received_script(local=True).replace("/repository", str(tmp_path / "repository"))
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
    assert sorted(out.splitlines()) == [f"{'a' * 64} 1700000000", f"{'b' * 64} 1700086400"]


def test_a_remote_repository_s_received_time_is_when_the_prune_first_saw_it(tmp_path):
    bin_dir, ledger = tmp_path / "bin", tmp_path / "ledger" / "received"
    bin_dir.mkdir()
    ids = tmp_path / "ids"
    (bin_dir / "restic").write_text(f"#!/bin/sh\ncat {ids}\n")
    (bin_dir / "restic").chmod(0o755)
    script = received_script(local=False).replace(LEDGER, str(ledger))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}

    ids.write_text("a\nb\n")
    first = dict(line.split() for line in subprocess.run(["sh", "-c", script], env=env, capture_output=True,
                                                           text=True, check=True).stdout.splitlines())
    ledger.write_text("".join(f"{k} {int(v) - 5 * DAY}\n" for k, v in first.items()))  # as if seen 5 days ago
    ids.write_text("b\nc\n")  # a was forgotten, c is new
    second = dict(line.split() for line in subprocess.run(["sh", "-c", script], env=env, capture_output=True,
                                                            text=True, check=True).stdout.splitlines())
    assert set(second) == {"b", "c"}
    assert int(second["b"]) == int(first["b"]) - 5 * DAY  # the first sighting stays
    assert int(second["c"]) >= int(first["b"])


def test_s3_targets_give_the_prune_job_its_own_keys(write_spec):
    spec = SPEC.replace("  keep_days: 14\n", "  keep_days: 14\n  target:\n    s3:\n"
                        "      endpoint: https://s3.example.com\n      bucket: b/shop\n"
                        "      access_key: {config: writerKey}\n      secret_key: {config: writerSecret}\n"
                        "      prune: {access_key: {config: pruneKey}, secret_key: {config: pruneSecret}}\n")
    plan = plan_spec(write_spec(spec), config={"writerKey": "WRITER-ID", "writerSecret": "w-secret",
                                              "pruneKey": "PRUNE-ID", "pruneSecret": "p-secret"})
    c = containers(plan)
    ledger = plan.get("shop-backup-ledger", "docker:index/volume:Volume")
    assert ledger.options["retainOnDelete"] is True
    assert [v["volumeName"] for v in c["shop-backup-prune"].inputs["volumes"]] == ["shop-backup-ledger"]
    assert not any(v.get("volumeName") == "shop-backup-ledger" for v in c["shop-backup"].inputs.get("volumes", []))
    assert "[secret]" in str(c["shop-backup-prune"].inputs["envs"])
    assert "w-secret" not in json.dumps(plan.to_json()) and "p-secret" not in json.dumps(plan.to_json())


def test_a_remote_target_without_prune_keys_is_warned_about(write_spec, capsys):
    from flashdrive.cli.main import main

    spec = SPEC.replace("  keep_days: 14\n", "  keep_days: 14\n  target: {rest: {url: 'https://b.example.com/s'}}\n")
    assert main(["validate", str(write_spec(spec))]) == 0
    err = capsys.readouterr().err
    assert "warning: backups.target.rest: the backup job and the prune job share one set of credentials" in err
    assert "prune: {url:" in err


def test_no_password_is_on_a_command_line_of_the_backup_containers(plan, write_spec):
    script = backup_script(resolve(*check_spec(write_spec())))
    # Every use of a password variable hands it over in the environment of one command, or to a
    # shell function (no new process): never as a command's argument, which `ps` shows.
    for line in script.splitlines():
        for use in re.finditer(r'"\$(FLASHDRIVE_DB_\w+_PASSWORD)"', line):
            before = line[:use.start()]
            assert re.search(r"(^|\s)[A-Z_]+=$", before) or before.rstrip().endswith("mongo_config"), line
    assert "--uri" not in script
    c = containers(plan)
    for name in ("shop-backup", "shop-backup-prune", "shop-backup-server"):
        command = " ".join(c[name].inputs["command"])
        assert "PASS" not in command and "apk" not in command, (name, command)


def test_the_backup_job_installs_nothing_and_says_which_client_its_image_lacks(write_spec, tmp_path):
    script = backup_script(resolve(*check_spec(write_spec())))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("restic", "redis-cli", "mysqldump", "mongodump", "mktemp", "date", "rm", "tail", "cat", "sh",
                 "printf", "echo"):
        found = shutil.which(tool)
        if tool == "restic":
            (bin_dir / tool).write_text("#!/bin/sh\ncat >/dev/null 2>&1; exit 0\n")
            (bin_dir / tool).chmod(0o755)
        elif tool in ("redis-cli", "mysqldump", "mongodump"):
            (bin_dir / tool).write_text('#!/bin/sh\nf=/dev/stdout; prev=\n'
                                        'for a; do case "$a" in --archive=*) f=${a#*=};; esac\n'
                                        '  [ "$prev" = --rdb ] && f=$a; prev=$a; done\necho dump > "$f"\n')
            (bin_dir / tool).chmod(0o755)
        elif found:
            os.symlink(found, bin_dir / tool)
    script = script.replace(DISKS_DIR, str(tmp_path / "disks"))
    result = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True,
                            env={"PATH": str(bin_dir), "HOME": str(tmp_path),
                                 **{f"FLASHDRIVE_DB_{db}_PASSWORD": "pw" for db in ("MAIN", "CACHE", "LEGACY", "DOCS")}})
    assert result.returncode == 1
    assert "the backup image has no pg_dump, so main cannot be dumped" in result.stdout
    assert "FAILED: database:main" in result.stdout  # the other three were dumped
    assert "dump of" not in result.stdout


def test_restore_runs_least_privileged_with_the_credentials_in_its_environment(monkeypatch):
    from types import SimpleNamespace

    from flashdrive.operations import backups

    created = {}

    class Container:
        def start(self):
            pass

        def wait(self):
            return {"StatusCode": 0}

        def logs(self, **kwargs):
            return b""

    def create(image, command, **kwargs):
        created.update(kwargs, image=image, command=command)
        return Container()

    client = SimpleNamespace(containers=SimpleNamespace(create=create), networks=None)
    monkeypatch.setattr(backups, "_client", lambda: client)
    monkeypatch.setattr(backups, "_container", lambda name: None)
    deployed = backups.DeployedStack.__new__(backups.DeployedStack)
    deployed.stack, deployed.job = "shop", "shop-backup"
    deployed.env = {"RESTIC_PASSWORD": "repo-secret", "RESTIC_REPOSITORY": "rest:http://writer:w-secret@x/",
                    "PATH": "/bin"}
    deployed.inspect = {"Config": {"Image": "restic"}}
    assert backups._one_off(deployed, "true").returncode == 0
    assert "secret" not in " ".join(created["command"])
    assert created["environment"] == {"RESTIC_PASSWORD": "repo-secret",
                                      "RESTIC_REPOSITORY": "rest:http://writer:w-secret@x/"}
    assert created["cap_drop"] == ["ALL"] and set(created["cap_add"]) == {"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"}
    assert created["security_opt"] == ["no-new-privileges:true"] and created["pids_limit"] == 512


@pytest.mark.parametrize(("code", "stderr", "none_yet"), [
    (10, "Fatal: repository does not exist: unable to open config file: stat /repository/config: no such file", True),
    (1, "Fatal: unable to open config file: Stat: stat /repository/config: no such file or directory\n"
        "Is there a repository at the following location?\n/repository", True),
    (1, "Fatal: repository does not exist", True),
    (10, "", True),
    (1, "Fatal: wrong password or no key found", False),
    (1, "Fatal: unable to create lock in backend: repository is already locked by PID 12", False),
])
def test_no_repository_yet_is_told_apart_from_a_failing_restic(code, stderr, none_yet, tmp_path):
    assert restic_found_no_repository(code, stderr) is none_yet
    # The shell form (the Kubernetes preview's seed) agrees on restic's words, whatever its exit code.
    saved = tmp_path / "error"
    saved.write_text(stderr)
    said = subprocess.run(["sh", "-c", grep_no_repository(str(saved))]).returncode == 0
    assert said is restic_found_no_repository(1, stderr)
