"""Compile a resolved stack into Pulumi docker resources, one component per idea.

`DockerBackend` is the docker side of the contract in flashdrive/backend.py: the loop that calls it
is `flashdrive.backend.build_with`.
"""

from __future__ import annotations

from typing import Any

import pulumi

from flashdrive.credentials import Credentials
from flashdrive.database_tls import database_tls
from flashdrive.docker.app import DockerApp
from flashdrive.docker.backups import DockerBackups
from flashdrive.docker.database import DockerDatabase
from flashdrive.docker.disk import DockerDisk
from flashdrive.docker.edge import DockerEdge
from flashdrive.docker.host import DockerHost
from flashdrive.docker.image import DockerBuild
from flashdrive.docker.network import StackNetwork
from flashdrive.docker.seed import Seed
from flashdrive.model.stack import ResolvedApp, ResolvedStack


class DockerBackend:
    def __init__(self, stack: ResolvedStack, host: DockerHost | None = None):
        self.stack = stack
        self.host = host or DockerHost.from_config()
        # Every docker resource is created through this provider: its children inherit it.
        self.on_host = pulumi.ResourceOptions(providers=[self.host.provider(stack.name)])
        self.credentials = Credentials(stack.name)
        self.retain = stack.preview is None  # a preview's volumes go with it: copies of the base's data
        self.seed: Seed | None = None
        self.gate: list = []  # what copies and jobs wait for besides the releases: a preview's scrub

    def foundation(self) -> None:
        stack, on_host = self.stack, self.on_host
        self.network = StackNetwork(stack.name, opts=on_host)
        self.ca, tls = database_tls(stack.name, stack.databases.values())
        self.databases = {
            name: DockerDatabase(
                stack.name,
                db,
                self.network,
                self.credentials,
                self.host.host,
                tls.get(name),
                opts=on_host,
                retain=self.retain,
            )
            for name, db in stack.databases.items()
        }
        self.endpoints = {name: db.endpoint for name, db in self.databases.items()}
        self.disks = {disk.name: DockerDisk(stack.name, disk, opts=on_host, retain=self.retain) for disk in stack.disks}
        self.builds = {
            key: DockerBuild(build, self.host.platform, self.host.host, opts=on_host)
            for key, build in stack.builds.items()
        }
        # A preview seeded from its base's backups: restore, then the releases, then the scrub, then
        # the copies (flashdrive/docker/seed.py).
        if stack.preview is not None and stack.preview.seed is not None:
            self.seed = Seed(
                stack,
                self.host.host,
                self.network.internal,
                {name: e.password for name, e in self.endpoints.items()},
                depends_on=self._after_databases() + [d.volume for d in self.disks.values()],
                opts=on_host,
            )

    def _after_databases(self) -> list:
        return [db.container for db in self.databases.values()]

    def app(self, app: ResolvedApp, release_of_source: DockerApp | None) -> DockerApp:
        build = self.builds[app.build.key] if app.build is not None else None
        gate = [release_of_source.release] if release_of_source is not None and release_of_source.release else []
        return DockerApp(
            self.stack,
            app,
            build.reference if build else None,
            self.network,
            self.disks,
            self.endpoints,
            self.host,
            self.credentials,
            image_version=build.version if build else str(app.image),
            depends_on=self._after_databases()
            + gate
            + ([build.cleanup] if build else [])
            + ([self.seed.restore] if self.seed else []),
            opts=self.on_host,
            defer_copies=self.seed is not None,
        )

    def start(self, apps: dict[str, DockerApp]) -> None:
        if self.seed is None:
            return  # every app registered its copies already
        seeded_from = self.stack.preview.seed if self.stack.preview is not None else None
        scrubber = apps[seeded_from.scrub_app] if seeded_from is not None and seeded_from.scrub_app else None
        self.gate = self.seed.scrub(
            scrubber.image if scrubber else "",
            scrubber.env("scrub") if scrubber else {},
            self.host.host,
            depends_on=[a.release for a in apps.values() if a.release is not None],
        )
        for component in apps.values():
            component.start_copies(self.gate)

    def cron(self, component: DockerApp, release_of_source: DockerApp | None) -> None:
        from flashdrive.docker.cron import DockerCron  # the scheduler and cronsim: only for apps with cron jobs

        # Jobs run the image once released: after this app's release, or its source's.
        owner = release_of_source
        release = [owner.release] if owner is not None and owner.release is not None else []
        DockerCron(
            self.stack.name,
            component.app,
            component.image,
            component.envs("cron"),
            self.network,
            component.volumes,
            depends_on=self._after_databases() + release + self.gate,
            opts=self.on_host,
        )

    def backups(self) -> None:
        DockerBackups(
            self.stack,
            self.network,
            self.disks,
            self.endpoints,
            self.credentials,
            depends_on=self._after_databases(),
            opts=self.on_host,
        )

    def edge(self, apps: dict[str, DockerApp]) -> dict[str, Any]:
        edge = DockerEdge(
            self.stack,
            self.network,
            self.host.host,
            depends_on=[c for a in apps.values() if a.app.is_web for c in a.containers],
            opts=self.on_host,
            publish_address=self.host.publish_address,
        )
        outputs: dict[str, Any] = {"edge": edge.container.name}
        if self.ca is not None:
            outputs["database_ca"] = self.ca.cert_pem  # for clients that verify the chain (sslmode=verify-full)
        if self.seed is not None:
            outputs["seed"] = self.seed.restore.stdout  # what the restore did: snapshots, or "no backup yet"
        return outputs
