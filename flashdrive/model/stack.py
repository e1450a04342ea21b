"""The resolved model: everything a backend needs, decided once, backend-agnostic.

Backends compile this into resources and never re-read YAML. Physical names of data-bearing
things (disk volumes, database data, the edge's certificates, the backup repository) derive
from the stack and the thing's own name, never from an app name, so renames keep data.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from msgspec import Struct, field

from flashdrive.spec.contract import LETS_ENCRYPT
from flashdrive.spec.env import EnvVar
from flashdrive.spec.sizes import Size

if TYPE_CHECKING:  # preview.py builds on this module
    from flashdrive.model.preview import ResolvedPreview

RELEASE_TIMEOUT_S = 1800  # what spec.contract defaults release_timeout_s to: resolved values keep it

# PIDs per copy by size: enough for gunicorn/celery worker pools, low enough to stop a fork bomb.
PIDS_LIMIT = {"xs": 128, "s": 256, "m": 512, "l": 1024, "xl": 2048}


# How a deploy changes an app's copies (flashdrive/docker/app.py explains both).
ROLLING, STOP_FIRST = "rolling", "stop-first"


class ResolvedDisk(Struct, frozen=True):
    name: str
    app: str
    mount: str
    size_gb: int
    read_only: bool
    volume_name: str  # physical: <stack>-disk-<name>
    exclusive: bool = False  # never two writers: its app deploys stop-first


class ResolvedDomain(Struct, frozen=True):
    host: str
    certificate_config: str | None = None  # config key of a PEM certificate; None → ACME
    key_config: str | None = None

    @property
    def acme(self) -> bool:
        return self.certificate_config is None

    @property
    def own_certificate(self) -> tuple[str, str]:
        """The config keys of the certificate and key this domain brings (the rules require both)."""
        if self.certificate_config is None or self.key_config is None:
            raise ValueError(f"domain '{self.host}' brings no certificate and key of its own: it uses ACME")
        return self.certificate_config, self.key_config


class ResolvedCronJob(Struct, frozen=True):
    name: str
    app: str
    schedule: str  # as written (`@daily` stays `@daily`)
    expression: str  # its five fields, UTC
    command: str
    timeout_s: int


class ResolvedBuild(Struct, frozen=True):
    """How to build one image from a source folder; apps with the same source share it."""

    key: str  # <stack>-<source slug>: one image per distinct source
    context: Path
    dockerfile: str  # the text
    python_version: str
    base_image: str  # the runtime stage's
    build_image: str  # the build stage's: compilers and -dev headers
    build_args: tuple[tuple[str, str], ...]  # plain build-scoped values, never secrets
    ca_bundle: Path | None
    dockerignore: str | None  # written only when the app has none of its own


class ResolvedHealth(Struct, frozen=True):
    """How a copy of a web app is told healthy (the spec's health_check, defaults filled in)."""

    path: str
    interval_s: int
    timeout_s: int
    retries: int
    start_period_s: int


class ResolvedApp(Struct, frozen=True):
    name: str
    type: Literal["web", "worker"]
    size: Size
    nodes: int
    egress: bool
    port: int | None
    health: ResolvedHealth | None
    command: tuple[str, ...] | None  # None: the image's own command
    release: str | None
    env: tuple[EnvVar, ...]
    disks: tuple[ResolvedDisk, ...]
    domains: tuple[ResolvedDomain, ...]
    default_domain: str | None
    build: ResolvedBuild | None
    image: str | None  # prebuilt image reference, when not built from source
    pids_limit: int = 256
    cron: tuple[ResolvedCronJob, ...] = ()
    release_timeout_s: int = RELEASE_TIMEOUT_S
    shutdown_timeout_s: int = 30

    @property
    def exclusive_disk(self) -> str | None:
        """The disk that must never have two writers, if any (at most one copy writes it anyway)."""
        return next((d.name for d in self.disks if d.exclusive), None)

    @property
    def stop_first(self) -> bool:
        """Deployed by stopping the old copies before starting new ones: a disk that must never have
        two writers. Every other app rolls: new copies start beside the old ones."""
        return self.exclusive_disk is not None

    @property
    def strategy(self) -> tuple[str, str]:
        """How a deploy changes the copies, and why, as `plan` and `diff` say it."""
        if self.exclusive_disk is not None:
            return STOP_FIRST, f"disk '{self.exclusive_disk}' is exclusive: never two writers"
        return ROLLING, "no disk is exclusive: new copies start beside the old ones"

    @property
    def is_web(self) -> bool:
        return self.type == "web"

    @property
    def hosts(self) -> tuple[str, ...]:
        """Host names the app answers to: its domains, its default domain, its internal name."""
        names = [d.host for d in self.domains]
        if self.default_domain:
            names.append(self.default_domain)
        names.append(self.name)
        return tuple(names)

    @property
    def probe_host(self) -> str:
        """The Host every health probe sends: the first public host, as the app's real traffic has it
        (apps allow their public names; many refuse internal ones), else the internal name."""
        if self.domains:
            return self.domains[0].host
        return self.default_domain or self.name

    @property
    def public_url(self) -> str | None:
        if not self.is_web:
            return None
        host = self.domains[0].host if self.domains else self.default_domain
        return f"https://{host}"

    def node_names(self) -> list[str]:
        return [f"{self.name}-{n}" for n in range(1, self.nodes + 1)]


class ResolvedEarlierMajor(Struct, frozen=True):
    """A major a database ran before its `version` (`upgraded_from`): its data stays on its volume."""

    version: str
    major: str
    image: str
    volume_name: str
    data_dir: str


class ResolvedDatabase(Struct, frozen=True):
    name: str
    engine: str
    version: str
    image: str
    port: int
    size: Size
    data_gb: int
    user: str
    database: str
    # physical: <stack>-db-<name> for the first major the database ran; a later major (a major
    # upgrade) gets a new volume, <stack>-db-<name>-pg17, and the earlier ones stay, retained.
    volume_name: str
    data_dir: str  # where the engine keeps its data inside the container
    major: str = ""
    earlier: tuple[ResolvedEarlierMajor, ...] = ()  # `upgraded_from`, oldest first

    @property
    def upgraded_from(self) -> ResolvedEarlierMajor | None:
        """The major the data is copied from when this major's volume is new (the last one before)."""
        return self.earlier[-1] if self.earlier else None

    def upgrade_summary(self, volume: str = "volume") -> dict[str, str] | None:
        """What the deploy does for `upgraded_from` (the database component's `upgrade` output, which
        plan and diff show); `volume`: the backend's word for it (volume, claim)."""
        old = self.upgraded_from
        if old is None:
            return None
        return {
            "engine": self.engine,
            "from": old.major,
            "to": self.major,
            "how": (
                f"when {volume} {self.volume_name} is new, the deploy "
                f"stops the {old.major} server (the apps lose the database until {self.major} answers: no write "
                f"can land on the old data during the copy), copies the data into {self.major} on {volume} "
                f"{self.volume_name} with {self.major}'s own dump and restore, then starts {self.major} there; "
                f"{volume} {old.volume_name} keeps the {old.major} data, retained, as the way back. "
                f"Backups need a backup image whose client is {self.major} or newer"
            ),
        }


class RepositoryVolume(Struct, frozen=True):
    """The repository on a retained volume (a PersistentVolumeClaim on kubernetes), served append-only."""

    volume: str


class RepositoryS3(Struct, frozen=True):
    endpoint: str
    bucket: str
    access_key_config: str  # config keys of the backup job's keys (put and get)
    secret_key_config: str
    prune_keys: tuple[str, str] | None = None  # config keys (access, secret) of the prune job's own keys


class RepositoryRest(Struct, frozen=True):
    url: str
    password_config: str | None = None  # config key of the backup job's HTTP password
    prune: tuple[str, str] | None = None  # the prune job's own (url, password config key), which may delete


BackupTarget = RepositoryVolume | RepositoryS3 | RepositoryRest


class ResolvedBackups(Struct, frozen=True):
    enabled: bool
    schedule: str
    keep_days: int
    target: BackupTarget
    image: str  # restic, for the backup and prune jobs
    server_image: str  # rclone, for the append-only server
    verify: str = "0 5 * * 0"  # the restore drill's schedule


# Where the ingress controller of a well-known class runs by default, so the network policy can
# admit that namespace alone; any other class is admitted from every namespace, on web ports only.
INGRESS_CONTROLLER_NAMESPACES = {"nginx": "ingress-nginx"}


class ClusterSettings(Struct, frozen=True):
    """The `kubernetes:` settings, defaults applied; resolved only for the kubernetes backend."""

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
    release_timeout_s: int = RELEASE_TIMEOUT_S
    # A preview's namespace is its base's, `-pr-N` added; this is the base's (where its repository is).
    base_namespace: str | None = None

    @property
    def ingress_controller_namespace(self) -> str | None:
        return self.controller_namespace or INGRESS_CONTROLLER_NAMESPACES.get(self.ingress_class)

    @property
    def acme_issuer(self) -> bool:
        """Whether the stack creates its own ACME Issuer: an email, and no ClusterIssuer to use instead."""
        return self.cluster_issuer is None and self.acme_email is not None


class ResolvedStack(Struct, frozen=True):
    name: str
    backend: Literal["docker", "kubernetes"]
    apps: dict[str, ResolvedApp]
    databases: dict[str, ResolvedDatabase]
    tls_email: str | None
    default_domain: str
    edge_image: str
    edge_volume_name: str  # physical: <stack>-edge-data (certificates)
    backups: ResolvedBackups
    app_uid: int  # the uid the buildpack's images run as; shared disks and backups read files as it
    config_keys: tuple[str, ...] = field(default=())  # every {config: KEY} the spec reads
    acme_ca: str = LETS_ENCRYPT  # directory URL of the ACME CA for custom domains
    acme_ca_root_config: str | None = None  # config key of the PEM root of the ACME server's own HTTPS
    # A pull request's preview of the base stack (flashdrive/model/preview.py); None for the base.
    preview: ResolvedPreview | None = None
    cluster: ClusterSettings | None = None  # the kubernetes backend's settings; None on docker

    @property
    def acme_ca_is_lets_encrypt(self) -> bool:
        return self.acme_ca == LETS_ENCRYPT

    @property
    def uses_acme(self) -> bool:
        return any(d.acme for app in self.web_apps for d in app.domains)

    @property
    def disks(self) -> list[ResolvedDisk]:
        return [disk for app in self.apps.values() for disk in app.disks]

    @property
    def web_apps(self) -> list[ResolvedApp]:
        return [app for app in self.apps.values() if app.is_web]

    def certificate_sources(self, *, acme: str, internal: str) -> dict[str, str]:
        """Where each host's certificate comes from, for plans: `acme` (how the backend names its
        ACME issuer) for a domain without a certificate of its own, the config key of a brought
        one, `internal` (who signs them) for the default domains."""
        sources: dict[str, str] = {}
        for app in sorted(self.web_apps, key=lambda a: a.name):
            for domain in app.domains:
                sources[domain.host] = acme if domain.acme else f"brought (config {domain.certificate_config})"
            if app.default_domain:
                sources[app.default_domain] = internal
        return sources

    @property
    def builds(self) -> dict[str, ResolvedBuild]:
        found: dict[str, ResolvedBuild] = {}
        for app in self.apps.values():
            if app.build is not None:
                found.setdefault(app.build.key, app.build)
        return found
