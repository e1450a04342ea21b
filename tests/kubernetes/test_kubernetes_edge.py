"""Domains, TLS and the stack's private network on a cluster."""

from __future__ import annotations

from _k8s_helpers import objects, plan_for, pod_templates
from flashdrive.plan.manifests import manifests
from flashdrive.plan.wire_values import SECRET


def _hosts(ingress: dict) -> list[str]:
    return [rule["host"] for rule in ingress["spec"]["rules"]]


EWMA = {"nginx.ingress.kubernetes.io/load-balance": "ewma"}


def _single_app(tmp_path, kubernetes: str):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text(f"version: 1\nstack: s\nbackend: kubernetes\ntls: {{email: a@example.com}}\nkubernetes: {kubernetes}\n"
                    "apps:\n  web:\n    image: nginx:1\n    port: 80\n    domains: [a.example.com]\n")
    return plan_for(spec)


def test_a_web_app_gets_an_ingress_with_tls_for_its_domains_from_the_cluster_issuer(shop):
    ingress = objects(shop)[("Ingress", "web")]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt", **EWMA}
    assert _hosts(ingress) == ["shop.example.com"]
    assert ingress["spec"]["tls"] == [{"hosts": ["shop.example.com"], "secretName": "web-tls"}]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]
    assert backend == {"path": "/", "pathType": "Prefix",
                       "backend": {"service": {"name": "web", "port": {"number": 8000}}}}


def test_the_default_domain_has_its_own_ingress_signed_by_the_stacks_internal_ca(shop):
    # A CA refuses an order as a whole: web.shop.localhost on the ACME certificate would leave
    # shop.example.com without one.
    found = objects(shop)
    ingress = found[("Ingress", "web-default-domain")]
    assert ingress["metadata"]["annotations"] == {"cert-manager.io/issuer": "internal-ca", **EWMA}
    assert ingress["spec"]["tls"] == [{"hosts": ["web.shop.localhost"], "secretName": "web-default-domain-tls"}]
    assert _hosts(ingress) == ["web.shop.localhost"]
    assert found[("Issuer", "internal-ca-root")]["spec"] == {"selfSigned": {}}
    ca = found[("Certificate", "internal-ca")]["spec"]
    assert ca["isCA"] is True and ca["secretName"] == "internal-ca"
    assert ca["issuerRef"] == {"name": "internal-ca-root", "kind": "Issuer", "group": "cert-manager.io"}
    assert found[("Issuer", "internal-ca")]["spec"] == {"ca": {"secretName": "internal-ca"}}
    assert ("Issuer", "acme") not in found  # the cluster issuer signs the real domains


def test_an_email_alone_gives_an_acme_issuer_in_the_namespace_for_the_ingress_class(tmp_path):
    plan = _single_app(tmp_path, "{ingress_class: nginx}")
    found = objects(plan)
    assert found[("Issuer", "acme")]["spec"] == {"acme": {
        "email": "a@example.com", "server": "https://acme-v02.api.letsencrypt.org/directory",
        "privateKeySecretRef": {"name": "acme-account"},
        "solvers": [{"http01": {"ingress": {"ingressClassName": "nginx"}}}]}}
    assert found[("Ingress", "web")]["metadata"]["annotations"] == {"cert-manager.io/issuer": "acme", **EWMA}
    assert [m for severity, m in plan.logs if severity == "warning"] == []
    ingress = plan.get("s-web", "kubernetes:networking.k8s.io/v1:Ingress")
    assert plan.get("s-acme-issuer", "kubernetes:cert-manager.io/v1:Issuer").urn in ingress.depends_on


def test_other_ingress_classes_keep_their_own_balancing(tmp_path):
    plan = _single_app(tmp_path, "{ingress_class: traefik}")
    assert objects(plan)[("Ingress", "web")]["metadata"]["annotations"] == {"cert-manager.io/issuer": "acme"}
    assert objects(plan)[("Issuer", "acme")]["spec"]["acme"]["solvers"] == [
        {"http01": {"ingress": {"ingressClassName": "traefik"}}}]


def test_workers_get_no_ingress(shop):
    assert sorted(name for kind, name in objects(shop) if kind == "Ingress") == ["web", "web-default-domain"]


def test_a_brought_certificate_is_a_tls_secret_on_an_ingress_without_the_issuer(market):
    found = objects(market)
    issued = found[("Ingress", "api")]
    assert _hosts(issued) == ["api.example.com"]
    assert issued["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt-prod"}
    assert _hosts(found[("Ingress", "api-default-domain")]) == ["api.market.apps.example.net"]
    own = found[("Ingress", "api-own-certificates")]
    # cert-manager would take over (and overwrite) a Secret named on an annotated Ingress.
    assert "annotations" not in own["metadata"]
    assert own["spec"]["tls"] == [{"hosts": ["admin.example.com"], "secretName": "api-admin-example-com-tls"}]
    secret = found[("Secret", "api-admin-example-com-tls")]
    assert secret["type"] == "kubernetes.io/tls"
    assert secret["stringData"] == {"tls.crt": SECRET, "tls.key": SECRET}


def _policies(plan) -> dict[str, dict]:
    return {m["metadata"]["name"]: m["spec"] for m in manifests(plan) if m["kind"] == "NetworkPolicy"}


def test_the_namespace_denies_ingress_by_default_and_lets_the_stack_reach_itself(market):
    policies = _policies(market)
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    assert policies["allow-within-stack"]["ingress"] == [{"from": [{"podSelector": {}}]}]


def test_the_ingress_controller_reaches_web_apps_only_on_their_port(shop, market):
    nginx = _policies(shop)
    from_controller = [name for name in nginx if name.startswith("allow-ingress-controller")]
    assert from_controller == ["allow-ingress-controller-to-web"]
    assert nginx["allow-ingress-controller-to-web"] == {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "web", "app.kubernetes.io/component": "web"}},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
                     "ports": [{"port": 8000, "protocol": "TCP"}]}]}
    # A class whose controller's namespace is not known is admitted from any namespace, still on
    # the web port of web apps only.
    traefik = _policies(market)["allow-ingress-controller-to-api"]
    assert traefik["ingress"] == [{"from": [{"namespaceSelector": {}}], "ports": [{"port": 9000, "protocol": "TCP"}]}]


def test_databases_and_apps_without_egress_reach_only_the_stack_and_dns(market):
    policy = _policies(market)["deny-egress-outside-stack"]
    assert policy["podSelector"] == {"matchLabels": {"flashdrive.dev/egress": "false"}}
    assert policy["egress"][0] == {"to": [{"podSelector": {}}]}
    assert {p["port"] for p in policy["egress"][1]["ports"]} == {53}
    egress = {}
    for manifest in manifests(market):
        for template in pod_templates(manifest):
            egress[manifest["metadata"]["name"]] = template["metadata"]["labels"]["flashdrive.dev/egress"]
    assert egress["market-db-orders"] == egress["market-db-catalog"] == "false"
    assert egress["api"] == "false"  # egress: false in the spec
    assert egress["cron"] == "true"
    assert egress["backup"] == "true"  # the S3 target is on the internet
