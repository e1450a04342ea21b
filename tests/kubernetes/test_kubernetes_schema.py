"""Every manifest of every example, checked against the official Kubernetes schemas in strict mode
(no field the API does not know), for the oldest supported version and the newest known."""

from __future__ import annotations

import copy

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
            kubernetes_validate.validate(document, version, strict=True)
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
