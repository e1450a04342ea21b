"""What a real cluster does with the manifests, beyond the schemas: release Jobs that a failure does
not wedge, disks that a copy can write (or a start that says why not), copies spread over nodes
and kept through drains, databases given the memory and time they need."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from _k8s_helpers import objects, plan_for, pod_templates

from flashdrive.labels import docker_labels
from flashdrive.kubernetes.disk import write_check
from flashdrive.plan.manifests import manifests
from flashdrive.spec.sizes import SIZES

JOB = "kubernetes:batch/v1:Job"


def _spec(tmp_path, body: str, kubernetes: str = "{registry: r.example.com/s, storage_class: rwx}"):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text(f"version: 1\nstack: s\nbackend: kubernetes\ntls: {{email: a@example.com}}\n"
                    f"kubernetes: {kubernetes}\n{body}")
    return plan_for(spec)


# ---- release Jobs


def test_a_failed_release_job_is_replaced_by_the_next_deploy_not_waited_on(shop):
    job = next(r for r in shop.resources if r.type == JOB)
    # pulumi-kubernetes replaces a Job that is not ready (failed) instead of awaiting it forever.
    assert job.inputs["metadata"]["annotations"] == {"pulumi.com/replaceUnready": "true"}
    # Its name is fixed by the release: the failed one must go before the new one is created.
    assert job.delete_before_replace
    assert job.inputs["spec"]["backoffLimit"] == 0


def test_a_release_may_run_for_the_spec_s_timeout_and_not_longer(shop, tmp_path):
    job = next(r for r in shop.resources if r.type == JOB)
    assert job.custom_timeouts == {"create": "1800s", "update": "1800s"}
    assert job.inputs["spec"]["activeDeadlineSeconds"] == 1800
    plan = _spec(tmp_path, "apps:\n  web:\n    image: nginx:1\n    port: 80\n    release: ./migrate\n",
                 "{release_timeout_s: 5400}")
    job = next(r for r in plan.resources if r.type == JOB)
    assert job.custom_timeouts == {"create": "5400s", "update": "5400s"}
    assert job.inputs["spec"]["activeDeadlineSeconds"] == 5400


# ---- disks


def test_app_and_backup_pods_change_a_disk_s_group_only_when_its_root_does_not_have_it(shop):
    kinds = set()
    for manifest in manifests(shop):
        if manifest["kind"] in ("Deployment", "Job", "CronJob"):
            kinds.add(manifest["kind"])
            [template] = pod_templates(manifest)
            context = template["spec"]["securityContext"]
            assert context["fsGroup"] == 10001
            assert context["fsGroupChangePolicy"] == "OnRootMismatch"
    assert kinds == {"Deployment", "Job", "CronJob"}


def test_a_copy_checks_its_writable_disks_before_it_starts(shop):
    pod = objects(shop)[("Deployment", "web")]["spec"]["template"]["spec"]
    [check] = pod["initContainers"]
    assert check["name"] == "disk-check"
    assert check["image"] == pod["containers"][0]["image"]
    assert check["volumeMounts"] == [{"name": "disk-media", "mountPath": "/app/media"}]
    assert "check media shop-disk-media /app/media" in check["command"][2]
    assert "kubernetes.storage_class 'standard-rwx'" in check["command"][2]
    # A worker without a disk has nothing to check.
    assert "initContainers" not in objects(shop)[("Deployment", "worker")]["spec"]["template"]["spec"]


def _run_as_app_user(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["setpriv", "--reuid=10001", "--regid=10001", "--clear-groups", "sh", "-c", script],
                          capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.skipif(os.geteuid() != 0,
                    reason="switching to the app's uid needs root")
def test_the_disk_check_names_the_disk_and_the_storage_class_fix_when_a_disk_is_not_writable():
    # Not under tmp_path: pytest's base folder is closed to other users.
    root = Path(tempfile.mkdtemp(prefix="flashdrive-disk-check-"))
    root.chmod(0o755)
    try:
        _check_disks(root)
    finally:
        shutil.rmtree(root)


def _check_disks(root: Path) -> None:
    writable, foreign = root / "writable", root / "foreign"
    writable.mkdir()
    foreign.mkdir()
    os.chown(writable, 10001, 10001)
    foreign.chmod(0o755)  # root's, as an NFS export that ignored fsGroup
    script = write_check([("media", "s-disk-media", str(writable)), ("logs", "s-disk-logs", str(foreign))],
                         "efs-sc", 10001)
    failed = _run_as_app_user(script)
    assert failed.returncode == 1
    lines = failed.stderr.splitlines()
    assert lines[0] == (f"error: disk 'logs' (claim s-disk-logs) is mounted at {foreign}, but this pod "
                        "(uid 10001, groups 10001) cannot write to it")
    assert lines[1].startswith("why: the volume is not owned by group 10001")
    assert lines[2].startswith("fix: make kubernetes.storage_class 'efs-sc' create volumes owned by uid and gid 10001")
    assert 'uid: "10001", gid: "10001"' in lines[2]
    assert len(lines) == 3
    assert list(writable.iterdir()) == []  # the probe file is gone
    os.chown(foreign, 10001, 10001)
    passed = _run_as_app_user(script)
    assert (passed.returncode, passed.stderr) == (0, "")


def test_a_shared_disk_without_a_storage_class_is_warned_about_before_the_claim_stays_pending(tmp_path):
    body = "apps:\n  web:\n    image: nginx:1\n    port: 80\n    nodes: 2\n" \
           "    disks: [{name: media, mount: /media, size_gb: 1}]\n"
    warned = [m for severity, m in _spec(tmp_path, body, "{ingress_class: nginx}").logs if severity == "warning"]
    assert len(warned) == 1
    assert warned[0].startswith("disk 'media' is shared by copies on several nodes (ReadWriteMany), and "
                                "kubernetes.storage_class is not set")
    assert [m for severity, m in _spec(tmp_path, body, "{storage_class: efs}").logs if severity == "warning"] == []


# ---- copies across nodes


def test_copies_of_an_app_spread_over_nodes_and_a_drain_keeps_all_but_one(shop):
    found = objects(shop)
    spread = found[("Deployment", "web")]["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert spread == [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
                       "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "web",
                                                         "app.kubernetes.io/component": "web"}},
                       "matchLabelKeys": ["pod-template-hash"], "nodeTaintsPolicy": "Honor"}]
    budget = found[("PodDisruptionBudget", "web")]["spec"]
    assert budget["maxUnavailable"] == 1
    assert budget["selector"] == {"matchLabels": {"app.kubernetes.io/name": "web", "app.kubernetes.io/component": "web"}}
    # A single copy has nothing to spread, and a budget would block every drain.
    assert "topologySpreadConstraints" not in found[("Deployment", "worker")]["spec"]["template"]["spec"]
    assert ("PodDisruptionBudget", "worker") not in found


def test_the_plan_says_how_each_app_rolls_and_a_read_write_once_disk_cannot_deadlock(market, shop):
    found = objects(market)
    cron = found[("Deployment", "cron")]
    rollout = cron["metadata"]["annotations"]["flashdrive.dev/rollout"]
    assert rollout.startswith("rolling on one node: disk 'reports' is ReadWriteOnce")
    # The new copy surges beside the old one on the node that holds the claim (pods of one node
    # share a ReadWriteOnce claim), so the old copy never has to let go first.
    assert cron["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    affinity = cron["spec"]["template"]["spec"]["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert affinity == [{"labelSelector": {"matchLabels": {"app.kubernetes.io/name": "cron"}},
                         "topologyKey": "kubernetes.io/hostname"}]
    assert found[("Deployment", "api")]["metadata"]["annotations"]["flashdrive.dev/rollout"].startswith(
        "rolling: one new copy at a time, each on another node")
    assert objects(shop)[("Deployment", "worker")]["metadata"]["annotations"]["flashdrive.dev/rollout"] == (
        "rolling: the new copy starts beside the old one, which stops once its successor is ready")


# ---- databases


def test_postgres_gets_shared_memory_sized_from_its_size(tmp_path):
    plan = _spec(tmp_path, "databases:\n  main: {engine: postgres, size: l}\n  small: {engine: postgres, size: xs}\n")
    assert SIZES["l"].memory_mib // 4 > 64 >= SIZES["xs"].memory_mib // 4
    for name, mib in (("main", SIZES["l"].memory_mib // 4), ("small", 64)):
        pod = objects(plan)[("StatefulSet", f"s-db-{name}")]["spec"]["template"]["spec"]
        assert {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": f"{mib}Mi"}} in pod["volumes"]
        assert {"name": "shm", "mountPath": "/dev/shm"} in pod["containers"][0]["volumeMounts"]


def test_databases_have_minutes_to_recover_and_to_shut_down_cleanly(market):
    for manifest in manifests(market):
        if manifest["kind"] == "StatefulSet":
            assert manifest["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 120
            # A StatefulSet stops its pod before it starts the next: never two servers on one claim.
            assert manifest["spec"].get("podManagementPolicy", "OrderedReady") == "OrderedReady"
            container = manifest["spec"]["template"]["spec"]["containers"][0]
            startup = container["startupProbe"]
            assert startup["periodSeconds"] * startup["failureThreshold"] == 600
            assert startup["exec"] == container["livenessProbe"]["exec"]


ENGINES = "databases:\n  pg: {engine: postgres}\n  my: {engine: mysql}\n  mo: {engine: mongodb}\n  re: {engine: redis}\n"
TOOLS = ("redis-server", "redis-cli", "mysqladmin", "pg_isready", "mongosh", "mongo")


def _database_scripts(tmp_path, backend: str) -> list[str]:
    """Every shell script a database's container runs: its command and its health probes."""
    spec = tmp_path / f"{backend}.yaml"
    spec.write_text(f"version: 1\nstack: s\nbackend: {backend}\n{ENGINES}")
    plan = plan_for(spec, backend=backend)
    scripts = []
    if backend == "kubernetes":
        for manifest in manifests(plan):
            if manifest["kind"] == "StatefulSet":
                container = manifest["spec"]["template"]["spec"]["containers"][0]
                scripts += [container["args"][2]] if container.get("args", [""])[0] == "sh" else []
                scripts += [container[probe]["exec"]["command"][2]
                            for probe in ("startupProbe", "readinessProbe", "livenessProbe")]
    else:
        for resource in plan.resources:
            if resource.type == "docker:index/container:Container" \
                    and "flashdrive.database" in docker_labels(resource.inputs):
                command = resource.inputs.get("command") or []
                scripts += [command[2]] if command[:2] == ["sh", "-c"] else []
                test = resource.inputs["healthcheck"]["tests"]
                assert test[0] == "CMD-SHELL"
                scripts.append(test[1])
    return scripts


@pytest.mark.parametrize("backend", ["kubernetes", "docker"])
def test_no_database_process_is_handed_a_password_on_its_command_line(tmp_path, backend):
    # Run each planned script with stand-ins for the engines' tools that record what they are
    # given: what execve saw (and audit logs, and `ps` before a server renames itself) is argv.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # The TLS set-up before an engine's own entrypoint (owner and mode of its key) is recorded too.
    for tool in (*TOOLS, "chown", "chmod", "docker-entrypoint.sh"):
        fake = bin_dir / tool
        fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$(basename "$0")" "$@" >> {tmp_path}/argv\n'
                        f'[ "$(basename "$0")" = redis-server ] && cat >> {tmp_path}/stdin\n'
                        '[ "$(basename "$0")" = redis-cli ] && echo PONG\nexit 0\n')
        fake.chmod(0o755)
    password = "s3cretDatabasePassword0123456789"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "POSTGRES_USER": "pg", "POSTGRES_DB": "pg"}
    env.update({name: password for name in ("POSTGRES_PASSWORD", "MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD",
                                             "MONGO_INITDB_ROOT_PASSWORD", "REDIS_PASSWORD", "REDISCLI_AUTH")})
    scripts = _database_scripts(tmp_path, backend)
    for script in scripts:
        subprocess.run(["sh", "-c", script], env=env, stdin=subprocess.DEVNULL, check=True, timeout=30)
    argv = (tmp_path / "argv").read_text()
    assert {line for line in argv.splitlines() if line in TOOLS} == {"redis-server", "redis-cli", "mysqladmin",
                                                                    "pg_isready", "mongosh"}
    assert password not in argv
    # Redis, which has no password variable, reads it from its standard input.
    assert (tmp_path / "stdin").read_text() == f"requirepass {password}\n"


# ---- private registries


def test_every_pod_pulls_with_the_image_pull_secrets(tmp_path):
    plan = _spec(tmp_path, "apps:\n  web:\n    image: r.example.com/web:1\n    port: 80\n    release: ./migrate\n"
                           "    disks: [{name: media, mount: /media, size_gb: 1}]\n"
                           "databases:\n  main: {engine: postgres}\n",
                 "{image_pull_secrets: [regcred, mirror]}")
    kinds = set()
    for manifest in manifests(plan):
        for template in pod_templates(manifest):
            kinds.add(manifest["kind"])
            assert template["spec"]["imagePullSecrets"] == [{"name": "regcred"}, {"name": "mirror"}], manifest["kind"]
    assert kinds == {"Deployment", "Job", "StatefulSet", "CronJob"}


def test_the_text_plan_shows_how_long_a_release_may_run(shop):
    from flashdrive.plan import render
    text = render(shop, "text")
    job = text.index("+ kubernetes:batch/v1:Job  shop-web-release  [delete-before-replace]")
    assert "(timeouts: create 1800s, update 1800s)" in text[job:text.index("+ ", job + 2)]
