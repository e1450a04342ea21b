"""One spec, two backends: the same apps, databases, disks and domains, the same stack outputs."""

from __future__ import annotations

import re

import pytest

from _k8s_helpers import MARKET, example_cases, objects, plan_for
from flashdrive.plan import Plan

CASES = [pytest.param(spec, overlay, id=f"{spec}+{overlay}" if overlay else spec) for spec, overlay in example_cases()]
CASES.append(pytest.param(str(MARKET), None, id="market"))


def docker_inventory(plan: Plan) -> dict:
    containers = plan.by_type("docker:index/container:Container")

    def label(resource, key):
        return next((item["value"] for item in resource.inputs.get("labels", []) if item["label"] == key), None)

    apps: dict[str, int] = {}
    for container in containers:
        if label(container, "flashdrive.role") in ("web", "worker"):
            app = label(container, "flashdrive.app")
            apps[app] = apps.get(app, 0) + 1
    databases = {label(c, "flashdrive.database"): _image_of(plan, c)
                 for c in containers if label(c, "flashdrive.database")}
    disks = {next(item["value"] for item in v.inputs["labels"] if item["label"] == "flashdrive.disk")
             for v in plan.by_type("docker:index/volume:Volume")
             if any(item["label"] == "flashdrive.disk" for item in v.inputs["labels"])}
    caddyfile = next(r for r in plan.resources if r.type == "flashdrive:docker:Edge").outputs["caddyfile"]
    domains = set(re.findall(r"^([a-z0-9.-]+\.[a-z0-9-]+) \{$", caddyfile, re.MULTILINE))
    return {"apps": apps, "databases": databases, "disks": disks, "domains": domains}


def _image_of(plan: Plan, container) -> str:
    remote = [r for r in plan.by_type("docker:index/remoteImage:RemoteImage")
              if r.name == f"{container.name}-image"]
    return remote[0].inputs["name"]


def kubernetes_inventory(plan: Plan) -> dict:
    found = objects(plan)
    apps = {name: m["spec"]["replicas"] for (kind, name), m in found.items() if kind == "Deployment"
            and m["metadata"]["labels"]["app.kubernetes.io/component"] != "backup"}
    databases = {m["spec"]["serviceName"]: m["spec"]["template"]["spec"]["containers"][0]["image"]
                 for (kind, _), m in found.items() if kind == "StatefulSet"}
    disks = {m["metadata"]["labels"]["app.kubernetes.io/name"] for (kind, _), m in found.items()
             if kind == "PersistentVolumeClaim" and m["metadata"]["labels"]["app.kubernetes.io/component"] == "disk"}
    domains = {rule["host"] for (kind, _), m in found.items() if kind == "Ingress" for rule in m["spec"]["rules"]}
    return {"apps": apps, "databases": databases, "disks": disks, "domains": domains}


@pytest.mark.parametrize("spec, overlay", CASES)
def test_one_spec_compiles_to_the_same_apps_databases_disks_and_domains_on_both_backends(spec, overlay):
    on_docker = docker_inventory(plan_for(spec, overlay, backend="docker"))
    on_kubernetes = kubernetes_inventory(plan_for(spec, overlay, backend="kubernetes"))
    assert on_docker["apps"] and on_docker["domains"]
    assert on_kubernetes == on_docker


@pytest.mark.parametrize("spec, overlay", CASES)
def test_both_backends_export_the_same_urls_and_internal_addresses(spec, overlay):
    on_docker = plan_for(spec, overlay, backend="docker").outputs
    on_kubernetes = plan_for(spec, overlay, backend="kubernetes").outputs
    for key in ("urls", "internal"):
        assert on_kubernetes[key] == on_docker[key]
