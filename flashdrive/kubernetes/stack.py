"""Compile a resolved stack into Pulumi kubernetes resources, one component per idea."""

from __future__ import annotations

import pulumi

from flashdrive.credentials import REPOSITORY_PASSWORD, Credentials
from flashdrive.database_tls import database_tls
from flashdrive.kubernetes.app import KubernetesApp
from flashdrive.kubernetes.backup import KubernetesBackups, repository_claim_name
from flashdrive.kubernetes.cron import KubernetesCron
from flashdrive.kubernetes.database import KubernetesDatabase
from flashdrive.kubernetes.disk import KubernetesDisk
from flashdrive.kubernetes.edge import KubernetesEdge
from flashdrive.kubernetes.image import Image
from flashdrive.kubernetes.namespace import Namespace
from flashdrive.kubernetes.network_policy import NetworkPolicies
from flashdrive.kubernetes.preview import RepositoryReader, Seed, SeedSource, reader_name
from flashdrive.kubernetes.settings import ClusterSettings
from flashdrive.model.stack import ResolvedStack
from flashdrive.spec.contract import VolumeTarget


def build_kubernetes_stack(stack: ResolvedStack, cluster: ClusterSettings) -> dict:
    preview = stack.preview
    retain = preview is None  # a preview's data is a scrubbed copy: it goes with the preview
    namespace = Namespace(stack.name, cluster.namespace, retain=retain)
    ns = namespace.name
    NetworkPolicies(stack, cluster, ns)
    _, tls = database_tls(stack.name, stack.databases.values())
    databases = {name: KubernetesDatabase(stack.name, db, ns, cluster.image_pull_secrets, tls.get(name), retain=retain)
                 for name, db in stack.databases.items()}
    endpoints = {name: db.endpoint for name, db in databases.items()}
    nodes_of = {disk.name: app.nodes for app in stack.apps.values() for disk in app.disks}
    disks = {disk.name: KubernetesDisk(stack.name, disk, nodes_of[disk.name], ns, cluster.storage_class, retain=retain)
             for disk in stack.disks}
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
    seed = preview.seed if preview is not None else None
    # A preview's releases wait for its seed; its copies for its scrub (flashdrive.kubernetes.preview).
    gates: list = [_seed(stack, cluster, ns, disks, databases).job] if seed is not None else []
    apps: dict[str, KubernetesApp] = {}
    release_of_source: dict[str, KubernetesApp] = {}
    # Apps that run their source's release first; the others of that source wait for it.
    for name, app in sorted(stack.apps.items(), key=lambda item: item[1].release is None):
        image = images[app.build.key].reference if app.build is not None else app.image
        owner = release_of_source.get(app.build.key) if app.build is not None else None
        apps[name] = KubernetesApp(stack, cluster, app, image, ns, disks, endpoints,
                         depends_on=[db.stateful_set for db in databases.values()] + gates, release_of_source=owner,
                         defer_copies=seed is not None)
        if app.build is not None and apps[name].release is not None:
            release_of_source.setdefault(app.build.key, apps[name])
    if seed is not None:
        # Restore, then every release, then the scrub, then the copies.
        if seed.scrub and seed.scrub_app:
            releases = [component.release for component in apps.values() if component.release is not None]
            gates = [*gates, apps[seed.scrub_app].scrub_job(seed.scrub, depends_on=gates + releases)]
        for component in apps.values():
            component.start_copies(gates)
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
        **({"preview": _described(stack, cluster)} if preview is not None else {}),
    }
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs


def _seed(stack: ResolvedStack, cluster: ClusterSettings, ns: pulumi.Output[str], disks: dict[str, KubernetesDisk],
          databases: dict[str, KubernetesDatabase]) -> Seed:
    """The base's repository served read-only to this preview, and the Job that restores from it."""
    preview = stack.preview
    assert preview is not None and cluster.base_namespace is not None
    target = stack.backups.settings.target
    assert isinstance(target, VolumeTarget), "validation allows a seed from a volume target only"
    source = SeedSource(preview.base, cluster.base_namespace, preview.number, target.volume)
    # The preview's own password for the reader; the base's repository password, from the master
    # key the preview shares with its base (flashdrive.model.preview), decrypts what it reads.
    reader_password = Credentials(stack.name).derive("previews/reader-password")
    reader = RepositoryReader(stack.name, source, cluster.namespace, stack.backups.server_image, reader_password,
                              cluster.image_pull_secrets)
    return Seed(stack.name, cluster, source, ns, stack.backups.image, stack.disks,
                {name: disk.name for name, disk in disks.items()}, list(stack.databases.values()),
                {name: db.secret_name for name, db in databases.items()}, reader_password,
                Credentials(preview.base).derive(REPOSITORY_PASSWORD, 48),
                depends_on=[*(db.stateful_set for db in databases.values()), reader.deployment, reader.policy])


def _described(stack: ResolvedStack, cluster: ClusterSettings) -> dict:
    """What plans show of the preview, with where a Kubernetes seed reads from."""
    preview = stack.preview
    assert preview is not None
    described = preview.describe()
    target = stack.backups.settings.target
    if described.get("seed") and isinstance(target, VolumeTarget) and cluster.base_namespace is not None:
        claim = repository_claim_name(preview.base, target.volume)
        described["seed"] = {**described["seed"], "from": (
            f"backups of stack {preview.base} (claim {claim} in namespace {cluster.base_namespace}), read only "
            f"through {reader_name(preview.number)}, which a NetworkPolicy opens to the seed Job of namespace "
            f"{cluster.namespace} alone")}
    return described
