"""The `kubernetes:` settings of a spec, resolved for the backend: defaults applied, checked once.

Validation checks them only when the spec says `backend: kubernetes`; `plan --backend kubernetes`
overrides the backend afterwards, so what the cluster cannot do without is checked here as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from flashdrive.model.stack import ResolvedStack
from flashdrive.problems import InputError, Mark, Problem
from flashdrive.spec.contract import KubernetesSpec

# Where the ingress controller of a well-known class runs by default, so the network policy can
# admit that namespace alone; any other class is admitted from every namespace, on web ports only.
INGRESS_CONTROLLER_NAMESPACES = {"nginx": "ingress-nginx"}


@dataclass(frozen=True)
class ClusterSettings:
    namespace: str
    storage_class: str | None
    ingress_class: str
    cluster_issuer: str | None
    registry: str | None
    acme_email: str | None = None
    image_pull_secrets: tuple[str, ...] = ()
    controller_namespace: str | None = None
    controller_cidrs: tuple[str, ...] = ()
    dns_cidrs: tuple[str, ...] = ()
    release_timeout_s: int = 1800

    @property
    def ingress_controller_namespace(self) -> str | None:
        return self.controller_namespace or INGRESS_CONTROLLER_NAMESPACES.get(self.ingress_class)

    @property
    def acme_issuer(self) -> bool:
        """Whether the stack creates its own ACME Issuer: an email, and no ClusterIssuer to use instead."""
        return self.cluster_issuer is None and self.acme_email is not None


def cluster_settings(settings: KubernetesSpec, stack: ResolvedStack, spec_file: str) -> ClusterSettings:
    built = sorted(name for name, app in stack.apps.items() if app.build is not None)
    if built and not settings.registry:
        raise InputError([Problem(
            f"apps built from source ({', '.join(built)}) need a registry the cluster pulls from",
            Mark(spec_file, 0, 0), "kubernetes.registry",
            "add `kubernetes: {registry: registry.example.com/" + stack.name + "}`")])
    return ClusterSettings(
        namespace=settings.namespace or stack.name,
        storage_class=settings.storage_class,
        ingress_class=settings.ingress_class,
        cluster_issuer=settings.cluster_issuer,
        registry=settings.registry.rstrip("/") if settings.registry else None,
        acme_email=stack.tls_email,
        image_pull_secrets=tuple(settings.image_pull_secrets),
        controller_namespace=settings.ingress_controller_namespace,
        controller_cidrs=tuple(settings.ingress_controller_cidrs),
        dns_cidrs=tuple(settings.dns_cidrs),
        release_timeout_s=settings.release_timeout_s,
    )
