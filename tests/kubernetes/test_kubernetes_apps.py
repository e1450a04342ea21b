"""Apps on a cluster: Deployments of `nodes` hardened copies, Services named like the apps, env and
secrets, images, and the release Job that gates each rollout."""

from __future__ import annotations

import pytest

from _k8s_helpers import CLUSTER, containers, env_of, example_cases, objects, plan_for, pod_templates
from flashdrive.kubernetes.app import release_job_name
from flashdrive.plan.manifests import manifests
from flashdrive.plan.wire_values import SECRET

ALLOWED_VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                        "projected", "secret"}
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"


def _every_pod(plan):
    for manifest in manifests(plan):
        for template in pod_templates(manifest):
            yield f"{manifest['kind']}/{manifest['metadata']['name']}", template["spec"]


@pytest.mark.parametrize("which", ["shop", "market"])
def test_every_pod_meets_the_restricted_profile(which, request):
    pods = list(_every_pod(request.getfixturevalue(which)))
    assert {where.split("/")[0] for where, _ in pods} == {"Deployment", "StatefulSet", "Job", "CronJob"}
    for where, pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert pod["securityContext"].get("runAsUser") != 0, where
        assert not any(pod.get(key) for key in ("hostNetwork", "hostPID", "hostIPC")), where
        for volume in pod.get("volumes", []):
            assert set(volume) - {"name"} <= ALLOWED_VOLUME_TYPES, (where, volume)
        for container in containers(pod):
            context = container["securityContext"]
            label = f"{where} container {container['name']}"
            assert context["allowPrivilegeEscalation"] is False, label
            assert context["capabilities"] == {"drop": ["ALL"]}, label
            assert context["privileged"] is False, label
            assert context["runAsNonRoot"] is True, label
            assert context.get("runAsUser") != 0, label
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, label
            assert "ports" not in container or all("hostPort" not in p for p in container["ports"]), label


def test_the_namespace_enforces_the_restricted_profile_and_outlives_the_stack(market):
    namespace = objects(market)[("Namespace", "market-prod")]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    # Deleting a namespace deletes every claim in it: disks, database data, backups.
    assert market.get("market-namespace", "kubernetes:core/v1:Namespace").retain_on_delete


def test_an_app_is_a_deployment_of_nodes_copies_with_its_size_as_requests_and_limits(market):
    api = objects(market)[("Deployment", "api")]
    assert api["spec"]["replicas"] == 3
    container = api["spec"]["template"]["spec"]["containers"][0]
    size_m = {"cpu": "1000m", "memory": "1024Mi"}
    assert container["resources"] == {"requests": size_m, "limits": size_m}
    cron = objects(market)[("Deployment", "cron")]["spec"]["template"]["spec"]["containers"][0]
    assert cron["resources"]["limits"] == {"cpu": "250m", "memory": "256Mi"}


def test_rolling_updates_start_a_ready_copy_before_stopping_one(market):
    for name in ("api", "cron"):
        strategy = objects(market)[("Deployment", name)]["spec"]["strategy"]
        assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}


def test_web_copies_are_probed_with_the_host_and_scheme_of_their_public_traffic(market):
    container = objects(market)[("Deployment", "api")]["spec"]["template"]["spec"]["containers"][0]
    get = {"path": "/ready", "port": 9000, "scheme": "HTTP",
           "httpHeaders": [{"name": "Host", "value": "api.example.com"}, {"name": "X-Forwarded-Proto", "value": "https"}]}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe] == {"httpGet": get, "periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 4}
    # start_period_s 60 at a 5 s interval: 12 checks of grace before the 4 that count.
    assert container["startupProbe"]["failureThreshold"] == 4 + 12


def test_a_worker_has_no_probe_no_port_and_a_headless_service(market):
    found = objects(market)
    container = found[("Deployment", "cron")]["spec"]["template"]["spec"]["containers"][0]
    assert not {"readinessProbe", "livenessProbe", "startupProbe", "ports"} & set(container)
    assert found[("Service", "cron")]["spec"] == {
        "clusterIP": "None", "selector": {"app.kubernetes.io/name": "cron", "app.kubernetes.io/component": "worker"}}


def test_each_app_has_a_service_named_like_the_app_so_references_resolve_as_on_docker(market):
    found = objects(market)
    assert found[("Service", "api")]["spec"]["ports"] == [
        {"name": "http", "port": 9000, "targetPort": 9000, "protocol": "TCP"}]
    assert found[("Service", "api")]["spec"]["selector"] == \
        found[("Deployment", "api")]["spec"]["selector"]["matchLabels"]
    cron_env = env_of(found[("Deployment", "cron")]["spec"]["template"]["spec"]["containers"][0])
    assert cron_env["API_URL"] == {"name": "API_URL", "value": "http://api:9000"}


def test_plain_env_is_in_the_pod_spec_and_every_secret_is_read_from_a_secret(market):
    found = objects(market)
    env = env_of(found[("Deployment", "api")]["spec"]["template"]["spec"]["containers"][0])
    assert env["GREETING"] == {"name": "GREETING", "value": "hello"}
    assert env["CATALOG_HOST"] == {"name": "CATALOG_HOST", "value": "catalog"}
    for name in ("API_TOKEN", "ORDERS_URL"):
        assert env[name] == {"name": name, "valueFrom": {"secretKeyRef": {"name": "api-env", "key": name}}}
    assert found[("Secret", "api-env")]["stringData"] == {"API_TOKEN": SECRET, "ORDERS_URL": SECRET}


def test_no_secret_value_is_written_into_any_pod_spec(shop):
    for manifest in manifests(shop):
        for template in pod_templates(manifest):
            for container in containers(template["spec"]):
                for item in container.get("env", []):
                    assert "://" not in str(item.get("value", "")) or item["value"].startswith("http://"), item
                    assert item.get("value") != SECRET, (manifest["metadata"]["name"], item)


def test_every_copy_is_given_its_stack_app_node_and_hosts(shop):
    env = env_of(objects(shop)[("Deployment", "web")]["spec"]["template"]["spec"]["containers"][0])
    assert env["FLASHDRIVE_STACK"]["value"] == "shop"
    assert env["FLASHDRIVE_APP"]["value"] == "web"
    assert env["FLASHDRIVE_HOSTS"]["value"] == "shop.example.com,web.shop.localhost,web"
    assert env["PORT"]["value"] == "8000"
    # Copies of a Deployment have no number: each is told its pod's name.
    assert env["FLASHDRIVE_NODE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}


def test_user_env_wins_over_what_every_copy_is_given(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text("version: 1\nstack: s\nbackend: kubernetes\napps:\n  web:\n    image: nginx:1\n"
                    "    env: {FLASHDRIVE_HOSTS: example.org}\n")
    env = objects(plan_for(spec))[("Deployment", "web")]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [item for item in env if item["name"] == "FLASHDRIVE_HOSTS"] == [
        {"name": "FLASHDRIVE_HOSTS", "value": "example.org"}]


def test_built_images_are_pushed_to_the_registry_and_pods_run_the_pushed_digest(shop):
    image = shop.by_type("docker:index/image:Image")[0]
    assert image.inputs["skipPush"] is False
    assert image.inputs["imageName"].startswith(f"{CLUSTER.registry}/")
    for name in ("web", "worker"):
        container = objects(shop)[("Deployment", name)]["spec"]["template"]["spec"]["containers"][0]
        assert container["image"].startswith(f"{CLUSTER.registry}/shop-app-")
        assert "@sha256:" in container["image"]


def test_prebuilt_images_run_as_they_are(market):
    container = objects(market)[("Deployment", "api")]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/acme/api:1.4"
    assert market.by_type("docker:index/image:Image") == []


def test_the_release_job_is_named_by_the_image_digest_and_gates_every_app_of_its_source(shop):
    jobs = shop.by_type(JOB)
    assert len(jobs) == 1, "web and worker share a source: its release runs once"
    job = jobs[0]
    web = objects(shop)[("Deployment", "web")]
    digest = web["spec"]["template"]["spec"]["containers"][0]["image"]
    assert job.inputs["metadata"]["name"] == release_job_name("web", digest, "python manage.py migrate --noinput")
    assert job.inputs["spec"]["backoffLimit"] == 0
    release = job.inputs["spec"]["template"]["spec"]["containers"][0]
    assert release["args"] == ["/bin/sh", "-c", "python manage.py migrate --noinput"]
    assert release["image"] == digest
    for deployment in shop.by_type(DEPLOYMENT):
        if deployment.inputs["metadata"]["labels"]["app.kubernetes.io/component"] == "backup":
            continue  # the backup server runs no app code
        assert job.urn in deployment.depends_on, deployment.name
    for database in shop.by_type("kubernetes:apps/v1:StatefulSet"):
        assert database.urn in job.depends_on


def test_a_new_image_or_command_means_a_new_release_job():
    first = release_job_name("web", "r.example.com/a@sha256:" + "1" * 64, "migrate")
    assert first == release_job_name("web", "r.example.com/a@sha256:" + "1" * 64, "migrate")
    assert first != release_job_name("web", "r.example.com/a@sha256:" + "2" * 64, "migrate")
    assert first != release_job_name("web", "r.example.com/a@sha256:" + "1" * 64, "migrate --plan")
    assert len(release_job_name("a" * 40, "x", "y")) <= 63


def test_pods_carry_a_masked_checksum_of_their_secret_env_so_a_new_value_rolls_them(market):
    template = objects(market)[("Deployment", "api")]["spec"]["template"]
    assert template["metadata"]["annotations"] == {"flashdrive.dev/env-checksum": SECRET}


@pytest.mark.parametrize("spec, overlay", example_cases())
def test_examples_run_their_copies_as_the_buildpack_user(spec, overlay):
    for manifest in manifests(plan_for(spec, overlay)):
        if manifest["kind"] == "Deployment":
            pod = manifest["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsUser"] == 10001
            assert pod["securityContext"]["fsGroup"] == 10001
