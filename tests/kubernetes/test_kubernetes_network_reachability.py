"""Who can talk to whom under the generated NetworkPolicies, evaluated the way the API defines them
(a pod selected by a policy of a type is isolated for that direction; a connection needs the
source's egress and the destination's ingress allowed), for the pods a cluster actually runs: the
stack's own, cert-manager's HTTP-01 solver, the ingress controller, CoreDNS, NodeLocal DNSCache on
its link-local address, a host-network controller, another namespace, the internet."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import pytest
from _k8s_helpers import plan_for, pod_templates

from flashdrive.kubernetes.network_policy import ACME_SOLVER
from flashdrive.plan.manifests import manifests

NAMESPACE_NAME = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Endpoint:
    name: str
    ip: str
    namespace: str | None = None  # None: not a pod (a node's network, the internet)
    labels: dict = field(default_factory=dict, hash=False)


def _selects(selector: dict, labels: dict) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, op, values = expression["key"], expression["operator"], expression.get("values", [])
        ok = {"In": labels.get(key) in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def _peer_matches(peer: dict, policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        address = ipaddress.ip_address(other.ip)
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
    if other.namespace is None:
        return False  # selectors only ever select pods
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], {NAMESPACE_NAME: other.namespace}):
            return False
    elif other.namespace != policy_namespace:
        return False
    return _selects(peer.get("podSelector") or {}, other.labels)


def _port_matches(ports: list | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    return any(p.get("protocol", "TCP") == protocol and ("port" not in p or p["port"] == port
               or ("endPort" in p and p["port"] <= port <= p["endPort"])) for p in ports)


class Cluster:
    def __init__(self, policies: list[dict]):
        self.policies = policies

    def _allowed(self, pod: Endpoint, other: Endpoint, port: int, protocol: str, direction: str) -> bool:
        if pod.namespace is None:
            return True  # nothing isolates what is not a pod
        rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        selecting = [p for p in self.policies if p["metadata"]["namespace"] == pod.namespace
                     and direction in p["spec"]["policyTypes"] and _selects(p["spec"]["podSelector"], pod.labels)]
        if not selecting:
            return True
        return any((not rule.get(peers_key) or any(_peer_matches(peer, policy["metadata"]["namespace"], other)
                                                   for peer in rule[peers_key]))
                   and _port_matches(rule.get("ports"), port, protocol)
                   for policy in selecting for rule in policy["spec"].get(rules_key) or [])

    def can(self, source: Endpoint, destination: Endpoint, port: int, protocol: str = "TCP") -> bool:
        return (self._allowed(source, destination, port, protocol, "Egress")
                and self._allowed(destination, source, port, protocol, "Ingress"))


def world(plan, *, controller_namespace: str = "ingress-nginx") -> tuple[Cluster, dict[str, Endpoint]]:
    found = manifests(plan)
    namespace = next(m["metadata"]["name"] for m in found if m["kind"] == "Namespace")
    pods: dict[str, Endpoint] = {}
    for n, manifest in enumerate(m for m in found if m["kind"] in ("Deployment", "StatefulSet", "Job", "CronJob")):
        for template in pod_templates(manifest):
            pods[template["metadata"]["labels"]["app.kubernetes.io/name"] + "/" + manifest["kind"]] = Endpoint(
                manifest["metadata"]["name"], f"10.244.1.{n + 10}", namespace, template["metadata"]["labels"])
    pods["solver"] = Endpoint("cm-acme-http-solver-x7k2p", "10.244.1.200", namespace,
                              {**ACME_SOLVER, "acme.cert-manager.io/http-domain": "1234",
                               "acme.cert-manager.io/http-token": "5678"})
    pods["controller"] = Endpoint("ingress-nginx-controller", "10.244.2.10", controller_namespace,
                                  {"app.kubernetes.io/name": "ingress-nginx"})
    pods["elsewhere"] = Endpoint("other-app", "10.244.3.10", "other", {"app.kubernetes.io/name": "web"})
    pods["coredns"] = Endpoint("coredns", "10.244.0.5", "kube-system", {"k8s-app": "kube-dns"})
    pods["nodelocaldns"] = Endpoint("node-local-dns", "169.254.20.10")
    pods["node"] = Endpoint("host-network controller", "10.0.0.5")
    pods["internet"] = Endpoint("example.com", "93.184.215.14")
    policies = [m for m in found if m["kind"] == "NetworkPolicy"]
    return Cluster(policies), pods


def test_the_ingress_controller_reaches_web_apps_on_their_port_and_nothing_else(shop):
    cluster, pod = world(shop)
    web, worker, db = pod["web/Deployment"], pod["worker/Deployment"], pod["main/StatefulSet"]
    assert cluster.can(pod["controller"], web, 8000)
    assert not cluster.can(pod["controller"], web, 8001)
    assert not cluster.can(pod["controller"], worker, 8000)
    assert not cluster.can(pod["controller"], db, 5432)
    assert not cluster.can(pod["elsewhere"], web, 8000)


def test_cert_manager_s_solver_is_reachable_from_the_controller_so_a_certificate_can_be_issued(shop):
    cluster, pod = world(shop)
    assert cluster.can(pod["controller"], pod["solver"], 8089)
    assert not cluster.can(pod["controller"], pod["solver"], 8080)
    assert not cluster.can(pod["elsewhere"], pod["solver"], 8089)
    # Without the solver's policy, every challenge would time out (the evaluator is not lenient).
    without = Cluster([p for p in cluster.policies if p["metadata"]["name"] != "allow-acme-http01-solver"])
    assert not without.can(pod["controller"], pod["solver"], 8089)


def test_the_stack_reaches_itself_on_any_port(shop):
    cluster, pod = world(shop)
    assert cluster.can(pod["web/Deployment"], pod["main/StatefulSet"], 5432)
    assert cluster.can(pod["worker/Deployment"], pod["cache/StatefulSet"], 6379)
    assert cluster.can(pod["worker/Deployment"], pod["web/Deployment"], 8000)
    assert cluster.can(pod["backup/CronJob"], pod["main/StatefulSet"], 5432)
    assert not cluster.can(pod["elsewhere"], pod["main/StatefulSet"], 5432)


def test_pods_without_egress_resolve_names_through_coredns_or_nodelocal_dns_and_reach_nothing_else(shop):
    cluster, pod = world(shop)
    db = pod["main/StatefulSet"]
    assert db.labels["flashdrive.dev/egress"] == "false"
    for protocol in ("UDP", "TCP"):
        assert cluster.can(db, pod["coredns"], 53, protocol)
        assert cluster.can(db, pod["nodelocaldns"], 53, protocol)
    assert not cluster.can(db, pod["nodelocaldns"], 8080)
    assert not cluster.can(db, pod["internet"], 443)
    assert not cluster.can(db, pod["internet"], 53, "UDP")
    assert not cluster.can(db, pod["elsewhere"], 5432)
    # An app with egress reaches the internet.
    assert cluster.can(pod["web/Deployment"], pod["internet"], 443)


def test_a_host_network_controller_or_load_balancer_is_admitted_by_its_address_block(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text("version: 1\nstack: s\nbackend: kubernetes\ntls: {email: a@example.com}\n"
                    "kubernetes: {ingress_controller_namespace: edge, ingress_controller_cidrs: [10.0.0.0/24]}\n"
                    "apps:\n  web:\n    image: nginx:1\n    port: 80\n    domains: [a.example.com]\n"
                    "databases:\n  main: {engine: postgres}\n")
    plan = plan_for(spec)
    cluster, pod = world(plan, controller_namespace="edge")
    web, db = pod["web/Deployment"], pod["main/StatefulSet"]
    assert cluster.can(pod["node"], web, 80)
    assert cluster.can(pod["node"], pod["solver"], 8089)
    assert not cluster.can(pod["node"], db, 5432)
    assert cluster.can(pod["controller"], web, 80)  # the controller's namespace is the setting
    _, elsewhere = world(plan, controller_namespace="ingress-nginx")
    assert not cluster.can(elsewhere["controller"], elsewhere["web/Deployment"], 80)


@pytest.mark.parametrize("port", [80, 443])
def test_without_address_blocks_nothing_outside_a_pod_reaches_the_stack(shop, port):
    cluster, pod = world(shop)
    assert not cluster.can(pod["node"], pod["web/Deployment"], port)
    assert not cluster.can(pod["internet"], pod["web/Deployment"], 8000)
