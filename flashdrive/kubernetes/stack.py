"""Compile a resolved stack into Pulumi kubernetes resources, one component per idea."""

from __future__ import annotations

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
from flashdrive.kubernetes.settings import ClusterSettings
from flashdrive.model.stack import ResolvedStack


def build_kubernetes_stack(stack: ResolvedStack, cluster: ClusterSettings) -> dict:
    namespace = Namespace(stack.name, cluster.namespace)
    ns = namespace.name
    NetworkPolicies(stack, cluster, ns)
    _, tls = database_tls(stack.name, stack.databases.values())
    databases = {name: KubernetesDatabase(stack.name, db, ns, cluster.image_pull_secrets, tls.get(name))
                 for name, db in stack.databases.items()}
    endpoints = {name: db.endpoint for name, db in databases.items()}
    nodes_of = {disk.name: app.nodes for app in stack.apps.values() for disk in app.disks}
    disks = {disk.name: KubernetesDisk(stack.name, disk, nodes_of[disk.name], ns, cluster.storage_class) for disk in stack.disks}
    shared = sorted(name for name, disk in disks.items() if disk.shared)
    if shared and not cluster.storage_class:
        pulumi.log.warn(f"disk {', '.join(repr(name) for name in shared)} is shared by copies on several nodes "
                        "(ReadWriteMany), and kubernetes.storage_class is not set: the cluster's default class is "
                        "often ReadWriteOnce only (EBS, Persistent Disk, local-path), and then the claim stays Pending "
                        "and no copy starts. Set kubernetes.storage_class to a class that offers ReadWriteMany "
                        "(EFS, Filestore, Azure Files, NFS, CephFS)")
    images: dict[str, Image] = {}
    if stack.builds:
        assert cluster.registry is not None  # cluster_settings refuses source apps without one
        images = {key: Image(build, cluster.registry) for key, build in stack.builds.items()}
    apps: dict[str, KubernetesApp] = {}
    release_of_source: dict[str, KubernetesApp] = {}
    # Apps that run their source's release first; the others of that source wait for it.
    for name, app in sorted(stack.apps.items(), key=lambda item: item[1].release is None):
        image = images[app.build.key].reference if app.build is not None else app.image
        owner = release_of_source.get(app.build.key) if app.build is not None else None
        apps[name] = KubernetesApp(stack, cluster, app, image, ns, disks, endpoints,
                         depends_on=[db.stateful_set for db in databases.values()], release_of_source=owner)
        if app.build is not None and apps[name].release is not None:
            release_of_source.setdefault(app.build.key, apps[name])
    for component in apps.values():
        if component.app.cron:
            # After the app's Deployment: a run starts on the version the deploy rolled out.
            KubernetesCron(stack.name, component.app, component.pod, ns, depends_on=[component.deployment])
    if stack.web_apps:
        KubernetesEdge(stack, cluster, ns, {name: app.service for name, app in apps.items()})
    if stack.backups.enabled and (stack.disks or stack.databases):
        KubernetesBackups(stack, ns, disks, databases, cluster.storage_class, cluster.image_pull_secrets)
    outputs = {
        "urls": {app.name: app.public_url for app in stack.web_apps},
        "internal": {**{app.name: f"{app.name}:{app.port}" if app.port else app.name for app in stack.apps.values()},
                     **{db.name: f"{db.name}:{db.port}" for db in stack.databases.values()}},
        "namespace": ns,
    }
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs
