"""Every manifest of every example, checked against the official Kubernetes schemas in strict mode
(no field the API does not know), for the oldest supported version and the newest known; the
cert-manager kinds against cert-manager's own CRD schemas (crds/cert_manager.schema.json, made
strict by crds/extract.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from _k8s_helpers import MARKET, example_cases, plan_for
from flashdrive.plan import render
from flashdrive.plan.manifests import manifests

OLDEST_SUPPORTED = "1.29"
VERSIONS = (OLDEST_SUPPORTED, kubernetes_validate.utils.latest_version())
CASES = [pytest.param(spec, overlay, id=f"{spec}+{overlay}" if overlay else spec) for spec, overlay in example_cases()]
CASES.append(pytest.param(str(MARKET), None, id="market"))


CERT_MANAGER = json.loads((Path(__file__).parent / "crds/cert_manager.schema.json").read_text())


def validate(document: dict, version: str) -> None:
    """Raise with the failing path if the manifest is not what its API accepts."""
    if document["apiVersion"].startswith("cert-manager.io/"):
        schema = CERT_MANAGER["kinds"][document["kind"]]
        error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(schema).iter_errors(document))
        if error is not None:
            raise kubernetes_validate.ValidationError(error, version)
        return
    kubernetes_validate.validate(document, version, strict=True)


def test_there_are_examples_to_check():
    assert example_cases(), "no examples/*/flashdrive.yaml found"


@pytest.mark.parametrize("spec, overlay", CASES)
def test_every_example_plans_cleanly_for_both_backends(spec, overlay):
    for backend in ("docker", "kubernetes"):
        plan = plan_for(spec, overlay, backend=backend)
        assert plan.backend == backend
        assert [message for severity, message in plan.logs if severity == "error"] == []
        assert any(r.custom for r in plan.resources)
    assert render(plan, "yaml").count("\n---\n") == len(manifests(plan))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("spec, overlay", CASES)
def test_every_manifest_passes_strict_schema_validation(spec, overlay, version):
    # Validate what a user gets: the YAML text, read back.
    documents = [d for d in yaml.safe_load_all(render(plan_for(spec, overlay), "yaml")) if d]
    assert documents
    failures = []
    for document in documents:
        try:
            validate(document, version)
        except kubernetes_validate.ValidationError as error:
            failures.append(f"{document['kind']}/{document['metadata']['name']}: "
                            f"{'.'.join(map(str, error.path))}: {error.message}")
    assert failures == []


def test_strict_validation_refuses_a_field_the_api_does_not_know(market):
    deployment = next(m for m in manifests(market) if m["kind"] == "Deployment")
    kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonroot"] = True
    with pytest.raises(kubernetes_validate.ValidationError, match="runAsNonroot"):
        kubernetes_validate.validate(misspelt, VERSIONS[-1], strict=True)


def test_cert_manager_kinds_are_checked_strictly(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    # No cluster_issuer: the stack creates its own ACME Issuer, and the internal CA as always.
    spec.write_text("version: 1\nstack: s\nbackend: kubernetes\ntls: {email: a@example.com}\n"
                    "kubernetes: {ingress_class: nginx}\n"
                    "apps:\n  web:\n    image: nginx:1\n    port: 80\n    domains: [a.example.com]\n")
    planned = manifests(plan_for(spec))
    cert_manager = [m for m in planned if m["apiVersion"] == "cert-manager.io/v1"]
    assert sorted(m["kind"] for m in cert_manager) == ["Certificate", "Issuer", "Issuer", "Issuer"]
    for manifest in cert_manager:
        validate(manifest, VERSIONS[-1])
    issuer = next(m for m in cert_manager if m["kind"] == "Issuer" and "acme" in m["spec"])
    misspelt = copy.deepcopy(issuer)
    misspelt["spec"]["acme"]["solvers"][0]["http01"]["ingress"]["ingressClass"] = "nginx"
    with pytest.raises(kubernetes_validate.ValidationError, match="ingressClass"):
        validate(misspelt, VERSIONS[-1])
    unknown_kind = {**issuer, "kind": "Issuers"}
    with pytest.raises(KeyError):
        validate(unknown_kind, VERSIONS[-1])
