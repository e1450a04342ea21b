"""Domains, TLS and the stack's private network on a cluster."""

from __future__ import annotations

from _k8s_helpers import objects, plan_for, pod_templates
from flashdrive.plan.manifests import manifests
from flashdrive.plan.values import SECRET


def _hosts(ingress: dict) -> list[str]:
    return [rule["host"] for rule in ingress["spec"]["rules"]]


def test_a_web_app_gets_an_ingress_with_tls_for_its_domains_and_its_default_domain(shop):
    ingress = objects(shop)[("Ingress", "web")]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt"}
    assert _hosts(ingress) == ["shop.example.com", "web.shop.localhost"]
    assert ingress["spec"]["tls"] == [{"hosts": ["shop.example.com", "web.shop.localhost"], "secretName": "web-tls"}]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]
    assert backend == {"path": "/", "pathType": "Prefix",
                       "backend": {"service": {"name": "web", "port": {"number": 8000}}}}


def test_workers_get_no_ingress(shop):
    assert [name for kind, name in objects(shop) if kind == "Ingress"] == ["web"]


def test_a_brought_certificate_is_a_tls_secret_on_an_ingress_without_the_issuer(market):
    found = objects(market)
    issued = found[("Ingress", "api")]
    assert _hosts(issued) == ["api.example.com", "api.market.apps.example.net"]
    assert issued["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt-prod"}
    own = found[("Ingress", "api-own-certificates")]
    # cert-manager would take over (and overwrite) a Secret named on an annotated Ingress.
    assert "annotations" not in own["metadata"]
    assert own["spec"]["tls"] == [{"hosts": ["admin.example.com"], "secretName": "api-admin-example-com-tls"}]
    secret = found[("Secret", "api-admin-example-com-tls")]
    assert secret["type"] == "kubernetes.io/tls"
    assert secret["stringData"] == {"tls.crt": SECRET, "tls.key": SECRET}


def test_without_a_cluster_issuer_the_plan_warns_which_hosts_get_no_certificate(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text("version: 1\nstack: s\nbackend: kubernetes\ntls: {email: a@example.com}\n"
                    "kubernetes: {ingress_class: nginx}\n"
                    "apps:\n  web:\n    image: nginx:1\n    domains: [a.example.com]\n")
    plan = plan_for(spec)
    warnings = [message for severity, message in plan.logs if severity == "warning"]
    assert len(warnings) == 1
    assert "kubernetes.cluster_issuer is not set" in warnings[0]
    assert "a.example.com, web.s.localhost" in warnings[0]
    assert "annotations" not in objects(plan)[("Ingress", "web")]["metadata"]


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
