"""Compile a resolved stack into Pulumi docker resources, one component per idea."""

from __future__ import annotations

import pulumi

from flashdrive.credentials import Credentials
from flashdrive.database_tls import database_tls
from flashdrive.docker.app import DockerApp
from flashdrive.docker.backups import DockerBackups
from flashdrive.docker.cron import DockerCron
from flashdrive.docker.database import DockerDatabase
from flashdrive.docker.disk import DockerDisk
from flashdrive.docker.edge import DockerEdge
from flashdrive.docker.host import DockerHost
from flashdrive.docker.image import DockerBuild
from flashdrive.docker.network import StackNetwork
from flashdrive.docker.seed import Seed
from flashdrive.model.stack import ResolvedStack


def build_docker_stack(stack: ResolvedStack, host: DockerHost | None = None) -> dict:
    host = host or DockerHost.from_config()
    # Every docker resource is created through this provider: its children inherit it.
    on_host = pulumi.ResourceOptions(providers=[host.provider(stack.name)])
    credentials = Credentials(stack.name)
    network = StackNetwork(stack.name, opts=on_host)
    ca, tls = database_tls(stack.name, stack.databases.values())
    retain = stack.preview is None  # a preview's volumes go with it: copies of the base's data
    databases = {name: DockerDatabase(stack.name, db, network, credentials, host.host, tls.get(name), opts=on_host,
                                      retain=retain)
                 for name, db in stack.databases.items()}
    endpoints = {name: db.endpoint for name, db in databases.items()}
    disks = {disk.name: DockerDisk(stack.name, disk, opts=on_host, retain=retain) for disk in stack.disks}
    builds = {key: DockerBuild(build, host.platform, host.host, opts=on_host) for key, build in stack.builds.items()}
    # A preview seeded from its base's backups: restore, then the releases, then the scrub, then
    # the copies (flashdrive/docker/seed.py).
    seed = None
    seeded_from = stack.preview.seed if stack.preview is not None else None
    if seeded_from is not None:
        seed = Seed(stack, host.host, network.internal, {name: e.password for name, e in endpoints.items()},
                    depends_on=[db.container for db in databases.values()] + [d.volume for d in disks.values()],
                    opts=on_host)
    apps: dict[str, DockerApp] = {}
    release_of_source: dict[str, DockerApp] = {}
    # Apps that run their source's release first; the others of that source wait for it.
    for name, app in sorted(stack.apps.items(), key=lambda item: item[1].release is None):
        build = builds[app.build.key] if app.build is not None else None
        owner = release_of_source.get(app.build.key) if app.build is not None else None
        apps[name] = DockerApp(stack, app, build.reference if build else None, network, disks, endpoints, host, credentials,
                         image_version=build.version if build else str(app.image),
                         depends_on=[db.container for db in databases.values()] + ([owner.release] if owner else [])
                         + ([build.cleanup] if build else []) + ([seed.restore] if seed else []),
                         opts=on_host, defer_copies=seed is not None)
        if app.build is not None and apps[name].release is not None:
            release_of_source.setdefault(app.build.key, apps[name])
    gate: list = []
    if seed is not None and seeded_from is not None:
        scrubber = apps[seeded_from.scrub_app] if seeded_from.scrub_app else None
        gate = seed.scrub(scrubber.image if scrubber else "", scrubber.env("scrub") if scrubber else {}, host.host,
                          depends_on=[a.release for a in apps.values() if a.release is not None])
        for component in apps.values():
            component.start_copies(gate)
    for component in apps.values():
        if component.app.cron:
            # Jobs run the image once released: after this app's release, or its source's.
            source = component.app.build
            owner = release_of_source.get(source.key) if source is not None else component
            release = [owner.release] if owner is not None and owner.release is not None else []
            DockerCron(stack.name, component.app, component.image, component.envs("cron"), network, component.volumes,
                 depends_on=[db.container for db in databases.values()] + release + gate, opts=on_host)
    if stack.backups.enabled and (stack.disks or stack.databases):
        DockerBackups(stack, network, disks, endpoints, credentials, depends_on=[db.container for db in databases.values()], opts=on_host)
    edge = DockerEdge(stack, network, host.host, depends_on=[c for a in apps.values() if a.app.is_web for c in a.containers],
                opts=on_host)
    outputs = {
        "urls": {app.name: app.public_url for app in stack.web_apps},
        "internal": {**{app.name: f"{app.name}:{app.port}" if app.port else app.name for app in stack.apps.values()},
                     **{db.name: f"{db.name}:{db.port}" for db in stack.databases.values()}},
        "edge": edge.container.name,
    }
    if ca is not None:
        outputs["database_ca"] = ca.cert_pem  # for clients that verify the chain (sslmode=verify-full)
    if stack.preview is not None:
        outputs["preview"] = stack.preview.describe()
        if seed is not None:
            outputs["seed"] = seed.restore.stdout  # what the restore did: snapshots, or "no backup yet"
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs
