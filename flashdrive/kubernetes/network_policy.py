"""flashdrive:kubernetes:NetworkPolicies — the stack's private network, in NetworkPolicies.

- Nothing reaches a pod of the namespace unless a policy allows it (default deny).
- Pods of the stack reach each other on any port, as on Docker's internal network.
- The ingress controller reaches web apps, on their port only; workers and databases never.
- Pods labelled `flashdrive.dev/egress: "false"` (databases, apps with `egress: false`, the backup
  job of a volume target) reach only the stack and the cluster's DNS.

They take effect only with a network plugin that enforces NetworkPolicies (Calico, Cilium...).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from flashdrive.kubernetes.hardening import EGRESS, labels, selector
from flashdrive.kubernetes.settings import ClusterSettings
from flashdrive.model.stack import ResolvedStack

NAMESPACE_NAME = "kubernetes.io/metadata.name"  # set by the API server on every namespace


class NetworkPolicies(pulumi.ComponentResource):
    def __init__(self, stack: ResolvedStack, cluster: ClusterSettings, namespace: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("flashdrive:kubernetes:NetworkPolicies", f"{stack.name}-network", None, opts)
        self.policies: list[k8s.networking.v1.NetworkPolicy] = []

        def policy(name: str, spec: dict) -> None:
            self.policies.append(k8s.networking.v1.NetworkPolicy(
                f"{stack.name}-{name}",
                metadata={"name": name, "namespace": namespace, "labels": labels(stack.name, name, "network")},
                spec=spec, opts=pulumi.ResourceOptions(parent=self)))

        everything: dict = {}  # an empty selector selects every pod of the namespace
        policy("default-deny-ingress", {"podSelector": everything, "policyTypes": ["Ingress"]})
        policy("allow-within-stack", {"podSelector": everything, "policyTypes": ["Ingress"],
                                      "ingress": [{"from": [{"podSelector": everything}]}]})
        controller = cluster.ingress_controller_namespace
        source = {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME: controller}} if controller else everything}
        for app in stack.web_apps:
            policy(f"allow-ingress-controller-to-{app.name}", {
                "podSelector": {"matchLabels": selector(app.name, app.type)}, "policyTypes": ["Ingress"],
                "ingress": [{"from": [source], "ports": [{"port": app.port, "protocol": "TCP"}]}]})
        policy("deny-egress-outside-stack", {
            "podSelector": {"matchLabels": {EGRESS: "false"}}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"podSelector": everything}]},
                       {"to": [{"namespaceSelector": everything}],
                        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]})
        self.register_outputs({"policies": [p.metadata.name for p in self.policies]})
