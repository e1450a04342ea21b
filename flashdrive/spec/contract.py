"""The flashdrive.yaml v1 contract (SPEC.md) as pydantic models.

Unknown keys are errors everywhere; the JSON Schema is generated from these models, so the
attribute docstrings are what editors show. Rules that span several keys live in rules.py.
"""

# No `from __future__ import annotations`: pydantic then reads each field's type as an object
# instead of evaluating its text when the classes are made (a cold start pays for every class).

import ipaddress
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from flashdrive.engines import DEFAULT_VERSIONS, PORTS
from flashdrive.spec.sizes import SIZES

DNS_LABEL = r"^[a-z]([a-z0-9-]*[a-z0-9])?$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"

SizeName = Literal["xs", "s", "m", "l", "xl"]
Engine = Literal["postgres", "mysql", "mongodb", "redis"]
Name = Annotated[str, Field(pattern=DNS_LABEL, max_length=40)]
StackName = Annotated[str, Field(pattern=DNS_LABEL, max_length=30)]
EnvName = Annotated[str, Field(pattern=ENV_NAME, max_length=200)]

# Tags of discriminated unions start with '~' so error locations can drop them.
TAG_PREFIX = "~"


def _tag(name: str) -> Tag:
    return Tag(TAG_PREFIX + name)


def _by_keys(*keys: str):
    """A discriminator for unions of mappings told apart by a key, plus a plain-string form."""

    def discriminate(value: Any) -> str | None:
        if isinstance(value, str):
            return TAG_PREFIX + "str"
        if isinstance(value, BaseModel):  # serialising a default or a validated value
            value = type(value).model_fields
        if isinstance(value, dict):
            for key in keys:
                if key in value:
                    return TAG_PREFIX + key
        return None

    return discriminate


# Attribute docstrings are field descriptions, which only the JSON Schema shows; reading them
# parses this file's source, a tenth of a cold `flashdrive plan`. So only the copy of this module
# that flashdrive.spec.schema loads reads them. Building the models is deferred to their first use:
# validating a Spec builds one validator for the whole tree instead of one per class at import.
# Defaults that are models are made with model_construct (they are valid as written), so that
# defining the classes builds none of them.
_FIELD_DOCS = __name__.endswith("_with_field_docs")


class StrictModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, use_attribute_docstrings=_FIELD_DOCS, defer_build=True
    )


class ConfigValue(StrictModel):
    """A value read from Pulumi config, e.g. `pulumi config set --secret apiToken ...`. Always secret."""

    config: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_:.-]+$")]
    """Pulumi config key (in the `flashdrive` namespace unless it has a `ns:` prefix)."""


class Images(StrictModel):
    """Where official images come from, for registries you run or mirror."""

    mirror: str | None = None
    """Prefix put in front of every default image, e.g. `registry.example.com/hub`."""
    python: str | None = None
    """Replaces the python base image; `{version}` becomes the app's Python version."""
    python_build: str | None = None
    """Replaces the image of the build stage (compilers and -dev headers; the same Debian release and
    Python as `python`); `{version}` becomes the app's Python version."""
    postgres: str | None = None
    """Replaces the postgres image; `{version}` becomes the database's version."""
    mysql: str | None = None
    """Replaces the mysql image; `{version}` becomes the database's version."""
    mongodb: str | None = None
    """Replaces the mongodb image; `{version}` becomes the database's version."""
    redis: str | None = None
    """Replaces the redis image; `{version}` becomes the database's version."""
    caddy: str | None = None
    """Replaces the caddy image of the edge."""
    restic: str | None = None
    """Replaces the restic image of the backup jobs (it needs restic, busybox crond and the dump clients)."""
    rclone: str | None = None
    """Replaces the rclone image of the append-only backup server (`rclone serve restic --append-only`)."""


class BuildSpec(StrictModel):
    """Settings for every app built from source."""

    ca_bundle: str | None = None
    """Extra CA certificate (PEM) trusted while installing packages; path relative to this file."""
    pip_index_url: str | None = None
    """Package index used while installing packages, e.g. https://pypi.example.com/simple."""


LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
LETS_ENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"


class Tls(StrictModel):
    """Certificates for domains."""

    email: str | None = None
    """ACME account email; required when a custom domain gets its certificate from ACME."""
    default_domain: str = "localhost"
    """Every web app also answers on <app>.<stack>.<default_domain>, with a certificate from the edge's internal CA."""
    acme_ca: str = LETS_ENCRYPT
    """ACME directory URL that custom domains get their certificates from; default Let's Encrypt production. Staging while you try things: https://acme-staging-v02.api.letsencrypt.org/directory, or your company's ACME CA."""
    acme_ca_root: ConfigValue | None = None
    """The root (PEM) that the ACME server's own HTTPS certificate chains to, from a config secret, when no public CA signed it. Not the root that signs the issued certificates: clients must trust that one themselves."""

    @field_validator("acme_ca")
    @classmethod
    def _acme_ca_is_an_https_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in url) or parts.fragment:
            raise ValueError(f"'{url}' is not an https URL of an ACME directory; write e.g. {LETS_ENCRYPT_STAGING}")
        return url


class HealthCheck(StrictModel):
    """How the edge and the engine tell a copy of a web app is healthy."""

    path: str = "/"
    """HTTP path that answers 2xx or 3xx when the copy is healthy."""
    interval_s: Annotated[int, Field(ge=1, le=3600)] = 10
    """Seconds between checks."""
    timeout_s: Annotated[int, Field(ge=1, le=300)] = 5
    """Seconds a check may take."""
    retries: Annotated[int, Field(ge=1, le=100)] = 3
    """Failed checks in a row before the copy counts as unhealthy."""
    start_period_s: Annotated[int, Field(ge=0, le=3600)] = 30
    """Seconds after start during which failures do not count."""

    @field_validator("path")
    @classmethod
    def _path_is_absolute(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"'{path}' is not an absolute URL path; write '/{path}'")
        return path


class GeneratedValue(StrictModel):
    """A random value generated once and kept stable across deploys. Secret."""

    generate: Literal["secret"]
    """What to generate: `secret`, random URL-safe characters."""
    length: Annotated[int, Field(ge=16, le=256)] = 32
    """Number of characters."""


class ScopedValue(StrictModel):
    """A value with an explicit scope."""

    value: str
    """The value; may hold `${...}` references."""
    scope: Literal["build", "run", "both"] = "both"
    """When it is set: at build (as a build argument), at run time, or both. Secrets are run-only."""


EnvValue = Annotated[
    Union[
        Annotated[str, _tag("str")],
        Annotated[GeneratedValue, _tag("generate")],
        Annotated[ConfigValue, _tag("config")],
        Annotated[ScopedValue, _tag("value")],
    ],
    Discriminator(
        _by_keys("generate", "config", "value"),
        custom_error_type="env_value",
        custom_error_message="an env value is a string, {generate: secret}, {config: KEY} or {value: ..., scope: ...}",
    ),
]


class DiskSpec(StrictModel):
    """A virtual disk shared by every copy of the app, backed up daily."""

    name: Name
    """Unique in the stack: the disk's identity. Renaming an app keeps its disk; renaming the disk does not."""
    mount: str
    """Absolute path where the disk appears inside the app, e.g. /app/media."""
    size_gb: Annotated[int, Field(ge=1, le=10_000)]
    """Size in GB; all disks of an app must fit the free disk space of its size."""
    access: Literal["read_write", "read_only"] = "read_write"
    """read_write (default) or read_only."""
    exclusive: bool = False
    """Never two writers, not even during a deploy (SQLite, say): the app is deployed stop-first instead of rolling."""


class CronJob(StrictModel):
    """A scheduled job, run in its own container with the app's image, env, disks, networks and size."""

    name: Annotated[str, Field(pattern=DNS_LABEL, max_length=30)]
    """Unique in the app; names the job in logs, in `flashdrive ps` and on the cluster."""
    schedule: Annotated[str, Field(min_length=1)]
    """When it runs, in UTC: five fields (minute hour day-of-month month day-of-week), or @hourly, @daily, @weekly, @monthly, @yearly."""
    command: Annotated[str, Field(min_length=1)]
    """The command, run by /bin/sh in the app's folder, e.g. `python manage.py clearsessions`."""
    timeout_s: Annotated[int, Field(ge=1, le=86_400)] = 3600
    """Seconds a run may take before it is stopped (default 3600). A deploy waits for a running job at most this long."""


class Domain(StrictModel):
    """A custom domain, with a certificate from ACME or one you bring."""

    host: str
    """The host name, e.g. shop.example.com."""
    certificate: ConfigValue | None = None
    """Bring your own certificate (PEM) from a config secret; without it the certificate comes from ACME."""
    key: ConfigValue | None = None
    """The private key (PEM) of `certificate`, from a config secret."""


DomainEntry = Annotated[
    Union[Annotated[str, _tag("str")], Annotated[Domain, _tag("host")]],
    Discriminator(
        _by_keys("host"),
        custom_error_type="domain",
        custom_error_message="a domain is a host name or {host: ..., certificate: ..., key: ...}",
    ),
]
HealthCheckEntry = Annotated[
    Union[Annotated[str, _tag("str")], Annotated[HealthCheck, _tag("path")]],
    Discriminator(
        lambda v: TAG_PREFIX + "str" if isinstance(v, str) else TAG_PREFIX + "path" if isinstance(v, dict) else None,
        custom_error_type="health_check",
        custom_error_message="health_check is a path like /healthz or {path, interval_s, timeout_s, retries, start_period_s}",
    ),
]
ReleaseEntry = Annotated[
    Union[Annotated[str, _tag("str")], Annotated[Literal[False], _tag("off")]],
    Discriminator(
        lambda v: TAG_PREFIX + "str" if isinstance(v, str) else TAG_PREFIX + "off" if v is False else None,
        custom_error_type="release",
        custom_error_message="release is a command, or false to run none",
    ),
]


class AppSpec(StrictModel):
    """An app: built from `source` or run from a prebuilt `image`."""

    source: Annotated[str, Field(min_length=1)] | None = None
    """Folder with a Procfile and requirements.txt (or another supported package manager), relative to this file."""
    image: Annotated[str, Field(min_length=1)] | None = None
    """A prebuilt image to run instead of building `source`."""
    type: Literal["web", "worker"] = "web"
    """web (default) or worker. A worker has no port, no domain and no edge route."""
    process: str | None = None
    """Procfile process to run; default: the type's name."""
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    """Where a web process listens (default 8000); $PORT is set to it."""
    size: SizeName = "s"
    """xs | s | m | l | xl: CPUs, memory and free disk space."""
    nodes: Annotated[int, Field(ge=1, le=20)] = 1
    """Copies of the app, 1..20; the edge sends each request to the least busy copy."""
    egress: bool = True
    """May open connections to the internet."""
    health_check: HealthCheckEntry | None = None
    """Web only: a path, or {path, interval_s, timeout_s, retries, start_period_s}; default path /."""
    release: ReleaseEntry | None = None
    """Runs once per deploy, before new copies start; a failure stops the deploy. Default: the Procfile's release; false disables it."""
    release_timeout_s: Annotated[int, Field(ge=10, le=86400)] = 1800
    """Seconds the release command may run before it is stopped and the deploy fails; default 1800."""
    shutdown_timeout_s: Annotated[int, Field(ge=1, le=3600)] = 30
    """Grace a copy gets to finish its requests (SIGTERM, then SIGKILL) when it is replaced or removed; default 30."""
    env: dict[EnvName, EnvValue] = {}
    """Environment variables, at build and at run time."""
    disks: list[DiskSpec] = []
    """Virtual disks mounted into every copy."""
    domains: list[DomainEntry] = []
    """Custom domains (web only)."""
    cron: list[CronJob] = []
    """Scheduled jobs: one run of a job at a time, and a deploy never kills a running one."""

    @field_validator("health_check")
    @classmethod
    def _health_path_is_absolute(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.startswith("/"):
            raise ValueError(f"'{value}' is not an absolute URL path; write '/{value}'")
        return value

    @property
    def process_name(self) -> str:
        return self.process or self.type

    @property
    def listen_port(self) -> int | None:
        return None if self.type == "worker" else (self.port or 8000)

    @property
    def health(self) -> HealthCheck | None:
        if self.type == "worker":
            return None
        if isinstance(self.health_check, str):
            return HealthCheck(path=self.health_check)
        return self.health_check or HealthCheck.model_construct()  # the defaults, valid as written

    @property
    def domain_entries(self) -> list[Domain]:
        # A host written as a string was validated as the entry; building a Domain from it again
        # would build Domain's own validator, a cold plan's third.
        return [Domain.model_construct(host=d) if isinstance(d, str) else d for d in self.domains]


class DatabaseSpec(StrictModel):
    """A marketplace database, reachable inside the stack by its name."""

    engine: Engine
    """postgres | mysql | mongodb | redis."""
    version: Annotated[str, Field(pattern=r"^[0-9][0-9A-Za-z.-]*$")] | None = None
    """Engine version, e.g. "16" or "8.4"; default a current one per engine."""
    upgraded_from: list[Annotated[str, Field(pattern=r"^[0-9][0-9A-Za-z.-]*$")]] = []
    """The versions this database ran before `version`, oldest first, e.g. ["15"] when going from 15 to 17 (postgres): the deploy runs the new major on a new volume, copies the data across with the engine's dump and restore, and keeps the old volume as the way back. Keep the list: it names the kept volumes."""
    size: SizeName = "s"
    """xs | s | m | l | xl."""
    disk_gb: Annotated[int, Field(ge=1, le=10_000)] | None = None
    """Size of the data volume in GB; default the free disk space of its size. Not counted against any app."""

    @field_validator("upgraded_from", mode="before")
    @classmethod
    def _versions_as_text(cls, value: Any) -> Any:
        # `upgraded_from: 15` and `[15, 16]` are what people write: text, one or several.
        values = value if isinstance(value, list) else [value]
        return [cls._version_as_text(v) for v in values]

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # `version: 16` is what people write; a float like 10.10 would already have lost a digit.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, float):
            raise ValueError(
                f"version {value!r} must be quoted: YAML reads it as a number and drops trailing zeros; "
                f'write version: "{value}"'
            )
        return value

    @property
    def engine_version(self) -> str:
        return self.version or DEFAULT_VERSIONS[self.engine]

    @property
    def port(self) -> int:
        return PORTS[self.engine]

    @property
    def data_gb(self) -> int:
        return self.disk_gb or SIZES[self.size].disk_gb


class S3PruneKeys(StrictModel):
    access_key: ConfigValue
    """Access key id of the prune job, the only one allowed to delete, from a config secret."""
    secret_key: ConfigValue
    """Its secret access key, from a config secret."""


class S3Settings(StrictModel):
    endpoint: str
    """S3 endpoint URL, e.g. https://s3.eu-west-1.amazonaws.com."""
    bucket: str
    """Bucket name; may include a path prefix, e.g. backups/shop."""
    access_key: ConfigValue
    """Access key id of the backup job, from a config secret: give it put and get, never delete."""
    secret_key: ConfigValue
    """Secret access key of the backup job, from a config secret."""
    prune: S3PruneKeys | None = None
    """The prune job's own keys, which may delete; without them the backup job's keys must delete too."""


class RestPrune(StrictModel):
    url: str | None = None
    """URL of a REST server that allows deletes (no --append-only); default the target's url."""
    password: ConfigValue
    """HTTP password of the prune job on that server, from a config secret."""


class RestSettings(StrictModel):
    url: str
    """restic REST server URL, e.g. https://backup.example.com/shop; run it with --append-only."""
    password: ConfigValue | None = None
    """HTTP password of the backup job on the REST server, from a config secret."""
    prune: RestPrune | None = None
    """The prune job's own server URL and password, which may delete; without them the backup job's
    credentials must delete too."""


class VolumeTarget(StrictModel):
    volume: Name
    """A retained Docker volume (or PersistentVolumeClaim) holding the repository."""


class S3Target(StrictModel):
    s3: S3Settings
    """An S3-compatible bucket."""


class RestTarget(StrictModel):
    rest: RestSettings
    """A restic REST server."""


BackupTarget = Annotated[
    Union[
        Annotated[VolumeTarget, _tag("volume")],
        Annotated[S3Target, _tag("s3")],
        Annotated[RestTarget, _tag("rest")],
    ],
    Discriminator(
        _by_keys("volume", "s3", "rest"),
        custom_error_type="backup_target",
        custom_error_message="target is {volume: NAME}, {s3: {...}} or {rest: {url: ...}}",
    ),
]


class BackupsSpec(StrictModel):
    """Daily backups of every disk and database of the stack."""

    enabled: bool = True
    """Default true."""
    schedule: str = "0 3 * * *"
    """Cron expression (5 fields), default daily at 03:00."""
    keep_days: Annotated[int, Field(ge=1, le=3650)] = 10
    """Days of history kept, default 10."""
    verify: str = "0 5 * * 0"
    """Cron expression (5 fields) of the restore drill, default weekly, Sundays at 05:00: the latest snapshot of every disk and database restored into scratch space and checked."""
    target: BackupTarget = VolumeTarget.model_construct(volume="backups")
    """Where the repository lives: {volume: backups} (default), {s3: {...}} or {rest: {url: ...}}."""


def _network(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text, strict=True))
    except ValueError as error:
        raise ValueError(f"not an address block like 10.0.0.0/16: {error}") from None


Cidr = Annotated[str, AfterValidator(_network)]


class KubernetesSpec(StrictModel):
    """Settings read only with backend: kubernetes."""

    namespace: Name | None = None
    """Namespace of the stack; default the stack name."""
    storage_class: str | None = None
    """Storage class for disks; must support ReadWriteMany when an app with a disk has nodes > 1."""
    ingress_class: str = "nginx"
    """Ingress class of the cluster's ingress controller."""
    cluster_issuer: str | None = None
    """cert-manager ClusterIssuer for domains; without one, an ACME Issuer for tls.email is created in the namespace."""
    registry: str | None = None
    """Registry that images built from source are pushed to, e.g. registry.example.com/shop."""
    image_pull_secrets: list[Name] = []
    """Secrets (kubernetes.io/dockerconfigjson, in the namespace) every pod pulls its images with."""
    ingress_controller_namespace: Name | None = None
    """Namespace of the ingress controller, the only one that reaches web apps; default ingress-nginx for class nginx."""
    ingress_controller_cidrs: list[Cidr] = []
    """Addresses that may also reach web apps on their port: host-network controllers, load balancers that send to pods."""
    dns_cidrs: list[Cidr] = ["169.254.20.10/32"]
    """DNS servers outside pods that restricted pods may query (NodeLocal DNSCache's address by default)."""
    release_timeout_s: Annotated[int, Field(ge=60, le=86400)] = 1800
    """Seconds a release Job (migrations) may run before the deploy fails."""


class PreviewSeedSpec(StrictModel):
    """Where a preview's data comes from, and what is done to it before any copy starts."""

    from_: Annotated[Literal["backups"], Field(alias="from")]
    """backups: restore the base stack's latest snapshot of each database and disk, read-only from its repository."""
    scrub: Annotated[str, Field(min_length=1)] | None = None
    """Runs once after the restore and the release, before any copy starts, with the first web app's image, env and disks (e.g. `python manage.py scrub_personal_data`)."""


class PreviewsSpec(StrictModel):
    """An environment per pull request (`flashdrive up --stack pr-123 --preview 123`): the same stack
    under its own name `<stack>-pr-123`, with its own networks, volumes, databases and secrets."""

    expire_after_days: Annotated[int, Field(ge=1, le=365)] = 7
    """Days a preview lives; the preview workflow destroys older ones. Default 7."""
    size: SizeName = "xs"
    """Every app's size in a preview (databases keep theirs). Default xs."""
    nodes: Annotated[int, Field(ge=1, le=20)] = 1
    """Copies of every app in a preview. Default 1."""
    cron: bool = False
    """Whether scheduled jobs run in previews. Default false."""
    seed: PreviewSeedSpec | None = None
    """Start from the base stack's latest backup: {from: backups, scrub: COMMAND}. Default: start empty."""


class Spec(StrictModel):
    """flashdrive.yaml: one stack of apps, databases, disks, domains and backups."""

    version: Literal[1]
    """Format version; only 1 exists."""
    stack: StackName
    """The stack's name: a DNS label, at most 30 characters. A stack is a private network."""
    backend: Literal["docker", "kubernetes"] = "docker"
    """docker (default, one host) or kubernetes (a cluster)."""
    images: Images = Images.model_construct()
    """Where official images come from: a mirror prefix, or one image replaced by its key."""
    build: BuildSpec = BuildSpec.model_construct()
    """Settings for every app built from source: extra CA, package index."""
    tls: Tls = Tls.model_construct()
    """ACME account email and the default domain every web app answers on."""
    apps: dict[Name, AppSpec] = {}
    """Apps by name; the name is also the app's internal host name."""
    databases: dict[Name, DatabaseSpec] = {}
    """Databases by name; the name is also the database's internal host name."""
    backups: BackupsSpec = BackupsSpec.model_construct()
    """Backups of every disk and database of the stack."""
    kubernetes: KubernetesSpec = KubernetesSpec.model_construct()
    """Settings read only with backend: kubernetes."""
    previews: PreviewsSpec = PreviewsSpec.model_construct()
    """An environment per pull request: how long it lives, its size and copies, cron, its seed."""


def config_keys(spec: Any) -> list[str]:
    """Every Pulumi config key the spec reads (`{config: KEY}` anywhere: env values, domain
    certificates and keys, backup target credentials...), as written, sorted."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, ConfigValue):
            found.add(value.config)
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name, None))
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                walk(item)

    walk(spec)
    return sorted(found)
