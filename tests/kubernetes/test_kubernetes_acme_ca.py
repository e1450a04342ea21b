"""Any ACME CA on Kubernetes: the stack's cert-manager Issuer asks `tls.acme_ca` and trusts
`tls.acme_ca_root` for its HTTPS (`spec.acme.server`, `spec.acme.caBundle`)."""

from __future__ import annotations

import base64
import copy

import kubernetes_validate
import pytest
from test_kubernetes_schema import VERSIONS, validate

from _k8s_helpers import objects, plan_for
from flashdrive.kubernetes.edge import ca_bundle
from flashdrive.plan.manifests import manifests
from flashdrive.plan.wire_values import SECRET


def _with_acme_ca(tmp_path, kubernetes: str = "{ingress_class: nginx}"):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text("version: 1\nstack: s\nbackend: kubernetes\n"
                    "tls: {email: a@example.com, acme_ca: 'https://ca.corp.example/acme/acme/directory', "
                    "acme_ca_root: {config: corpRoot}}\n"
                    f"kubernetes: {kubernetes}\n"
                    "apps:\n  web:\n    image: nginx:1\n    port: 80\n    domains: [a.example.com]\n")
    return plan_for(spec)


def test_the_acme_issuer_asks_the_specs_acme_ca_trusting_its_root_from_config(tmp_path):
    plan = _with_acme_ca(tmp_path)
    acme = objects(plan)[("Issuer", "acme")]["spec"]["acme"]
    assert acme["server"] == "https://ca.corp.example/acme/acme/directory"
    assert acme["caBundle"] == SECRET  # from a config secret, masked in plans like every one
    edge = next(r for r in plan.resources if r.type == "flashdrive:kubernetes:Edge")
    assert edge.outputs["certificates"] == {"a.example.com": "ACME https://ca.corp.example/acme/acme/directory",
                                            "web.s.localhost": "internal CA (the stack's)"}


def test_the_ca_bundle_is_the_pem_base64_encoded_as_cert_manager_reads_it():
    pem = "-----BEGIN CERTIFICATE-----\nMIIBcompanyroot\n-----END CERTIFICATE-----\n"
    assert base64.b64decode(ca_bundle(pem)).decode() == pem


def test_a_cluster_issuer_takes_over_and_the_plan_says_the_acme_ca_is_unused(tmp_path):
    plan = _with_acme_ca(tmp_path, "{ingress_class: nginx, cluster_issuer: letsencrypt}")
    assert ("Issuer", "acme") not in objects(plan)
    warnings = [m for severity, m in plan.logs if severity == "warning"]
    assert any("tls.acme_ca and tls.acme_ca_root are not used" in m and "'letsencrypt'" in m for m in warnings)
    edge = next(r for r in plan.resources if r.type == "flashdrive:kubernetes:Edge")
    assert edge.outputs["certificates"]["a.example.com"] == "ClusterIssuer letsencrypt"


def test_the_issuer_with_a_ca_bundle_is_what_cert_managers_crd_accepts(tmp_path):
    issuer = next(m for m in manifests(_with_acme_ca(tmp_path)) if m["kind"] == "Issuer" and "acme" in m["spec"])
    issuer = copy.deepcopy(issuer)
    issuer["spec"]["acme"]["caBundle"] = ca_bundle("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    validate(issuer, VERSIONS[-1])
    misspelt = copy.deepcopy(issuer)
    misspelt["spec"]["acme"]["caBundel"] = misspelt["spec"]["acme"].pop("caBundle")
    with pytest.raises(kubernetes_validate.ValidationError, match="caBundel"):
        validate(misspelt, VERSIONS[-1])
