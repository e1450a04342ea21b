"""`flashdrive plan --backend kubernetes`: manifests as YAML, resources as JSON, secrets masked."""

from __future__ import annotations

import json

import yaml

from _k8s_helpers import MARKET, plan_for
from flashdrive.plan import render

SHOP = "examples/django-shop/flashdrive.yaml"


def test_plan_yaml_prints_one_document_per_object_in_apply_order(cli):
    run = cli("plan", MARKET, "--format", "yaml")
    assert run.code == 0
    assert run.out.startswith("# Kubernetes manifests of stack 'market'")
    documents = [d for d in yaml.safe_load_all(run.out) if d]
    kinds = [d["kind"] for d in documents]
    assert kinds[0] == "Namespace"
    assert kinds.index("Secret") < kinds.index("StatefulSet") < kinds.index("Deployment") < kinds.index("Ingress")
    assert all(list(d)[:3] == ["apiVersion", "kind", "metadata"] for d in documents)
    assert all(d["metadata"]["namespace"] == "market-prod" for d in documents if d["kind"] != "Namespace")


def test_plan_yaml_masks_every_secret():
    config = {"apiToken": "token-value-1234", "adminCertPem": "-----BEGIN CERTIFICATE-----xyz",
              "adminKeyPem": "-----BEGIN PRIVATE KEY-----xyz", "s3AccessKey": "AKIAEXAMPLEKEY",
              "s3SecretKey": "s3-secret-value"}
    text = render(plan_for(MARKET, config=config), "yaml")
    for value in config.values():
        assert value not in text
    assert "mysql://" not in text and "mongodb://" not in text
    assert "[secret]" in text


def test_plan_yaml_names_the_image_it_builds_and_pushes(cli):
    plan = plan_for(SHOP)
    text = render(plan, "yaml")
    assert "# Built from source and pushed before these are applied: registry.example.com/shop/shop-app-" in text


def test_plan_json_lists_the_kubernetes_resources_as_it_does_for_docker(cli):
    run = cli("plan", MARKET, "--format", "json")
    assert run.code == 0
    document = json.loads(run.out)
    assert document["backend"] == "kubernetes"
    types = {r["type"] for r in document["resources"]}
    assert {"flashdrive:kubernetes:App", "kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:CronJob"} <= types
    claim = next(r for r in document["resources"] if r["name"] == "market-disk-uploads" and r["custom"])
    assert claim["options"]["retainOnDelete"] is True


def test_yaml_of_a_docker_plan_says_how_to_get_manifests(cli):
    run = cli("plan", SHOP, "--format", "yaml")
    assert run.code == 1
    assert run.out == ""
    assert "error: --format yaml prints Kubernetes manifests, and this plan is for the docker backend" in run.err
    assert "add --backend kubernetes" in run.err


def test_a_source_app_without_a_registry_is_one_clean_error(cli, tmp_path):
    import re
    import shutil
    from pathlib import Path

    text = Path(SHOP).read_text()
    text = re.sub(r"\nkubernetes:.*?\n\n", "\n", text, flags=re.S)  # the example's registry, gone
    shutil.copytree(Path(SHOP).resolve().parent / "app", tmp_path / "app")  # source stays in the spec's folder
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text(text)
    run = cli("plan", str(spec), "--backend", "kubernetes")
    assert run.code == 1
    assert run.out == ""
    assert (f"{spec}: error: kubernetes.registry: apps built from source (web, worker) need a registry the "
            "cluster pulls from") in run.err
    assert "add `kubernetes: {registry: registry.example.com/shop}`" in run.err
