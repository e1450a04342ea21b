"""Compile a resolved stack into Pulumi kubernetes resources, one component per idea.

`KubernetesBackend` is the kubernetes side of the contract in flashdrive/backend.py: the loop that
calls it is `flashdrive.backend.build_with`.
"""

from __future__ import annotations

from typing import Any

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
from flashdrive.model.stack import ClusterSettings, RepositoryVolume, ResolvedApp, ResolvedStack


class KubernetesBackend:
    def __init__(self, stack: ResolvedStack):
        assert stack.cluster is not None  # resolve() settles it for the kubernetes backend
        self.stack = stack
        self.cluster: ClusterSettings = stack.cluster
        self.retain = stack.preview is None  # a preview's data is a scrubbed copy: it goes with the preview
        # What a preview's releases wait for (its seed), then its copies (its scrub).
        self.gates: list = []

    def foundation(self) -> None:
        stack, cluster, retain = self.stack, self.cluster, self.retain
        namespace = Namespace(stack.name, cluster.namespace, retain=retain)
        self.ns = ns = namespace.name
        NetworkPolicies(stack, cluster, ns)
        _, tls = database_tls(stack.name, stack.databases.values())
        self.databases = {
            name: KubernetesDatabase(stack.name, db, ns, cluster.image_pull_secrets, tls.get(name), retain=retain)
            for name, db in stack.databases.items()
        }
        self.endpoints = {name: db.endpoint for name, db in self.databases.items()}
        nodes_of = {disk.name: app.nodes for app in stack.apps.values() for disk in app.disks}
        self.disks = {
            disk.name: KubernetesDisk(stack.name, disk, nodes_of[disk.name], ns, cluster.storage_class, retain=retain)
            for disk in stack.disks
        }
        shared = sorted(name for name, disk in self.disks.items() if disk.shared)
        if shared and not cluster.storage_class:
            pulumi.log.warn(
                f"disk {', '.join(repr(name) for name in shared)} is shared by copies on several nodes "
                "(ReadWriteMany), and kubernetes.storage_class is not set: the cluster's default class is "
                "often ReadWriteOnce only (EBS, Persistent Disk, local-path), and then the claim stays "
                "Pending and no copy starts. Set kubernetes.storage_class to a class that offers "
                "ReadWriteMany (EFS, Filestore, Azure Files, NFS, CephFS)"
            )
        self.images: dict[str, Image] = {}
        if stack.builds:
            assert cluster.registry is not None  # resolve() refuses source apps without one
            self.images = {key: Image(build, cluster.registry) for key, build in stack.builds.items()}
        self.seed = stack.preview.seed if stack.preview is not None else None
        if self.seed is not None:
            self.gates = [_seed(stack, cluster, ns, self.disks, self.databases).job]

    def app(self, app: ResolvedApp, release_of_source: KubernetesApp | None) -> KubernetesApp:
        if app.build is not None:
            image: pulumi.Input[str] = self.images[app.build.key].reference
        elif app.image is not None:
            image = app.image
        else:  # the rules give every app a source or an image, and the pipeline detects every source
            raise ValueError(f"app '{app.name}' has neither a build nor an image to run")
        return KubernetesApp(
            self.stack,
            self.cluster,
            app,
            image,
            self.ns,
            self.disks,
            self.endpoints,
            depends_on=[db.stateful_set for db in self.databases.values()] + self.gates,
            release_of_source=release_of_source,
            defer_copies=self.seed is not None,
        )

    def start(self, apps: dict[str, KubernetesApp]) -> None:
        seed = self.seed
        if seed is None:
            return  # every Deployment was registered by app()
        # Restore, then every release, then the scrub, then the copies.
        if seed.scrub and seed.scrub_app:
            releases = [component.release for component in apps.values() if component.release is not None]
            self.gates = [*self.gates, apps[seed.scrub_app].scrub_job(seed.scrub, depends_on=self.gates + releases)]
        for component in apps.values():
            component.start_copies(self.gates)

    def cron(self, component: KubernetesApp, release_of_source: KubernetesApp | None) -> None:
        # After the app's Deployment, which waits for the release: a run starts on the version the
        # deploy rolled out.
        KubernetesCron(self.stack.name, component.app, component.pod, self.ns, depends_on=[component.deployment])

    def backups(self) -> None:
        KubernetesBackups(
            self.stack, self.ns, self.disks, self.databases, self.cluster.storage_class, self.cluster.image_pull_secrets
        )

    def edge(self, apps: dict[str, KubernetesApp]) -> dict[str, Any]:
        if self.stack.web_apps:
            KubernetesEdge(self.stack, self.cluster, self.ns, {name: app.service for name, app in apps.items()})
        outputs: dict[str, Any] = {"namespace": self.ns}
        if self.stack.preview is not None:
            outputs["preview"] = _described(self.stack, self.cluster)
        return outputs


def _seed(
    stack: ResolvedStack,
    cluster: ClusterSettings,
    ns: pulumi.Output[str],
    disks: dict[str, KubernetesDisk],
    databases: dict[str, KubernetesDatabase],
) -> Seed:
    """The base's repository served read-only to this preview, and the Job that restores from it."""
    preview = stack.preview
    assert preview is not None and cluster.base_namespace is not None
    target = stack.backups.target
    assert isinstance(target, RepositoryVolume), "validation allows a seed from a volume target only"
    source = SeedSource(preview.base, cluster.base_namespace, preview.number, target.volume)
    # The preview's own password for the reader; the base's repository password, from the master
    # key the preview shares with its base (flashdrive.model.preview), decrypts what it reads.
    reader_password = Credentials(stack.name).derive("previews/reader-password")
    reader = RepositoryReader(
        stack.name,
        source,
        cluster.namespace,
        stack.backups.server_image,
        reader_password,
        cluster.image_pull_secrets,
        uid=stack.app_uid,
    )
    return Seed(
        stack.name,
        cluster,
        source,
        ns,
        stack.backups.image,
        stack.disks,
        {name: disk.name for name, disk in disks.items()},
        list(stack.databases.values()),
        {name: db.secret_name for name, db in databases.items()},
        reader_password,
        Credentials(preview.base).derive(REPOSITORY_PASSWORD, 48),
        depends_on=[*(db.stateful_set for db in databases.values()), reader.deployment, reader.policy],
        uid=stack.app_uid,
    )


def _described(stack: ResolvedStack, cluster: ClusterSettings) -> dict:
    """What plans show of the preview, with where a Kubernetes seed reads from."""
    preview = stack.preview
    assert preview is not None
    described = preview.describe()
    target = stack.backups.target
    if described.get("seed") and isinstance(target, RepositoryVolume) and cluster.base_namespace is not None:
        claim = repository_claim_name(preview.base, target.volume)
        described["seed"] = {
            **described["seed"],
            "from": (
                f"backups of stack {preview.base} (claim {claim} in namespace {cluster.base_namespace}), read only "
                f"through {reader_name(preview.number)}, which a NetworkPolicy opens to the seed Job of namespace "
                f"{cluster.namespace} alone"
            ),
        }
    return described
