"""`cron:` on a cluster: a CronJob per job that never runs twice at once, stops at the job's timeout,
and runs pods exactly like the app's copies; every manifest passes the official schemas strictly."""

from __future__ import annotations

import kubernetes_validate
from test_kubernetes_schema import validate
import pytest
import yaml
from _k8s_helpers import env_of, objects, plan_for, pod_templates

from flashdrive.plan import render
from flashdrive.plan.manifests import manifests

SPEC = """\
version: 1
stack: shop
backend: kubernetes
kubernetes: {storage_class: standard-rwx}
apps:
  web:
    image: ghcr.io/acme/web:1.4
    size: m
    env:
      SECRET_KEY: {generate: secret}
      PLAIN: hello
    disks: [{name: media, mount: /app/media, size_gb: 4}]
    cron:
      - {name: clearsessions, schedule: "@daily", command: python manage.py clearsessions, timeout_s: 1800}
      - {name: report, schedule: "*/15 9-17 * * mon-fri", command: ./report.sh}
  inventory-synchronisation-api:
    image: ghcr.io/acme/api:2
    egress: false
    cron:
      - name: nightly-inventory-sync-job
        schedule: "0 * * * *"
        command: ./sync.sh
  quiet:
    image: ghcr.io/acme/quiet:1
    type: worker
"""


@pytest.fixture
def plan(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text(SPEC)
    return plan_for(spec)


def cron_jobs(plan) -> dict[str, dict]:
    return {name: manifest for (kind, name), manifest in objects(plan).items()
            if kind == "CronJob" and manifest["metadata"]["labels"]["app.kubernetes.io/component"] == "cron"}


def test_each_job_is_a_cron_job_that_never_overlaps_and_stops_at_its_timeout(plan):
    jobs = cron_jobs(plan)
    assert sorted(jobs) == ["inventory-synchronisation-api-nightly-inven-6a638f43", "web-clearsessions", "web-report"]
    clear = jobs["web-clearsessions"]["spec"]
    assert clear["schedule"] == "0 0 * * *" and clear["timeZone"] == "Etc/UTC"
    assert clear["concurrencyPolicy"] == "Forbid"
    assert clear["startingDeadlineSeconds"] == 60
    assert (clear["successfulJobsHistoryLimit"], clear["failedJobsHistoryLimit"]) == (3, 3)
    assert clear["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 1800
    assert clear["jobTemplate"]["spec"]["backoffLimit"] == 0
    assert jobs["web-report"]["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 3600
    assert jobs["web-report"]["spec"]["schedule"] == "*/15 9-17 * * mon-fri"


def test_a_job_pod_is_the_apps_pod_with_the_jobs_command_and_no_service_traffic(plan):
    deployment = objects(plan)[("Deployment", "web")]
    copy = next(pod_templates(deployment))
    run = next(pod_templates(cron_jobs(plan)["web-report"]))
    container, app_container = run["spec"]["containers"][0], copy["spec"]["containers"][0]
    assert container["args"] == ["/bin/sh", "-c", "./report.sh"]
    assert run["spec"]["restartPolicy"] == "Never"
    for key in ("image", "resources", "securityContext", "volumeMounts"):
        assert container[key] == app_container[key], key
    for key in ("securityContext", "volumes", "automountServiceAccountToken", "enableServiceLinks"):
        assert run["spec"][key] == copy["spec"][key], key
    env, app_env = env_of(container), env_of(app_container)
    assert env["SECRET_KEY"] == app_env["SECRET_KEY"]  # from the app's Secret, never inline
    assert "secretKeyRef" in env["SECRET_KEY"]["valueFrom"]
    assert env["PLAIN"] == {"name": "PLAIN", "value": "hello"}
    assert env["FLASHDRIVE_NODE"] == {"name": "FLASHDRIVE_NODE", "value": "cron"}
    # The Service selects the copies by component; a job's pod is component cron.
    service = objects(plan)[("Service", "web")]
    labels = run["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "cron" and labels["flashdrive.dev/cron-job"] == "report"
    assert not all(labels.get(k) == v for k, v in service["spec"]["selector"].items())
    assert labels["flashdrive.dev/egress"] == "true"
    api_run = next(pod_templates(cron_jobs(plan)["inventory-synchronisation-api-nightly-inven-6a638f43"]))
    assert api_run["metadata"]["labels"]["flashdrive.dev/egress"] == "false"


def test_a_long_cron_job_name_is_cut_to_what_the_controller_accepts():
    from flashdrive.kubernetes.cron import cron_job_name
    from flashdrive.model.stack import ResolvedCronJob

    job = ResolvedCronJob("j" * 30, "a" * 40, "@daily", "0 0 * * *", "true", 60)
    name = cron_job_name(job)
    assert len(name) == 52 and name.startswith("a" * 40 + "-j")
    assert cron_job_name(ResolvedCronJob("k" * 30, "a" * 40, "@daily", "0 0 * * *", "true", 60)) != name


@pytest.mark.parametrize("version", ["1.29", kubernetes_validate.utils.latest_version()])
def test_every_manifest_passes_strict_schema_validation(plan, version):
    documents = [d for d in yaml.safe_load_all(render(plan, "yaml")) if d]
    assert any(d["kind"] == "CronJob" for d in documents)
    failures = []
    for document in documents:
        try:
            validate(document, version)  # cert-manager kinds against their CRD schemas
        except kubernetes_validate.ValidationError as error:
            failures.append(f"{document['kind']}/{document['metadata']['name']}: {error.message}")
    assert failures == []


def test_removing_a_job_removes_its_cron_job(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text(SPEC.replace('      - {name: report, schedule: "*/15 9-17 * * mon-fri", command: ./report.sh}\n', ""))
    assert sorted(cron_jobs(plan_for(spec))) == ["inventory-synchronisation-api-nightly-inven-6a638f43", "web-clearsessions"]


def test_the_plan_text_and_markdown_show_the_jobs(plan):
    assert "=> jobs: {\"clearsessions\": \"@daily\", \"report\": \"*/15 9-17 * * mon-fri\"}" in render(plan, "text")
    assert "Jobs (UTC): `clearsessions` @daily, `report` */15 9-17 * * mon-fri" in render(plan, "markdown")
    # + the backup job, its prune job and its restore drill
    assert len([m for m in manifests(plan) if m["kind"] == "CronJob"]) == len(cron_jobs(plan)) + 3
