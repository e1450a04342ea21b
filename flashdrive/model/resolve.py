"""Spec → resolved model: defaults applied, images chosen, builds described, names fixed."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from flashdrive.buildpack.user import APP_UID
from flashdrive.cron.schedule import expand
from flashdrive.engines import ENGINES
from flashdrive.model.images import image_for
from flashdrive.model.stack import (
    PIDS_LIMIT,
    BackupTarget,
    ClusterSettings,
    RepositoryRest,
    RepositoryS3,
    RepositoryVolume,
    ResolvedApp,
    ResolvedBackups,
    ResolvedBuild,
    ResolvedCronJob,
    ResolvedDatabase,
    ResolvedDisk,
    ResolvedDomain,
    ResolvedEarlierMajor,
    ResolvedHealth,
    ResolvedStack,
)
from flashdrive.problems import InputError, Mark, Problem
from flashdrive.spec.contract import AppSpec, DatabaseSpec, RestTarget, S3Target, Spec, VolumeTarget, config_keys
from flashdrive.spec.env import env_vars
from flashdrive.spec.loader import LoadedSpec
from flashdrive.spec.sizes import SIZES

if TYPE_CHECKING:
    from flashdrive.buildpack.detection import Detection
    from flashdrive.spec.detect import Detections

CA_BUNDLE_IN_CONTEXT = ".flashdrive/ca.pem"


def _database(stack: str, name: str, db: DatabaseSpec, spec: Spec) -> ResolvedDatabase:
    version = db.engine_version
    facts = ENGINES[db.engine]

    def major(v: str) -> str:
        return facts.major(v) or v

    def volume(index: int, v: str) -> str:
        # The first major keeps the name the database always had, so a stack that never upgraded
        # never sees its volume renamed; each later major's data is on a volume of its own.
        base = f"{stack}-db-{name}"
        return base if index == 0 else f"{base}-{facts.volume_major_prefix}{major(v).replace('.', '')}"

    earlier = tuple(
        ResolvedEarlierMajor(
            version=v,
            major=major(v),
            image=image_for(spec.images, db.engine, v),
            volume_name=volume(i, v),
            data_dir=facts.data_path(v),
        )
        for i, v in enumerate(db.upgraded_from)
    )
    return ResolvedDatabase(
        name=name,
        engine=db.engine,
        version=version,
        image=image_for(spec.images, db.engine, version),
        port=db.port,
        size=SIZES[db.size],
        data_gb=db.data_gb,
        # The database's name is its user and its database: one less thing to look up.
        user=facts.user or name,
        database=facts.database or name,
        volume_name=volume(len(earlier), version),
        data_dir=facts.data_path(version),
        major=major(version),
        earlier=earlier,
    )


def _source_key(stack: str, source: str) -> str:
    """A stable name per source folder (as written, relative to the spec), the same on every machine."""
    normal = Path(source).as_posix().strip("/").removeprefix("./") or "."
    slug = re.sub(r"[^a-z0-9]+", "-", Path(normal).name.lower()).strip("-") or "app"
    digest = hashlib.sha256(normal.encode()).hexdigest()[:6]
    return f"{stack}-{slug}-{digest}"


def _health(app: AppSpec) -> ResolvedHealth | None:
    health = app.health
    if health is None:
        return None
    return ResolvedHealth(health.path, health.interval_s, health.timeout_s, health.retries, health.start_period_s)


def _build(loaded: LoadedSpec, name: str, app: AppSpec, source: str, detection: Detection) -> ResolvedBuild:
    """The build of `app`, built from the folder `source` (its source, as written in the spec)."""
    from flashdrive.buildpack import render_dockerfile

    spec = loaded.spec
    context = loaded.source_dir(name)
    build_args = tuple(
        sorted(
            # Without references a value is one literal segment, or none when empty.
            (var.name, "".join(s for s in var.segments if isinstance(s, str)))
            for var in env_vars(app)
            if var.at_build and not var.secret and var.kind == "template" and not var.references
        )
    )
    ca_bundle = (loaded.base_dir / spec.build.ca_bundle).resolve() if spec.build.ca_bundle else None
    base_image = image_for(spec.images, "python", detection.python_version)
    build_image = image_for(spec.images, "python_build", detection.python_version)
    # The image is shared by every app of this source: it prepares every mount they use.
    mounts = sorted(
        {
            disk.mount
            for other in spec.apps.values()
            if other.source and Path(other.source).as_posix() == Path(source).as_posix()
            for disk in other.disks
        }
    )
    dockerfile = render_dockerfile(
        detection,
        base_image=base_image,
        build_image=build_image,
        build_args=[n for n, _ in build_args],
        ca_bundle=CA_BUNDLE_IN_CONTEXT if ca_bundle else None,
        pip_index_url=spec.build.pip_index_url,
        disk_mounts=mounts,
    )
    has_own_ignore = (context / ".dockerignore").exists()
    return ResolvedBuild(
        key=_source_key(spec.stack, source),
        context=context,
        dockerfile=dockerfile,
        python_version=detection.python_version,
        base_image=base_image,
        build_image=build_image,
        build_args=build_args,
        ca_bundle=ca_bundle,
        dockerignore=None if has_own_ignore else _build_ignore(context),
    )


def _build_ignore(context: Path) -> str:
    """Without a .dockerignore of its own, the build leaves out what git leaves out (a Heroku slug is
    built from git), then flashdrive's list of local state and secret files, last, so that no `!`
    line of a .gitignore can put a secret back."""
    from flashdrive.buildpack import default_dockerignore
    from flashdrive.buildpack.gitignore import gitignore_as_dockerignore

    from_git = gitignore_as_dockerignore(context)
    if not from_git:
        return default_dockerignore()
    return "\n".join(["# From the app's .gitignore, as Docker reads patterns:", *from_git, ""]) + default_dockerignore()


def _procfile_release_owners(spec: Spec) -> set[str]:
    """The Procfile's release runs once per source: for its first web app, else its first app.

    Apps sharing a source (web + worker) would otherwise migrate twice, concurrently.
    """
    owners: dict[str, str] = {}
    for name, app in sorted(spec.apps.items(), key=lambda item: item[1].type != "web"):
        if app.source and app.release is None:
            owners.setdefault(Path(app.source).as_posix(), name)
    return set(owners.values())


def _app(loaded: LoadedSpec, name: str, app: AppSpec, detection: Detection | None, release_owner: bool) -> ResolvedApp:
    spec = loaded.spec
    stack = spec.stack
    build = command = release = None
    if app.source and detection is not None:
        from flashdrive.buildpack import procfile_command

        build = _build(loaded, name, app, app.source, detection)
        command = tuple(procfile_command(detection, app.process_name))
        release = detection.release if release_owner else None
    if isinstance(app.release, str):
        release = app.release
    elif app.release is False:
        release = None
    disks = tuple(
        ResolvedDisk(d.name, name, d.mount, d.size_gb, d.access == "read_only", f"{stack}-disk-{d.name}", d.exclusive)
        for d in app.disks
    )
    domains = tuple(
        ResolvedDomain(d.host, d.certificate.config if d.certificate else None, d.key.config if d.key else None)
        for d in app.domain_entries
    )
    return ResolvedApp(
        name=name,
        type=app.type,
        size=SIZES[app.size],
        nodes=app.nodes,
        egress=app.egress,
        port=app.listen_port,
        health=_health(app),
        command=command,
        release=release,
        env=tuple(env_vars(app)),
        disks=disks,
        domains=domains,
        default_domain=f"{name}.{stack}.{spec.tls.default_domain}" if app.type == "web" else None,
        build=build,
        image=app.image,
        pids_limit=PIDS_LIMIT[app.size],
        release_timeout_s=app.release_timeout_s,
        shutdown_timeout_s=app.shutdown_timeout_s,
        cron=tuple(
            ResolvedCronJob(job.name, name, job.schedule.strip(), expand(job.schedule), job.command, job.timeout_s)
            for job in app.cron
        ),
    )


def _backup_target(spec: Spec) -> BackupTarget:
    target = spec.backups.target
    if isinstance(target, VolumeTarget):
        return RepositoryVolume(target.volume)
    if isinstance(target, S3Target):
        s3 = target.s3
        return RepositoryS3(
            s3.endpoint,
            s3.bucket,
            s3.access_key.config,
            s3.secret_key.config,
            (s3.prune.access_key.config, s3.prune.secret_key.config) if s3.prune else None,
        )
    assert isinstance(target, RestTarget)
    rest = target.rest
    return RepositoryRest(
        rest.url,
        rest.password.config if rest.password else None,
        (rest.prune.url or rest.url, rest.prune.password.config) if rest.prune else None,
    )


def _cluster(loaded: LoadedSpec, stack: str, apps: dict[str, ResolvedApp]) -> ClusterSettings:
    """The `kubernetes:` settings, checked once. Validation checks them only when the spec says
    `backend: kubernetes`; `plan --backend kubernetes` overrides the backend afterwards, so what the
    cluster cannot do without is checked here as well."""
    settings = loaded.spec.kubernetes
    built = sorted(name for name, app in apps.items() if app.build is not None)
    if built and not settings.registry:
        raise InputError(
            [
                Problem(
                    f"apps built from source ({', '.join(built)}) need a registry the cluster pulls from",
                    Mark(str(loaded.file), 0, 0),
                    "kubernetes.registry",
                    "add `kubernetes: {registry: registry.example.com/" + stack + "}`",
                )
            ]
        )
    return ClusterSettings(
        namespace=settings.namespace or stack,
        storage_class=settings.storage_class,
        ingress_class=settings.ingress_class,
        cluster_issuer=settings.cluster_issuer,
        registry=settings.registry.rstrip("/") if settings.registry else None,
        acme_email=loaded.spec.tls.email,
        image_pull_secrets=tuple(settings.image_pull_secrets),
        controller_namespace=settings.ingress_controller_namespace,
        controller_cidrs=tuple(settings.ingress_controller_cidrs),
        dns_cidrs=tuple(settings.dns_cidrs),
        release_timeout_s=settings.release_timeout_s,
    )


def resolve(
    loaded: LoadedSpec, detections: Detections, backend: str | None = None, preview: int | None = None
) -> ResolvedStack:
    """The stack the spec describes, or its preview for pull request `preview` (model/preview.py).
    `detections`: what the detect step found in the source folders (flashdrive/spec/detect.py); an
    app built from source that has none is resolved without its build (a spec loaded without detection)."""
    if preview is not None:
        from flashdrive.model.preview import resolve_preview

        return resolve_preview(loaded, detections, preview, backend)
    spec = loaded.spec
    stack = spec.stack
    owners = _procfile_release_owners(spec)
    backend = backend or spec.backend
    apps = {name: _app(loaded, name, app, detections.get(name), name in owners) for name, app in spec.apps.items()}
    return ResolvedStack(
        name=stack,
        backend=backend,  # type: ignore[arg-type]  # the CLI's --backend is a str checked by argparse's choices
        apps=apps,
        databases={name: _database(stack, name, db, spec) for name, db in spec.databases.items()},
        tls_email=spec.tls.email,
        default_domain=spec.tls.default_domain,
        edge_image=image_for(spec.images, "caddy"),
        edge_volume_name=f"{stack}-edge-data",
        backups=ResolvedBackups(
            spec.backups.enabled,
            spec.backups.schedule,
            spec.backups.keep_days,
            _backup_target(spec),
            image_for(spec.images, "restic"),
            image_for(spec.images, "rclone"),
            spec.backups.verify.strip(),
        ),
        app_uid=APP_UID,
        config_keys=tuple(config_keys(spec)),
        acme_ca=spec.tls.acme_ca,
        acme_ca_root_config=spec.tls.acme_ca_root.config if spec.tls.acme_ca_root else None,
        cluster=_cluster(loaded, stack, apps) if backend == "kubernetes" else None,
    )
