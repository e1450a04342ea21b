"""flashdrive:kubernetes:NetworkPolicies — the stack's private network, in NetworkPolicies.

- Nothing reaches a pod of the namespace unless a policy allows it (default deny).
- Pods of the stack reach each other on any port, as on Docker's internal network.
- The ingress controller reaches web apps, on their port only; workers and databases never. It is
  its namespace's pods (`kubernetes.ingress_controller_namespace`, or the class's well-known one),
  plus `kubernetes.ingress_controller_cidrs`: a controller on the host network, or a cloud load
  balancer that sends to pod IPs, comes from a node's or the load balancer's address, not a pod.
- The same sources reach cert-manager's HTTP-01 solver pods (created in this namespace for each
  challenge, port 8089): without that, no ACME certificate is ever issued or renewed.
- Pods labelled `flashdrive.dev/egress: "false"` (databases, apps with `egress: false`, the backup
  job of a volume target) reach only the stack and DNS: DNS pods in any namespace (CoreDNS), and
  `kubernetes.dns_cidrs` (NodeLocal DNSCache answers on 169.254.20.10 from the node, not a pod).

They take effect only with a network plugin that enforces NetworkPolicies (Calico, Cilium...).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from flashdrive.kubernetes.hardening import EGRESS, labels, selector
from flashdrive.model.stack import ClusterSettings, ResolvedStack

NAMESPACE_NAME = "kubernetes.io/metadata.name"  # set by the API server on every namespace
ACME_SOLVER = {"acme.cert-manager.io/http01-solver": "true"}  # cert-manager's label on its solver pods
ACME_SOLVER_PORT = 8089
DNS_PORTS = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]


def _blocks(cidrs) -> list[dict]:
    return [{"ipBlock": {"cidr": cidr}} for cidr in cidrs]


class NetworkPolicies(pulumi.ComponentResource):
    def __init__(
        self,
        stack: ResolvedStack,
        cluster: ClusterSettings,
        namespace: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("flashdrive:kubernetes:NetworkPolicies", f"{stack.name}-network", None, opts)
        self.policies: list[k8s.networking.v1.NetworkPolicy] = []

        def policy(name: str, spec: dict) -> None:
            self.policies.append(
                k8s.networking.v1.NetworkPolicy(
                    f"{stack.name}-{name}",
                    metadata={"name": name, "namespace": namespace, "labels": labels(stack.name, name, "network")},
                    spec=spec,
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )

        everything: dict = {}  # an empty selector selects every pod of the namespace
        policy("default-deny-ingress", {"podSelector": everything, "policyTypes": ["Ingress"]})
        policy(
            "allow-within-stack",
            {
                "podSelector": everything,
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": everything}]}],
            },
        )
        controller = cluster.ingress_controller_namespace
        sources = [
            {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME: controller}} if controller else everything},
            *_blocks(cluster.controller_cidrs),
        ]
        for app in stack.web_apps:
            policy(
                f"allow-ingress-controller-to-{app.name}",
                {
                    "podSelector": {"matchLabels": selector(app.name, app.type)},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": sources, "ports": [{"port": app.port, "protocol": "TCP"}]}],
                },
            )
        if any(d.acme for app in stack.web_apps for d in app.domains):
            policy(
                "allow-acme-http01-solver",
                {
                    "podSelector": {"matchLabels": dict(ACME_SOLVER)},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": sources, "ports": [{"port": ACME_SOLVER_PORT, "protocol": "TCP"}]}],
                },
            )
        policy(
            "deny-egress-outside-stack",
            {
                "podSelector": {"matchLabels": {EGRESS: "false"}},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"podSelector": everything}]},
                    {"to": [{"namespaceSelector": everything}, *_blocks(cluster.dns_cidrs)], "ports": DNS_PORTS},
                ],
            },
        )
        self.register_outputs({"policies": [p.metadata.name for p in self.policies]})
