"""Any ACME CA: the edge asks the spec's `tls.acme_ca`, trusts `tls.acme_ca_root` for its HTTPS,
and the plan says where each domain's certificate comes from."""

from __future__ import annotations

import json

import pytest

from flashdrive.plan import plan_spec, render

CONTAINER = "docker:index/container:Container"
ROOT_PEM = "-----BEGIN CERTIFICATE-----\nMIIB-the-company-root\n-----END CERTIFICATE-----\n"

SPEC = """\
version: 1
stack: shop
tls:
  email: ops@example.com
  acme_ca: https://ca.corp.example/acme/acme/directory
  acme_ca_root: {config: corpRoot}
apps:
  web:
    image: ghcr.io/acme/web:1.4
    domains:
      - shop.example.com
      - {host: admin.example.com, certificate: {config: adminCert}, key: {config: adminKey}}
"""


@pytest.fixture
def plan(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text(SPEC)
    return plan_spec(spec, config={"flashdrive:corpRoot": ROOT_PEM})


def edge_uploads(plan) -> dict[str, str]:
    edge = next(r for r in plan.by_type(CONTAINER) if r.name == "shop-edge")
    return {upload["file"]: upload["content"] for upload in edge.inputs.get("uploads") or []}


def edge_caddyfile(plan) -> str:
    """The routes the edge reloads from its volume (flashdrive/docker/edge.py)."""
    return plan.get("shop-edge-routes", "command:local:Command").inputs["environment"]["FLASHDRIVE_CADDYFILE"]


def test_the_edge_gets_the_acme_servers_root_from_config_as_a_file_caddy_reads(plan):
    uploads = edge_uploads(plan)
    assert uploads["/etc/caddy/acme-ca-root.pem"] == "[secret]"  # a config value, masked like every one
    assert "acme_ca_root /etc/caddy/acme-ca-root.pem" in edge_caddyfile(plan)
    assert "MIIB-the-company-root" not in json.dumps(plan.to_dict())


def test_the_edge_registers_where_each_certificate_comes_from(plan):
    edge = next(r for r in plan.resources if r.type == "flashdrive:docker:Edge")
    assert edge.outputs["certificates"] == {
        "shop.example.com": "ACME https://ca.corp.example/acme/acme/directory",
        "admin.example.com": "brought (config adminCert)",
        "web.shop.localhost": "internal CA (the edge's)",
    }


def test_the_text_plan_lists_each_domains_certificate_source(plan):
    text = render(plan, "text")
    section = text[text.index("\nCertificates:\n"):text.index("\nDeploys:")]
    assert section.splitlines()[2:] == [
        "    admin.example.com: brought (config adminCert)",
        "    shop.example.com: ACME https://ca.corp.example/acme/acme/directory",
        "    web.shop.localhost: internal CA (the edge's)",
    ]


def test_without_an_acme_domain_the_root_is_not_uploaded(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text(SPEC.replace("      - shop.example.com\n", ""))
    plan = plan_spec(spec)
    assert "/etc/caddy/acme-ca-root.pem" not in edge_uploads(plan)
    assert "acme_ca" not in edge_caddyfile(plan)
