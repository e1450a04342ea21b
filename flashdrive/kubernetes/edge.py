"""flashdrive:kubernetes:Edge — an Ingress per web app on the cluster's ingress controller
(`kubernetes.ingress_class`), with TLS for every domain, the default domain included.

Certificates come from cert-manager (`kubernetes.cluster_issuer`). Domains that bring their own
certificate get a TLS Secret from their config secrets and an Ingress of their own, without the
issuer annotation: cert-manager would otherwise take over their Secret and overwrite it.
"""

from __future__ import annotations

import re

import pulumi
import pulumi_kubernetes as k8s

from flashdrive.endpoints import config_value
from flashdrive.kubernetes.hardening import labels
from flashdrive.kubernetes.settings import ClusterSettings
from flashdrive.model.stack import ResolvedApp, ResolvedStack

CLUSTER_ISSUER = "cert-manager.io/cluster-issuer"


def _rule(app: ResolvedApp, host: str) -> dict:
    return {"host": host, "http": {"paths": [{
        "path": "/", "pathType": "Prefix",
        "backend": {"service": {"name": app.name, "port": {"number": app.port}}}}]}}


def issued_hosts(app: ResolvedApp) -> list[str]:
    """The hosts whose certificate cert-manager issues: ACME domains and the default domain."""
    return [d.host for d in app.domains if d.acme] + ([app.default_domain] if app.default_domain else [])


def _slug(host: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-")


class Edge(pulumi.ComponentResource):
    def __init__(self, stack: ResolvedStack, cluster: ClusterSettings, namespace: pulumi.Input[str],
                 services: dict[str, k8s.core.v1.Service], opts: pulumi.ResourceOptions | None = None):
        super().__init__("flashdrive:kubernetes:Edge", f"{stack.name}-edge", None, opts)
        self.ingresses: list[k8s.networking.v1.Ingress] = []
        self.tls_secrets: list[k8s.core.v1.Secret] = []
        for app in stack.web_apps:
            depends = pulumi.ResourceOptions(parent=self, depends_on=[services[app.name]])
            issued = issued_hosts(app)
            if issued:
                metadata = {"name": app.name, "namespace": namespace, "labels": labels(stack.name, app.name, "edge")}
                if cluster.cluster_issuer:
                    metadata["annotations"] = {CLUSTER_ISSUER: cluster.cluster_issuer}
                self.ingresses.append(k8s.networking.v1.Ingress(
                    f"{stack.name}-{app.name}",
                    metadata=metadata,
                    spec={"ingressClassName": cluster.ingress_class,
                          "tls": [{"hosts": issued, "secretName": f"{app.name}-tls"}],
                          "rules": [_rule(app, host) for host in issued]},
                    opts=depends))
            own = [d for d in app.domains if not d.acme]
            if not own:
                continue
            tls = []
            for domain in own:
                secret = k8s.core.v1.Secret(
                    f"{stack.name}-{app.name}-{_slug(domain.host)}-tls",
                    metadata={"name": f"{app.name}-{_slug(domain.host)}-tls", "namespace": namespace,
                              "labels": labels(stack.name, app.name, "edge")},
                    type="kubernetes.io/tls",
                    string_data={"tls.crt": config_value(domain.certificate_config),
                                 "tls.key": config_value(domain.key_config)},
                    opts=pulumi.ResourceOptions(parent=self))
                self.tls_secrets.append(secret)
                tls.append({"hosts": [domain.host], "secretName": secret.metadata.name})
            self.ingresses.append(k8s.networking.v1.Ingress(
                f"{stack.name}-{app.name}-own-certificates",
                metadata={"name": f"{app.name}-own-certificates", "namespace": namespace,
                          "labels": labels(stack.name, app.name, "edge")},
                spec={"ingressClassName": cluster.ingress_class, "tls": tls,
                      "rules": [_rule(app, d.host) for d in own]},
                opts=depends))
        self.register_outputs({"hosts": {app.name: [d.host for d in app.domains] + [app.default_domain]
                                         for app in stack.web_apps}})
