"""Compile a resolved stack into Pulumi kubernetes resources, one component per idea.

`KubernetesBackend` is the kubernetes side of the contract in flashdrive/backend.py: the loop that
calls it is `flashdrive.backend.build_with`.
"""

from __future__ import annotations

from typing import Any

import pulumi

from flashdrive.database_tls import database_tls
from flashdrive.kubernetes.app import KubernetesApp
from flashdrive.kubernetes.backup import KubernetesBackups
from flashdrive.kubernetes.cron import KubernetesCron
from flashdrive.kubernetes.database import KubernetesDatabase
from flashdrive.kubernetes.disk import KubernetesDisk
from flashdrive.kubernetes.edge import KubernetesEdge
from flashdrive.kubernetes.image import Image
from flashdrive.kubernetes.namespace import Namespace
from flashdrive.kubernetes.network_policy import NetworkPolicies
from flashdrive.model.stack import ClusterSettings, ResolvedApp, ResolvedStack


class KubernetesBackend:
    def __init__(self, stack: ResolvedStack):
        assert stack.cluster is not None  # resolve() settles it for the kubernetes backend
        self.stack = stack
        self.cluster: ClusterSettings = stack.cluster

    def foundation(self) -> None:
        stack, cluster = self.stack, self.cluster
        namespace = Namespace(stack.name, cluster.namespace)
        self.ns = ns = namespace.name
        NetworkPolicies(stack, cluster, ns)
        _, tls = database_tls(stack.name, stack.databases.values())
        self.databases = {name: KubernetesDatabase(stack.name, db, ns, cluster.image_pull_secrets, tls.get(name))
                          for name, db in stack.databases.items()}
        self.endpoints = {name: db.endpoint for name, db in self.databases.items()}
        nodes_of = {disk.name: app.nodes for app in stack.apps.values() for disk in app.disks}
        self.disks = {disk.name: KubernetesDisk(stack.name, disk, nodes_of[disk.name], ns, cluster.storage_class)
                      for disk in stack.disks}
        shared = sorted(name for name, disk in self.disks.items() if disk.shared)
        if shared and not cluster.storage_class:
            pulumi.log.warn(f"disk {', '.join(repr(name) for name in shared)} is shared by copies on several nodes "
                            "(ReadWriteMany), and kubernetes.storage_class is not set: the cluster's default class is "
                            "often ReadWriteOnce only (EBS, Persistent Disk, local-path), and then the claim stays "
                            "Pending and no copy starts. Set kubernetes.storage_class to a class that offers "
                            "ReadWriteMany (EFS, Filestore, Azure Files, NFS, CephFS)")
        self.images: dict[str, Image] = {}
        if stack.builds:
            assert cluster.registry is not None  # resolve() refuses source apps without one
            self.images = {key: Image(build, cluster.registry) for key, build in stack.builds.items()}

    def app(self, app: ResolvedApp, release_of_source: KubernetesApp | None) -> KubernetesApp:
        image = self.images[app.build.key].reference if app.build is not None else app.image
        return KubernetesApp(self.stack, self.cluster, app, image, self.ns, self.disks, self.endpoints,
                             depends_on=[db.stateful_set for db in self.databases.values()],
                             release_of_source=release_of_source)

    def start(self, apps: dict[str, KubernetesApp]) -> None:
        pass  # every Deployment is registered by app(): nothing runs between the releases and the pods

    def cron(self, component: KubernetesApp, release_of_source: KubernetesApp | None) -> None:
        # After the app's Deployment, which waits for the release: a run starts on the version the
        # deploy rolled out.
        KubernetesCron(self.stack.name, component.app, component.pod, self.ns, depends_on=[component.deployment])

    def backups(self) -> None:
        KubernetesBackups(self.stack, self.ns, self.disks, self.databases, self.cluster.storage_class,
                          self.cluster.image_pull_secrets)

    def edge(self, apps: dict[str, KubernetesApp]) -> dict[str, Any]:
        if self.stack.web_apps:
            KubernetesEdge(self.stack, self.cluster, self.ns, {name: app.service for name, app in apps.items()})
        return {"namespace": self.ns}
