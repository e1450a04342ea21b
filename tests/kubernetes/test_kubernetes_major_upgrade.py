"""A database's major upgrade on Kubernetes (`upgraded_from`): the old major's StatefulSet stops
(0 replicas) and keeps its claim, a Job copies with the new major's client, and the new major's
StatefulSet starts on a claim of its own only after the Job. Every manifest passes the schemas."""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml
from _k8s_helpers import containers, env_of, objects, plan_for, pod_templates
from test_kubernetes_schema import validate

from flashdrive.plan import render

JOB = "kubernetes:batch/v1:Job"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"

SPEC = """\
version: 1
stack: shop
backend: kubernetes
apps:
  web:
    image: ghcr.io/acme/web:1.4
    env: {DATABASE_URL: "${databases.main.url}"}
databases:
  main: {engine: postgres, version: "17", upgraded_from: ["15"]}
"""


MYSQL = 'mysql, version: "8.4", upgraded_from: ["8.0"]'


@pytest.fixture
def plan(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text(SPEC)
    return plan_for(spec)


@pytest.fixture
def mysql_plan(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text(SPEC.replace('postgres, version: "17", upgraded_from: ["15"]', MYSQL))
    return plan_for(spec)


def test_the_old_major_stops_and_keeps_its_claim_and_the_new_one_starts_after_the_copy(plan):
    found = objects(plan)
    old, new = found[("StatefulSet", "shop-db-main")], found[("StatefulSet", "shop-db-main-pg17")]
    assert old["spec"]["replicas"] == 0 and new["spec"]["replicas"] == 1
    old_pod, new_pod = next(pod_templates(old))["spec"], next(pod_templates(new))["spec"]
    assert containers(old_pod)[0]["image"] == "postgres:15" and containers(new_pod)[0]["image"] == "postgres:17"
    claim_of = {pod: next(v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"] if "persistentVolumeClaim" in v)
                for pod, spec in (("old", old_pod), ("new", new_pod))}
    assert claim_of == {"old": "shop-db-main", "new": "shop-db-main-pg17"}
    assert all(r.retain_on_delete for r in plan.resources if r.type.endswith("PersistentVolumeClaim")
               and r.name.startswith("shop-db-main"))
    job = plan.get("shop-db-main-pg17-upgrade-from-15", JOB)
    assert plan.get("shop-db-main", STATEFUL_SET).urn in job.depends_on
    assert job.urn in plan.get("shop-db-main-pg17", STATEFUL_SET).depends_on


def test_the_job_runs_the_old_server_beside_the_new_one_and_copies_with_the_new_client(plan):
    job = objects(plan)[("Job", "main-upgrade-15-17")]
    assert job["spec"]["backoffLimit"] == 0
    pod = next(pod_templates(job))["spec"]
    old, copy = containers(pod)
    assert (old["image"], copy["image"]) == ("postgres:15", "postgres:17")
    assert "postgres -p 5433 -c listen_addresses=127.0.0.1" in old["command"][2]
    assert "pg_dumpall --host 127.0.0.1 --port 5433" in copy["command"][2]
    assert env_of(old)["PGDATA"]["value"] == "/var/lib/postgresql/data/pgdata"
    assert env_of(copy)["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "password"
    mounts = {m["mountPath"]: m for m in copy["volumeMounts"]}
    assert mounts["/old"]["readOnly"] is True
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
    assert claims == {"old": "shop-db-main", "new": "shop-db-main-pg17"}


def test_the_job_marks_the_new_claim_in_progress_and_refuses_one_holding_data_without_a_mark(plan):
    job = objects(plan)[("Job", "main-upgrade-15-17")]
    script = containers(next(pod_templates(job))["spec"])[1]["command"][2]
    mark = script.index("*) touch /var/lib/postgresql/data/.flashdrive-upgrade-in-progress || exit 1 ;;")
    assert script.index("foreign) echo 'error: claim shop-db-main-pg17 holds data but no mark") < mark
    assert mark < script.index("rm -rf /var/lib/postgresql/data/pgdata ")
    # The look counts the in-progress file as the copy's own; the finished marker replaces it.
    assert "[ -e /var/lib/postgresql/data/.flashdrive-upgrade-in-progress ]" in script
    assert script.index("> /var/lib/postgresql/data/.flashdrive-upgrade\n") < script.index(
        "rm -f /var/lib/postgresql/data/.flashdrive-upgrade-in-progress")


def test_the_copy_job_runs_once_per_pair_of_majors_whatever_else_changes_later(plan):
    job = plan.get("shop-db-main-pg17-upgrade-from-15", JOB)
    # Size, image tag or pull secrets changed later would replace a Job (its template is immutable)
    # and run a second copy container on the live claim.
    assert job.ignore_changes == ("spec",)
    assert job.inputs["metadata"]["name"] == "main-upgrade-15-17"


def test_the_old_server_in_the_job_starts_only_once_the_old_pod_s_server_is_gone(plan):
    job = objects(plan)[("Job", "main-upgrade-15-17")]
    old = containers(next(pod_templates(job))["spec"])[0]["command"][2]
    # A clean stop removes postmaster.pid; past the old pod's 120 s grace the kubelet has killed it.
    wait = old.index('while [ -e /var/lib/postgresql/data/pgdata/postmaster.pid ] && [ "$waited" -lt 150 ]')
    assert wait < old.index("docker-entrypoint.sh postgres -p 5433")


def test_the_plan_says_what_the_deploy_does(plan):
    text = render(plan, "text")
    assert "Major upgrades:\n    main: postgres 15 → 17: when claim shop-db-main-pg17 is new, the deploy stops" in text


def test_a_mysql_lts_step_copies_in_a_job_with_both_servers_on_their_claims_data_folder(mysql_plan):
    found = objects(mysql_plan)
    old_set, new_set = found[("StatefulSet", "shop-db-main")], found[("StatefulSet", "shop-db-main-mysql84")]
    assert old_set["spec"]["replicas"] == 0 and new_set["spec"]["replicas"] == 1
    job = found[("Job", "main-upgrade-8-0-8-4")]
    old, copy = containers(next(pod_templates(job))["spec"])
    assert (old["image"], copy["image"]) == ("mysql:8.0", "mysql:8.4")
    # Options only: the image's entrypoint puts its server in front; the data one level down (lost+found).
    assert ("docker-entrypoint.sh --port=5433 --bind-address=127.0.0.1 --loose-mysqlx=OFF "
            "--datadir=/var/lib/mysql/data &") in old["command"][2]
    assert 'kill -TERM "$pid"' in old["command"][2]  # mysqld ignores SIGINT
    script = copy["command"][2]
    assert "docker-entrypoint.sh --datadir=/var/lib/mysql/data &" in script
    assert "rm -rf /var/lib/mysql/data /var/lib/mysql/.flashdrive-upgrade" in script
    assert "export MYSQL_DATABASE=main" in script
    assert "[ -s /old/data/ibdata1 ]" in script
    assert "exec mysqldump --host 127.0.0.1 --port 5433 --user root" in script
    assert env_of(copy)["MYSQL_ROOT_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "root-password"
    assert env_of(old)["MYSQL_ROOT_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "root-password"
    text = render(mysql_plan, "text")
    assert "main: mysql 8.0 → 8.4: when claim shop-db-main-mysql84 is new, the deploy stops the 8.0 server" in text


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
@pytest.mark.parametrize("version", ["1.29", kubernetes_validate.utils.latest_version()])
def test_every_manifest_of_an_upgrade_passes_strict_schema_validation(plan, mysql_plan, engine, version):
    plan = mysql_plan if engine == "mysql" else plan
    documents = [d for d in yaml.safe_load_all(render(plan, "yaml")) if d]
    assert any(d["kind"] == "Job" for d in documents)
    failures = []
    for document in documents:
        try:
            validate(document, version)
        except kubernetes_validate.ValidationError as error:
            failures.append(f"{document['kind']}/{document['metadata']['name']}: {error.message}")
    assert failures == []
