"""flashdrive:kubernetes:Edge — Ingresses on the cluster's ingress controller (`kubernetes.ingress_class`),
with TLS for every domain, and the cert-manager issuers that sign them.

- ACME domains share the Ingress `<app>` and the Secret `<app>-tls`, issued by the ClusterIssuer
  `kubernetes.cluster_issuer`, or else by an ACME Issuer `acme` that the stack creates in its
  namespace for `tls.email` (HTTP-01 through the same ingress class).
- The default domain (`<app>.<stack>.<default_domain>`, not a public name) has an Ingress of its
  own, `<app>-default-domain`, signed by the stack's internal CA: a CA refuses an order as a
  whole, so one name it cannot validate on a shared Certificate would leave the real domains
  without a certificate. The CA is a self-signed Certificate `internal-ca` and a CA Issuer over it,
  as Caddy's `tls internal` on Docker.
- Domains that bring their own certificate get a TLS Secret from their config secrets and an
  Ingress of their own, without an issuer annotation: cert-manager would otherwise take over their
  Secret and overwrite it.

With ingress-nginx, copies are balanced by `ewma` (least latency-weighted load), the closest to
the guide's "least occupied copy"; other classes keep their controller's default.
"""

from __future__ import annotations

import base64
import re

import pulumi
import pulumi_kubernetes as k8s

from flashdrive.endpoints import config_value
from flashdrive.kubernetes.hardening import labels
from flashdrive.model.stack import ClusterSettings, ResolvedApp, ResolvedStack

CLUSTER_ISSUER = "cert-manager.io/cluster-issuer"
ISSUER = "cert-manager.io/issuer"
CERT_MANAGER = "cert-manager.io/v1"
ACME_ISSUER = "acme"
ACME_ACCOUNT_SECRET = "acme-account"
CA_ROOT_ISSUER = "internal-ca-root"
CA_ISSUER = "internal-ca"
CA_SECRET = "internal-ca"
NGINX_LOAD_BALANCE = "nginx.ingress.kubernetes.io/load-balance"


def _rule(app: ResolvedApp, host: str) -> dict:
    return {
        "host": host,
        "http": {
            "paths": [
                {
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": {"service": {"name": app.name, "port": {"number": app.port}}},
                }
            ]
        },
    }


def acme_hosts(app: ResolvedApp) -> list[str]:
    """The hosts whose certificate an ACME CA issues."""
    return [d.host for d in app.domains if d.acme]


def acme_block(stack: ResolvedStack, cluster: ClusterSettings) -> dict:
    """The stack's ACME Issuer: `tls.acme_ca` as its server and, when the CA's own HTTPS is not
    publicly signed, `tls.acme_ca_root` as its caBundle (base64 of the PEM, as cert-manager wants)."""
    acme: dict = {
        "email": cluster.acme_email,
        "server": stack.acme_ca,
        "privateKeySecretRef": {"name": ACME_ACCOUNT_SECRET},
        "solvers": [{"http01": {"ingress": {"ingressClassName": cluster.ingress_class}}}],
    }
    if stack.acme_ca_root_config:
        acme["caBundle"] = config_value(stack.acme_ca_root_config).apply(ca_bundle)
    return acme


def ca_bundle(pem: str) -> str:
    """cert-manager's `caBundle` is bytes in the API: the PEM, base64-encoded."""
    return base64.b64encode(pem.encode()).decode()


def certificate_sources(stack: ResolvedStack, cluster: ClusterSettings) -> dict[str, str]:
    """Where cert-manager gets each host's certificate, for plans."""
    acme = (
        f"ClusterIssuer {cluster.cluster_issuer}"
        if cluster.cluster_issuer
        else f"ACME {stack.acme_ca}"
        if cluster.acme_issuer
        else "none (no issuer: set tls.email)"
    )
    return stack.certificate_sources(acme=acme, internal="internal CA (the stack's)")


def _slug(host: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-")


class KubernetesEdge(pulumi.ComponentResource):
    def __init__(
        self,
        stack: ResolvedStack,
        cluster: ClusterSettings,
        namespace: pulumi.Input[str],
        services: dict[str, k8s.core.v1.Service],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("flashdrive:kubernetes:Edge", f"{stack.name}-edge", None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.ingresses: list[k8s.networking.v1.Ingress] = []
        self.tls_secrets: list[k8s.core.v1.Secret] = []
        self.issuers: list[k8s.apiextensions.CustomResource] = []

        def meta(name: str, component: str = "edge") -> dict:
            return {"name": name, "namespace": namespace, "labels": labels(stack.name, name, component)}

        def issuer(name: str, spec: dict, depends: list | None = None) -> k8s.apiextensions.CustomResource:
            created = k8s.apiextensions.CustomResource(
                f"{stack.name}-{name}-issuer",
                api_version=CERT_MANAGER,
                kind="Issuer",
                metadata=meta(name),
                spec=spec,
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends or []),
            )
            self.issuers.append(created)
            return created

        acme_issuer = None
        if (
            cluster.cluster_issuer
            and stack.uses_acme
            and (not stack.acme_ca_is_lets_encrypt or stack.acme_ca_root_config)
        ):
            pulumi.log.warn(
                f"tls.acme_ca and tls.acme_ca_root are not used: the ClusterIssuer "
                f"'{cluster.cluster_issuer}' (kubernetes.cluster_issuer) signs the domains with its own "
                "ACME server. Remove kubernetes.cluster_issuer to have the stack's own Issuer use them"
            )
        if cluster.acme_issuer and any(acme_hosts(app) for app in stack.web_apps):
            acme_issuer = issuer(ACME_ISSUER, {"acme": acme_block(stack, cluster)})
        ca_issuer = None
        if any(app.default_domain for app in stack.web_apps):
            root = issuer(CA_ROOT_ISSUER, {"selfSigned": {}})
            self.ca = k8s.apiextensions.CustomResource(
                f"{stack.name}-internal-ca",
                api_version=CERT_MANAGER,
                kind="Certificate",
                metadata=meta(CA_SECRET),
                spec={
                    "isCA": True,
                    "commonName": f"flashdrive {stack.name} internal CA",
                    "secretName": CA_SECRET,
                    "duration": "87600h",
                    "privateKey": {"algorithm": "ECDSA", "size": 256},
                    "issuerRef": {"name": CA_ROOT_ISSUER, "kind": "Issuer", "group": "cert-manager.io"},
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[root]),
            )
            ca_issuer = issuer(CA_ISSUER, {"ca": {"secretName": CA_SECRET}}, depends=[self.ca])

        balancing = {NGINX_LOAD_BALANCE: "ewma"} if cluster.ingress_class == "nginx" else {}

        def ingress(
            resource: str,
            name: str,
            app: ResolvedApp,
            hosts: list[str],
            tls: list[dict],
            annotations: dict,
            depends: list,
        ) -> None:
            metadata = meta(name)
            metadata["labels"] = labels(stack.name, app.name, "edge")
            if annotations or balancing:
                metadata["annotations"] = {**balancing, **annotations}
            self.ingresses.append(
                k8s.networking.v1.Ingress(
                    resource,
                    metadata=metadata,
                    spec={
                        "ingressClassName": cluster.ingress_class,
                        "tls": tls,
                        "rules": [_rule(app, host) for host in hosts],
                    },
                    opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
                )
            )

        for app in stack.web_apps:
            service = [services[app.name]]
            hosts = acme_hosts(app)
            if hosts:
                if cluster.cluster_issuer:
                    signed_by = {CLUSTER_ISSUER: cluster.cluster_issuer}
                elif acme_issuer is not None:
                    signed_by = {ISSUER: ACME_ISSUER}
                else:
                    signed_by = {}
                ingress(
                    f"{stack.name}-{app.name}",
                    app.name,
                    app,
                    hosts,
                    [{"hosts": hosts, "secretName": f"{app.name}-tls"}],
                    signed_by,
                    service + ([acme_issuer] if acme_issuer is not None else []),
                )
            if app.default_domain and ca_issuer is not None:
                ingress(
                    f"{stack.name}-{app.name}-default-domain",
                    f"{app.name}-default-domain",
                    app,
                    [app.default_domain],
                    [{"hosts": [app.default_domain], "secretName": f"{app.name}-default-domain-tls"}],
                    {ISSUER: CA_ISSUER},
                    service + [ca_issuer],
                )
            own = [d for d in app.domains if not d.acme]
            if not own:
                continue
            tls = []
            for domain in own:
                cert_config, key_config = domain.own_certificate
                secret = k8s.core.v1.Secret(
                    f"{stack.name}-{app.name}-{_slug(domain.host)}-tls",
                    metadata={
                        "name": f"{app.name}-{_slug(domain.host)}-tls",
                        "namespace": namespace,
                        "labels": labels(stack.name, app.name, "edge"),
                    },
                    type="kubernetes.io/tls",
                    string_data={"tls.crt": config_value(cert_config), "tls.key": config_value(key_config)},
                    opts=child,
                )
                self.tls_secrets.append(secret)
                tls.append({"hosts": [domain.host], "secretName": secret.metadata.name})
            ingress(
                f"{stack.name}-{app.name}-own-certificates",
                f"{app.name}-own-certificates",
                app,
                [d.host for d in own],
                tls,
                {},
                service,
            )
        self.register_outputs(
            {
                "hosts": {app.name: [d.host for d in app.domains] + [app.default_domain] for app in stack.web_apps},
                "certificates": certificate_sources(stack, cluster),
            }
        )
