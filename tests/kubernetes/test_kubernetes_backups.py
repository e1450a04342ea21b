"""Backups on a cluster: a restic CronJob with the spec's schedule and retention, database dumps
that fail the run when they fail, and a repository only the backup pods can reach."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from _k8s_helpers import MARKET, containers, env_of, objects, plan_for, pod_templates
from flashdrive.kubernetes.backup import dump_command
from flashdrive.model import resolve
from flashdrive.plan.manifests import manifests
from flashdrive.plan.wire_values import SECRET
from flashdrive.pipeline import check_spec


def _backup_pod(plan) -> dict:
    return next(pod_templates(objects(plan)[("CronJob", "backup")]))["spec"]


def test_backups_run_on_the_spec_schedule_and_keep_its_days_of_history(shop, market):
    cron_job = objects(market)[("CronJob", "backup")]["spec"]
    assert cron_job["schedule"] == "30 2 * * *"
    assert cron_job["concurrencyPolicy"] == "Forbid"
    script = _backup_pod(market)["containers"][0]["command"][-1]
    assert "restic backup --host market --tag flashdrive --exclude '/backup/disks/*/lost+found' /backup" in script
    assert "forget" not in script  # the backup pod never deletes
    assert objects(shop)[("CronJob", "backup")]["spec"]["schedule"] == "0 3 * * *"
    prune = objects(market)[("ConfigMap", "backup-prune")]["data"]["prune.sh"]
    assert "keep 30 days of received snapshots" in prune and "--keep-" not in prune
    for plan in (shop, market):
        for name in ("backup", "backup-prune"):
            assert objects(plan)[("CronJob", name)]["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] > 0


def test_a_run_that_could_not_read_some_files_is_a_warning_not_a_failure(tmp_path, market):
    script = _backup_pod(market)["containers"][0]["command"][-1]
    for code, expected in ((0, 0), (3, 0), (1, 1), (12, 12)):
        stub = tmp_path / "restic"
        stub.write_text(f'#!/bin/sh\ncase "$1" in backup) exit {code};; esac\nexit 0\n')
        stub.chmod(0o755)
        result = subprocess.run(["sh", "-c", script], capture_output=True, text=True,
                                env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"})
        assert result.returncode == expected, (code, result.stderr)
        assert ("WARNING: some files could not be read" in result.stderr) == (code == 3)


def test_the_backup_pod_writes_through_the_append_only_server_and_only_the_prune_deletes(shop):
    found = objects(shop)
    server = found[("Deployment", "backup-server")]["spec"]["template"]["spec"]
    command = server["containers"][0]["command"]
    assert command[:4] == ["rclone", "serve", "restic", "--append-only"]
    assert not any("pass" in part.lower() for part in command), "the password stays off the command line"
    assert env_of(server["containers"][0])["RCLONE_PASS"]["valueFrom"] == {
        "secretKeyRef": {"name": "backup", "key": "RCLONE_PASS"}}
    assert found[("Service", "backup-server")]["spec"]["ports"][0]["port"] == 8000
    backup_env = env_of(_backup_pod(shop)["containers"][0])
    assert backup_env["RESTIC_REPOSITORY"]["valueFrom"]["secretKeyRef"]["key"] == "RESTIC_REPOSITORY"
    prune = next(pod_templates(found[("CronJob", "backup-prune")]))["spec"]
    assert env_of(prune["containers"][0])["RESTIC_REPOSITORY"] == {"name": "RESTIC_REPOSITORY", "value": "/repository"}
    assert prune["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["labelSelector"] == {
        "matchLabels": {"app.kubernetes.io/name": "backup-server"}}
    # No network: a policy that selects the prune pod and allows nothing.
    policy = found[("NetworkPolicy", "backup-prune-no-network")]["spec"]
    assert policy == {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "backup-prune",
                                                      "app.kubernetes.io/component": "backup"}},
                      "policyTypes": ["Ingress", "Egress"]}


def test_the_repository_is_a_retained_claim_mounted_by_the_backup_pods_only(shop):
    claim = shop.get("shop-backup-backups", "kubernetes:core/v1:PersistentVolumeClaim")
    assert claim.retain_on_delete
    # Two days of history per byte backed up: disks (2) + main (10) + cache (5).
    assert claim.inputs["spec"]["resources"]["requests"]["storage"] == "34G"
    mounted_by = []
    for manifest in manifests(shop):
        for template in pod_templates(manifest):
            claims = [v["persistentVolumeClaim"]["claimName"] for v in template["spec"].get("volumes", [])
                      if "persistentVolumeClaim" in v]
            if "shop-backup-backups" in claims:
                mounted_by.append(manifest["metadata"]["name"])
    assert sorted(mounted_by) == ["backup-prune", "backup-server"]


def test_the_repository_password_is_read_by_the_backup_pods_only_and_outlives_the_stack(shop):
    assert shop.get("shop-backup", "kubernetes:core/v1:Secret").retain_on_delete
    readers = set()
    for manifest in manifests(shop):
        for template in pod_templates(manifest):
            for container in containers(template["spec"]):
                for item in container.get("env", []):
                    if item.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == "backup":
                        readers.add((manifest["metadata"]["name"], container["name"]))
    assert readers == {("backup", "restic"), ("backup-drill", "drill"), ("backup-prune", "prune"),
                       ("backup-server", "rclone")}
    assert objects(shop)[("Secret", "backup")]["stringData"] == {
        "RESTIC_PASSWORD": SECRET, "RESTIC_REPOSITORY": SECRET, "RCLONE_PASS": SECRET}


def test_disks_are_backed_up_read_only(market):
    pod = _backup_pod(market)
    claims = {v["name"]: v["persistentVolumeClaim"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
    assert claims == {"disk-uploads": {"claimName": "market-disk-uploads", "readOnly": True},
                      "disk-reports": {"claimName": "market-disk-reports", "readOnly": True}}
    mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["disk-uploads"] == {"name": "disk-uploads", "mountPath": "/backup/disks/uploads", "readOnly": True}


def test_each_database_is_dumped_with_its_engine_tool_before_restic_runs(shop, market):
    dumps = {c["name"]: c for c in _backup_pod(shop)["initContainers"] + _backup_pod(market)["initContainers"]}
    assert set(dumps) == {"dump-main", "dump-cache", "dump-orders", "dump-catalog"}
    assert "pg_dump -h main -p 5432 -U main -d main --format=custom" in dumps["dump-main"]["command"][-1]
    assert "mysqldump --single-transaction" in dumps["dump-orders"]["command"][-1]
    assert "mongodump --config=/tmp/mongodump.yaml" in dumps["dump-catalog"]["command"][-1]
    assert "--gzip --archive=" in dumps["dump-catalog"]["command"][-1]
    assert "redis-cli -h cache -p 6379 --rdb" in dumps["dump-cache"]["command"][-1]
    assert dumps["dump-main"]["image"] == "postgres:16"
    assert env_of(dumps["dump-main"])["PGPASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": "main-credentials", "key": "password"}}
    assert env_of(dumps["dump-cache"])["REDISCLI_AUTH"]["valueFrom"]["secretKeyRef"]["name"] == "cache-credentials"


def _stub(directory, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.mark.parametrize("engine_db, tool", [("orders", "mysqldump"), ("catalog", "mongodump")])
def test_a_failed_dump_fails_the_run_and_leaves_no_dump(tmp_path, engine_db, tool):
    db = resolve(*check_spec(MARKET)).databases[engine_db]
    bin_dir, out = tmp_path / "bin", tmp_path / "dumps"
    bin_dir.mkdir(), out.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "DB_PASSWORD": "pw"}
    script = dump_command(db, directory=str(out)).replace("/tmp/mongodump.yaml", str(tmp_path / "m.yaml"))

    _stub(bin_dir, tool, "echo 'connection refused' >&2; exit 2\n")
    failed = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)
    assert failed.returncode != 0
    assert "connection refused" in failed.stderr
    assert [p.name for p in out.iterdir() if not p.name.endswith(".partial")] == []

    # The tool's own output file: --result-file=... for mysqldump, --archive=... for mongodump.
    _stub(bin_dir, tool,
          'for a in "$@"; do case "$a" in --result-file=*|--archive=*) echo dump > "${a#*=}";; esac; done\n')
    succeeded = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)
    assert succeeded.returncode == 0, succeeded.stderr
    assert [p.name for p in out.iterdir() if not p.name.endswith(".partial")] == [
        f"{engine_db}.{'sql' if tool == 'mysqldump' else 'archive.gz'}"]


def test_an_s3_target_takes_its_credentials_from_the_backup_secret(market):
    env = env_of(_backup_pod(market)["containers"][0])
    assert env["RESTIC_REPOSITORY"]["value"] == "s3:https://s3.eu-west-1.amazonaws.com/acme-backups/market"
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "RESTIC_PASSWORD"):
        assert env[key]["valueFrom"] == {"secretKeyRef": {"name": "backup", "key": key}}
    assert ("PersistentVolumeClaim", "market-backup-backups") not in objects(market)
    # A remote repository shows no receipt times: the prune keeps its own ledger of first sightings.
    prune = next(pod_templates(objects(market)[("CronJob", "backup-prune")]))["spec"]
    assert {"name": "ledger", "mountPath": "/ledger"} in prune["containers"][0]["volumeMounts"]
    assert "restic list snapshots" in objects(market)[("ConfigMap", "backup-prune")]["data"]["received.sh"]


def test_a_rest_target_with_a_password_keeps_the_whole_url_secret(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text("version: 1\nstack: s\nbackend: kubernetes\napps:\n  web:\n    image: nginx:1\n"
                    "    disks: [{name: media, mount: /media, size_gb: 1}]\n"
                    "backups: {target: {rest: {url: 'https://backup.example.com/s', password: {config: restPw}}}}\n")
    plan = plan_for(spec, config={"restPw": "rest-password-value"})
    env = env_of(_backup_pod(plan)["containers"][0])
    assert env["RESTIC_REPOSITORY"]["valueFrom"] == {"secretKeyRef": {"name": "backup", "key": "RESTIC_REPOSITORY"}}
    assert "rest-password-value" not in str(manifests(plan))


def test_no_backup_job_when_backups_are_disabled_or_there_is_nothing_to_back_up(tmp_path):
    for extra, disks in (("backups: {enabled: false}\n", "    disks: [{name: m, mount: /m, size_gb: 1}]\n"),
                         ("", "")):
        spec = tmp_path / "flashdrive.yaml"
        spec.write_text(f"version: 1\nstack: s\nbackend: kubernetes\n{extra}apps:\n  web:\n    image: nginx:1\n{disks}")
        assert not plan_for(spec).by_type("kubernetes:batch/v1:CronJob")


def test_the_diagram_draws_the_backup_server_as_part_of_backups_not_as_an_app(shop):
    from flashdrive.plan.mermaid import render_mermaid

    diagram = render_mermaid(shop)
    assert "backup-server" not in diagram and "10 days kept" in diagram


def test_a_weekly_restore_drill_checks_the_latest_run_with_the_writer_s_credentials(shop, market):
    found = objects(shop)
    drill = found[("CronJob", "backup-drill")]["spec"]
    assert drill["schedule"] == "0 5 * * 0"
    assert drill["concurrencyPolicy"] == "Forbid" and drill["jobTemplate"]["spec"]["activeDeadlineSeconds"] > 0
    pod = next(pod_templates(found[("CronJob", "backup-drill")]))["spec"]
    container = pod["containers"][0]
    assert container["image"] == _backup_pod(shop)["containers"][0]["image"]  # the servers are in the backup image
    assert container["command"] == ["/bin/sh", "/flashdrive/drill.sh"]
    # The writer's credentials, through the append-only server: a drill never holds a right to delete.
    assert env_of(container)["RESTIC_REPOSITORY"]["valueFrom"]["secretKeyRef"]["key"] == "RESTIC_REPOSITORY"
    assert not any("persistentVolumeClaim" in v for v in pod["volumes"]), "no disk, no repository mounted"
    # Scratch servers refuse root and need a user the image knows: nobody, on a read-only root.
    assert pod["securityContext"]["runAsUser"] == 65534 and container["securityContext"]["readOnlyRootFilesystem"]
    script = found[("ConfigMap", "backup-drill")]["data"]["drill.sh"]
    # One snapshot per run on Kubernetes (tag flashdrive): each item at its path inside it.
    assert "drill_disk media flashdrive /backup/disks/media" in script
    assert "drill_database main postgres flashdrive /backup/databases/main.pgdump" in script
    assert "drill_database cache redis flashdrive /backup/databases/cache.rdb" in script
    assert "restic check --no-lock --read-data" in script
    market_script = objects(market)[("ConfigMap", "backup-drill")]["data"]["drill.sh"]
    assert "drill_database catalog mongodb flashdrive /backup/databases/catalog.archive.gz" in market_script
    assert "drill_database orders mysql flashdrive /backup/databases/orders.sql" in market_script


def test_the_drill_s_schedule_is_backups_verify(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text("version: 1\nstack: s\napps:\n  web: {image: nginx}\ndatabases:\n  main: {engine: postgres}\n"
                    "backups: {verify: \"0 6 1 * *\"}\n")
    assert objects(plan_for(spec))[("CronJob", "backup-drill")]["spec"]["schedule"] == "0 6 1 * *"
