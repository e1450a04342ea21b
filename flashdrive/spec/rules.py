"""Rules that span several keys (SPEC.md, "Rules that validation enforces").

Each problem points at the node that causes it; a bad `${...}` points at the reference itself.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from flashdrive.bounded import MIB, os_reason, read_bounded
from flashdrive.engines import ENGINES
from flashdrive.problems import Mark, Problems
from flashdrive.spec.contract import AppSpec, ConfigValue, S3Target, ScopedValue, VolumeTarget
from flashdrive.spec.env import env_var
from flashdrive.spec.loader import LoadedSpec, did_you_mean, format_path
from flashdrive.spec.references import APP_PROPERTIES, DATABASE_PROPERTIES, parse_template
from flashdrive.spec.sizes import SIZES
from flashdrive.spec.yamlpos import Pos

# Names the stack itself uses on its networks, for containers and Kubernetes objects; an app or
# database may not take them.
RESERVED_NAMES = {"edge", "localhost"}
RESERVED_PREFIX = "backup"  # backup, backups, backup-server, backup-prune, backup-ledger, backup-restore
COPY_OR_RELEASE = re.compile(r"^(?P<app>.+)-(?P<what>[0-9]+|release)$")


def platform_name_clash(name: str, other_apps: set[str]) -> str | None:
    """Why an app or database name would collide with a name flashdrive gives its own things."""
    if name in RESERVED_NAMES:
        return f"is the name of the stack's own {'edge proxy' if name == 'edge' else 'loopback host'}"
    if name.startswith(RESERVED_PREFIX):
        return (
            "starts with 'backup', which the stack's backup containers and objects use (backup, "
            "backup-server, backup-prune...): the backup job could reach it instead of its server"
        )
    match = COPY_OR_RELEASE.match(name)
    if match and match.group("app") in other_apps:
        app, what = match.group("app"), match.group("what")
        role = "release job" if what == "release" else f"copy #{what}"
        return f"is the container name and host name of app '{app}''s {role}"
    return None


# Set on every copy; a user value wins, with a warning.
PROVIDED_ENV = {"PORT", "FLASHDRIVE_STACK", "FLASHDRIVE_APP", "FLASHDRIVE_NODE", "FLASHDRIVE_HOSTS"}
SYSTEM_DIRS = (
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib64",
    "/proc",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
    "/var",
    "/tmp",
)
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
IMAGE_PLACEHOLDER = re.compile(r"\{([^}]*)\}")


# Env names that usually hold secrets, as words of the name (SECRET_KEY, DB_PASSWORD, githubToken).
SECRET_NAME = re.compile(
    r"(^|_)(SECRET|PASSWORD|PASSWD|PASS|PWD|TOKEN|CREDENTIALS?|PRIVATE|API_?KEY|ACCESS_?KEY|"
    r"DSN|SALT)(_|$)",
    re.IGNORECASE,
)
# A URL that carries a password: scheme://user:password@host.
URL_PASSWORD = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


def looks_secret(name: str, value: str) -> bool:
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return bool(SECRET_NAME.search(words)) or bool(URL_PASSWORD.search(value))


def _camel(name: str) -> str:
    head, *rest = name.lower().split("_")
    return head + "".join(word.capitalize() for word in rest)


# What may appear in values written into generated text (see _Checker.generated_text).
URL_PATH = re.compile(r"[A-Za-z0-9._~!$&()*+,;=:@%/?-]")  # RFC 3986 path and query, minus quotes
MOUNT_PATH = re.compile(r"[A-Za-z0-9._/@+-]")
PROCESS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
IMAGE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$")
S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}(/[A-Za-z0-9._-]+)*/?$")
DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


def _first_bad(text: str, allowed: re.Pattern[str]) -> str | None:
    return next((ch for ch in text if not allowed.fullmatch(ch)), None)


def _describe(ch: str) -> str:
    names = {
        " ": "a space",
        "\n": "a line break",
        "\r": "a carriage return",
        "\t": "a tab",
        "'": "a quote (')",
        '"': 'a quote (")',
        "\0": "a NUL character",
    }
    return names.get(ch) or (f"the control character U+{ord(ch):04X}" if not ch.isprintable() else f"'{ch}'")


def _shown(text: str, limit: int = 80) -> str:
    """A value as it can be printed on one line of an error."""
    shown = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return shown if len(shown) <= limit else shown[:limit] + "..."


class _Checker:
    def __init__(self, loaded: LoadedSpec, problems: Problems):
        self.loaded = loaded
        self.spec = loaded.spec
        self.doc = loaded.document
        self.problems = problems
        # The source folders that passed, for the detect step (flashdrive/spec/detect.py).
        self.sound_sources: dict[str, Path] = {}

    # -- positions ---------------------------------------------------------------------
    def pos(self, *path: Any) -> Pos:
        return self.doc.find(path)[0]

    def at(self, *path: Any) -> Mark:
        return self.pos(*path).mark

    def key_at(self, *path: Any) -> Mark:
        pos = self.pos(*path)
        return pos.key_mark or pos.mark

    def where(self, other: Mark, path: tuple) -> str:
        """'line N' when `other` is in the same file as `path`'s node, else 'FILE:N' (base vs overlay)."""
        here = self.at(*path)
        return f"line {other.line}" if other.file == here.file else f"{other.file}:{other.line}"

    def error(self, path: tuple, message: str, hint: str | None = None, *, key: bool = False, mark: Mark | None = None):
        self.problems.error(message, mark or (self.key_at(*path) if key else self.at(*path)), format_path(path), hint)

    def warning(self, path: tuple, message: str, hint: str | None = None, *, key: bool = False):
        self.problems.warning(message, self.key_at(*path) if key else self.at(*path), format_path(path), hint)

    # -- rules ---------------------------------------------------------------------------
    def run(self) -> None:
        self.names()
        disk_owner: dict[str, tuple] = {}
        domain_owner: dict[str, tuple] = {}
        for name, app in self.spec.apps.items():
            self.app(name, app, disk_owner, domain_owner)
        self.tls(domain_owner)
        self.upgrades()
        self.images()
        self.build()
        self.backups()
        self.previews()
        self.kubernetes()
        self.generated_text()
        if not self.spec.apps and not self.spec.databases:
            self.warning(
                (),
                "the stack has no apps and no databases: nothing will run",
                "add an app under `apps:`; `flashdrive init APP_DIR` writes one from your code",
            )

    def names(self) -> None:
        apps = set(self.spec.apps)
        for section in ("apps", "databases"):
            for name in getattr(self.spec, section):
                clash = platform_name_clash(name, apps - {name})
                if clash:
                    suffix = "-db" if section == "databases" else "-app"
                    match = COPY_OR_RELEASE.match(name)
                    other = (
                        name.replace(RESERVED_PREFIX, "archive", 1)
                        if name.startswith(RESERVED_PREFIX)
                        else match.group("app") + suffix
                        if match and name not in RESERVED_NAMES
                        else name + suffix
                    )
                    self.error((section, name), f"'{name}' {clash}", f"pick another name, e.g. '{other}'", key=True)
        for name in self.spec.databases:
            if name in self.spec.apps:
                self.error(
                    ("databases", name),
                    f"'{name}' is both an app and a database; both would answer to the host name '{name}'",
                    f"rename the database, e.g. '{name}-db'",
                    key=True,
                )

    def upgrades(self) -> None:
        """`upgraded_from`: earlier majors, oldest first, each one step the deploy copies across."""
        for name, db in self.spec.databases.items():
            if not db.upgraded_from:
                continue
            path = ("databases", name, "upgraded_from")
            facts = ENGINES[db.engine]
            if facts.upgrade_method == "in-place":
                self.error(
                    path,
                    f"{db.engine} needs no upgrade step of flashdrive's: {facts.upgrade_how}",
                    "remove `upgraded_from:` and change `version:` alone (`flashdrive diff` says what that "
                    "does to the data)",
                    key=True,
                )
                continue
            versions = [*db.upgraded_from, db.engine_version]
            for index, (older, newer) in enumerate(zip(versions, versions[1:])):
                if facts.upgrade(older, newer) is not None:
                    continue
                later = "version" if index == len(versions) - 2 else f"upgraded_from[{index + 1}]"
                if facts.major(older) is not None and facts.major(older) == facts.major(newer):
                    why = (
                        f"{db.engine} {older} and {newer} ({later}) are the same major: upgraded_from lists only "
                        f"the earlier majors this database ran, oldest first"
                    )
                else:
                    why = f"no upgrade from {db.engine} {older} to {newer} ({later}): {facts.no_upgrade(older, newer)}"
                # An example in the engine's own numbers: its last step (mysql 8.0 → 8.4), else postgres's.
                before, after = facts.series[-2:] if len(facts.series) >= 2 else ("15", "17")
                self.error(
                    path + (index,),
                    why,
                    f'e.g. version: "{after}" with upgraded_from: ["{before}"] (it ran {before} before)',
                )

    def app(self, name: str, app: AppSpec, disk_owner: dict, domain_owner: dict) -> None:
        path = ("apps", name)
        if app.source and app.image:
            self.error(
                path + ("image",),
                "an app has either source or image, not both",
                "remove `image:` to build from source, or `source:` to run the image",
                key=True,
            )
        elif not app.source and not app.image:
            self.error(
                path,
                f"app '{name}' has neither source nor image",
                "add `source: ./app` (a folder with a Procfile) or `image: registry/name:tag`",
                key=True,
            )
        if app.type == "worker":
            for key, what in (("domains", "domains"), ("port", "port"), ("health_check", "health check")):
                if key in (self.pos(*path).children or {}) and (key != "domains" or app.domains):
                    self.error(
                        path + (key,),
                        f"a worker has no {what}: nothing connects to a worker",
                        f"remove `{key}:`, or make the app `type: web`",
                        key=True,
                    )
        if app.source:
            self.source(name, app.source)
        self.disks(name, app, disk_owner)
        self.domains(name, app, domain_owner)
        self.env(name, app)
        if isinstance(app.release, str) and not app.release.strip():
            self.error(path + ("release",), "release is empty", "write the command, or `release: false` to run none")
        self.cron(name, app)

    def cron(self, name: str, app: AppSpec) -> None:
        from flashdrive.cron.schedule import problem as schedule_problem

        seen: dict[str, int] = {}
        for index, job in enumerate(app.cron):
            path = ("apps", name, "cron", index)
            if job.name in seen:
                self.error(
                    path + ("name",),
                    f"app '{name}' already has a cron job named '{job.name}' (#{seen[job.name] + 1})",
                    "give each job of an app its own name",
                )
            else:
                seen[job.name] = index
            bad = schedule_problem(job.schedule)
            if bad is not None:
                self.error(
                    path + ("schedule",),
                    bad.message,
                    bad.hint,
                    mark=self._offset_mark(path + ("schedule",), bad.offset),
                )
            if not job.command.strip():
                self.error(
                    path + ("command",), "command is empty", "write what to run, e.g. python manage.py clearsessions"
                )

    def source(self, name: str, source: str) -> None:
        path = ("apps", name, "source")
        base = self.loaded.base_dir.resolve()
        try:
            folder = (self.loaded.base_dir / source).resolve()
            exists, is_dir = folder.exists(), folder.is_dir()
        except (OSError, ValueError) as exc:
            self.error(
                path,
                f"source '{_shown(source)}' cannot be used as a folder: {os_reason(exc)}",
                "write the folder's path relative to the spec, e.g. ./app",
            )
            return
        if folder != base and base not in folder.parents:
            # The whole folder is sent to the image build, and plan writes .flashdrive/ files into it.
            self.error(
                path,
                f"source '{source}' is outside the spec's folder ({base}): everything in "
                f"{folder} would be sent to the image build",
                "keep the app in the spec's folder or below it (e.g. source: ./app), or move "
                "flashdrive.yaml to the folder above the app",
            )
            return
        if not exists:
            self.error(
                path,
                f"source folder '{source}' does not exist (looked in {folder})",
                "source is relative to the folder of the spec file",
            )
            return
        if not is_dir:
            self.error(
                path, f"source '{source}' is a file, not a folder", "point source at the folder holding the Procfile"
            )
            return
        self.sound_sources[name] = folder

    def disks(self, name: str, app: AppSpec, disk_owner: dict) -> None:
        mounts: dict[str, int] = {}
        total = 0
        for index, disk in enumerate(app.disks):
            path = ("apps", name, "disks", index)
            total += disk.size_gb
            if disk.name in disk_owner:
                other = disk_owner[disk.name]
                self.error(
                    path + ("name",),
                    f"disk name '{disk.name}' is already used by app '{other[1]}' "
                    f"({self.where(self.at(*other, 'name'), path)})",
                    "disk names are unique in the stack: each is one volume; rename one of them",
                )
            else:
                disk_owner[disk.name] = path
            mount = disk.mount
            normal = posixpath.normpath(mount)
            if not mount.startswith("/"):
                self.error(
                    path + ("mount",),
                    f"mount '{mount}' is not an absolute path",
                    f"write mount: /app/{mount.lstrip('./')}",
                )
            elif normal in SYSTEM_DIRS:
                self.error(
                    path + ("mount",),
                    f"mount '{mount}' would hide the system folder {normal}",
                    "mount disks under the app's folder, e.g. /app/media, or under /data",
                )
            elif inside := next(
                (d for d in SYSTEM_DIRS[1:] if d not in ("/var", "/tmp") and normal.startswith(d + "/")), None
            ):
                self.error(
                    path + ("mount",),
                    f"mount '{mount}' is inside the system folder {inside}",
                    "mount disks under the app's folder, e.g. /app/media, or under /data",
                )
            elif normal in mounts:
                self.error(
                    path + ("mount",),
                    f"mount '{mount}' is already used by disk #{mounts[normal] + 1} of this app",
                    "give each disk its own mount path",
                )
            else:
                mounts[normal] = index
        size = SIZES[app.size]
        if total > size.disk_gb:
            bigger = next((s.name for s in SIZES.values() if s.disk_gb >= total), None)
            self.error(
                ("apps", name, "disks"),
                f"the disks need {total} GB, but size {app.size} includes {size.disk_gb} GB",
                f"use size: {bigger} ({SIZES[bigger].disk_gb} GB), or smaller disks"
                if bigger
                else f"the largest size includes {SIZES['xl'].disk_gb} GB: use smaller disks",
                key=True,
            )
        exclusive = next((d.name for d in app.disks if d.exclusive), None)
        if app.nodes > 1 and exclusive:
            self.error(
                ("apps", name, "nodes"),
                f"{app.nodes} copies would all write disk '{exclusive}', which is exclusive (never two writers)",
                "use nodes: 1 (or a bigger size), or drop exclusive: true",
            )
        elif app.nodes > 1 and any(d.access == "read_write" for d in app.disks):
            self.warning(
                ("apps", name, "nodes"),
                f"{app.nodes} copies share the read_write disk "
                f"'{next(d.name for d in app.disks if d.access == 'read_write')}': fine for reads, "
                "risky when copies write the same file at the same time",
                "a bigger size is the safer way to scale an app that writes to its disk",
            )

    def domains(self, name: str, app: AppSpec, domain_owner: dict) -> None:
        for index, domain in enumerate(app.domain_entries):
            path = ("apps", name, "domains", index)
            entry_path = path + (("host",) if not isinstance(app.domains[index], str) else ())
            host = domain.host
            if not HOSTNAME.match(host) or "." not in host:
                hint = (
                    f"write it in lowercase: {host.lower()}"
                    if host.lower() != host and HOSTNAME.match(host.lower())
                    else "a domain is a host name like shop.example.com, without scheme, port or path"
                )
                self.error(entry_path, f"'{host}' is not a valid domain", hint)
                continue
            if host in domain_owner:
                other = domain_owner[host]
                self.error(
                    entry_path,
                    f"domain '{host}' already belongs to app '{other[1]}' ({self.where(self.at(*other), entry_path)})",
                    "a domain routes to one app only: remove one",
                )
            else:
                domain_owner[host] = path
            if (domain.certificate is None) != (domain.key is None):
                missing = "key" if domain.key is None else "certificate"
                self.error(
                    path,
                    f"domain '{host}' brings a {'certificate' if missing == 'key' else 'key'} without its {missing}",
                    f"add `{missing}: {{config: ...}}`, or remove both to use ACME",
                )

    def tls(self, domain_owner: dict) -> None:
        tls = self.spec.tls
        acme = [path for host, path in domain_owner.items() if self._domain_at(path).certificate is None]
        if acme and not tls.email:
            first = acme[0]
            self.error(
                first,
                f"domain '{self._domain_at(first).host}' gets its certificate from ACME, which needs an account email",
                "add `tls: {email: you@example.com}` at the top level",
            )
        if tls.email is not None and not EMAIL.match(tls.email):
            self.error(("tls", "email"), f"'{tls.email}' is not an email address", "write e.g. ops@example.com")
        if not HOSTNAME.match(tls.default_domain):
            self.error(
                ("tls", "default_domain"),
                f"'{tls.default_domain}' is not a valid domain",
                "write a host name like localhost or apps.example.com",
            )
        else:
            for name, app in self.spec.apps.items():
                default = f"{name}.{self.spec.stack}.{tls.default_domain}"
                if app.type == "web" and default in domain_owner:
                    self.error(
                        domain_owner[default],
                        f"'{default}' is the default domain of app '{name}'",
                        "remove it: every web app answers on its default domain already",
                    )

    def _domain_at(self, path: tuple):
        return self.spec.apps[path[1]].domain_entries[path[3]]

    def env(self, name: str, app: AppSpec) -> None:
        for var_name, value in app.env.items():
            path = ("apps", name, "env", var_name)
            if (var_name in PROVIDED_ENV and var_name != "PORT") or (var_name == "PORT" and app.type == "web"):
                self.warning(
                    path,
                    f"{var_name} is set by flashdrive on every copy; your value wins",
                    "remove it unless you mean to override it",
                    key=True,
                )
            if isinstance(value, ConfigValue):
                continue
            text_path = path + ("value",) if isinstance(value, ScopedValue) else path
            text = value.value if isinstance(value, ScopedValue) else value
            if not isinstance(text, str):
                continue
            self.template(name, text_path, text)
            var = env_var(var_name, value)
            if var.secret and isinstance(value, ScopedValue) and value.scope != "run":
                self.error(
                    path + ("scope",),
                    f"this value holds a secret, and scope {value.scope} would store it in the image",
                    "use scope: run (secrets are set only when the app runs)",
                )
            if var.at_build and not var.secret and app.source and looks_secret(var_name, text):
                self.warning(
                    path,
                    f"{var_name} looks like a secret, and this plain value is also a build "
                    "argument: it stays readable in the image (`docker history`) and in the spec's repository",
                    f"keep it out of the spec: `{var_name}: {{config: {_camel(var_name)}}}` and "
                    f"`pulumi config set --secret {_camel(var_name)} ...` (or `{{generate: secret}}`); "
                    "if it is not secret, `{value: ..., scope: run}` keeps it out of the image",
                    key=True,
                )
            if var.at_build and app.image and isinstance(value, ScopedValue) and value.scope == "build":
                self.warning(
                    path + ("scope",), "scope build has no effect on an app run from a prebuilt image", "use scope: run"
                )

    def template(self, app_name: str, path: tuple, text: str) -> None:
        segments, errors = parse_template(text)
        for err in errors:
            self.error(path, err.message, err.hint, mark=self._offset_mark(path, err.offset))
        for ref in (s for s in segments if not isinstance(s, str)):
            mark = self._offset_mark(path, ref.offset)
            if ref.kind == "stack":
                continue
            section = self.spec.apps if ref.kind == "apps" else self.spec.databases
            properties = APP_PROPERTIES if ref.kind == "apps" else DATABASE_PROPERTIES
            singular = "app" if ref.kind == "apps" else "database"
            if ref.name not in section:
                other = self.spec.databases if ref.kind == "apps" else self.spec.apps
                hint = did_you_mean(ref.name, list(section))
                if ref.name in other:
                    hint = (
                        f"'{ref.name}' is {'a database' if ref.kind == 'apps' else 'an app'}: write "
                        f"${{{'databases' if ref.kind == 'apps' else 'apps'}.{ref.name}.{ref.prop}}}"
                    )
                known = ", ".join(section) or "none"
                self.error(
                    path,
                    f"{ref} refers to {singular} '{ref.name}', which is not in this stack ({ref.kind}: {known})",
                    hint,
                    mark=mark,
                )
                continue
            if ref.prop not in properties:
                self.error(
                    path,
                    f"{ref}: {singular}s have no property '{ref.prop}'",
                    did_you_mean(ref.prop, list(properties)) or f"properties: {', '.join(properties)}",
                    mark=mark,
                )
                continue
            if ref.kind == "apps" and self.spec.apps[ref.name].type == "worker" and ref.prop != "host":
                self.error(
                    path,
                    f"{ref}: app '{ref.name}' is a worker, which has no port, url or public address",
                    f"use ${{apps.{ref.name}.host}}, or make '{ref.name}' a web app",
                    mark=mark,
                )

    def _offset_mark(self, path: tuple, offset: int) -> Mark:
        pos = self.pos(*path)
        raw = pos.raw
        if raw is None or "\n" in raw or pos.style not in (None, "", "'", '"'):
            return pos.mark
        # Plain scalars (style None, or '' from libyaml) start at the mark; quoted ones one
        # character later. Escapes may shift it.
        return Mark(pos.mark.file, pos.mark.line, pos.mark.col + offset + (1 if pos.style in ("'", '"') else 0))

    def images(self) -> None:
        images = self.spec.images
        for key in type(images).model_fields:  # not model_dump(): that builds a serializer for Images
            template = getattr(images, key)
            if template is None:
                continue
            path = ("images", key)
            if "://" in template:
                self.error(
                    path,
                    f"'{template}' is an image reference, not a URL",
                    "drop the scheme, e.g. registry.example.com/hub",
                )
                continue
            bad = [p for p in IMAGE_PLACEHOLDER.findall(template) if p != "version" or key == "mirror"]
            for placeholder in bad:
                self.error(
                    path,
                    f"'{{{placeholder}}}' is not a placeholder here",
                    "the only placeholder is {version}, in per-image keys"
                    if key == "mirror"
                    else "the only placeholder is {version}",
                )
            # The python image becomes a Dockerfile's FROM line: nothing but an image reference.
            if not bad and (not IMAGE_REF.match(IMAGE_PLACEHOLDER.sub("1", template)) or len(template) > 512):
                self.error(
                    path,
                    f"'{_shown(template)}' is not an image reference",
                    "write e.g. registry.example.com/pg:{version}",
                )

    def build(self) -> None:
        build = self.spec.build
        if build.ca_bundle is not None:
            bundle = self.loaded.base_dir / build.ca_bundle
            try:
                head = read_bounded(bundle, 16 * MIB)
            except FileNotFoundError:
                self.error(
                    ("build", "ca_bundle"),
                    f"CA bundle '{build.ca_bundle}' does not exist (looked in {bundle})",
                    "the path is relative to the folder of the spec file",
                )
            except (OSError, ValueError) as exc:
                self.error(
                    ("build", "ca_bundle"),
                    f"CA bundle '{_shown(build.ca_bundle)}' cannot be read: {os_reason(exc)}",
                    "point it at a PEM file, relative to the folder of the spec file",
                )
            else:
                if b"-----BEGIN CERTIFICATE-----" not in head:
                    self.error(
                        ("build", "ca_bundle"),
                        f"'{build.ca_bundle}' holds no PEM certificate",
                        "point it at a PEM file with '-----BEGIN CERTIFICATE-----' blocks",
                    )
        if build.pip_index_url is not None and not re.match(r"^https?://[^\s'\"\\\\`$]+$", build.pip_index_url):
            self.error(
                ("build", "pip_index_url"),
                f"'{build.pip_index_url}' is not an http(s) URL",
                "write e.g. https://pypi.example.com/simple",
            )

    def backups(self) -> None:
        backups = self.spec.backups
        problem = cron_problem(backups.schedule)
        if problem:
            self.error(
                ("backups", "schedule"),
                f"'{backups.schedule}' is not a cron schedule: {problem}",
                'write five fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * *"',
            )
        problem = cron_problem(backups.verify)
        if problem:
            self.error(
                ("backups", "verify"),
                f"'{backups.verify}' is not a cron schedule: {problem}",
                'write five fields: minute hour day-of-month month day-of-week, e.g. "0 5 * * 0" (Sundays 05:00)',
            )
        target = backups.target
        volume = getattr(target, "volume", None)
        if volume is not None and (volume.startswith(("disk-", "db-")) or volume == "edge-data"):
            self.error(
                ("backups", "target", "volume"),
                f"volume '{volume}' would share its physical name with a disk, database or the edge's certificates",
                "pick another name, e.g. 'backups'",
            )
        for key, url in (
            ("s3", getattr(getattr(target, "s3", None), "endpoint", None)),
            ("rest", getattr(getattr(target, "rest", None), "url", None)),
        ):
            if url is not None and not re.match(r"^https?://\S+$", url):
                field = "endpoint" if key == "s3" else "url"
                self.error(
                    ("backups", "target", key, field),
                    f"'{url}' is not an http(s) URL",
                    "write e.g. https://backup.example.com/shop",
                )
        rest_prune = getattr(getattr(target, "rest", None), "prune", None)
        if rest_prune is not None and rest_prune.url is not None and not re.match(r"^https?://\S+$", rest_prune.url):
            self.error(
                ("backups", "target", "rest", "prune", "url"),
                f"'{rest_prune.url}' is not an http(s) URL",
                "write e.g. https://backup.example.com/shop",
            )
        for key in ("s3", "rest"):
            settings = getattr(target, key, None)
            if self.spec.backups.enabled and settings is not None and settings.prune is None:
                self.warning(
                    ("backups", "target", key),
                    "the backup job and the prune job share one set of "
                    "credentials: whoever holds the backup job's can delete the history",
                    "give the backup job keys that cannot delete (S3: put and get only, with object lock; "
                    "REST: a server run with --append-only), and the prune job its own: "
                    + (
                        "`prune: {access_key: {config: ...}, secret_key: {config: ...}}`"
                        if key == "s3"
                        else "`prune: {url: https://..., password: {config: ...}}`"
                    ),
                    key=True,
                )

    def previews(self) -> None:
        seed = self.spec.previews.seed
        if seed is None:
            return
        path = ("previews", "seed")
        if not self.spec.backups.enabled:
            self.error(
                path + ("from",),
                "a preview is seeded from the stack's backups, but backups are off (backups.enabled: false)",
                "turn backups on, or remove `seed:` to start previews empty",
            )
        elif not isinstance(self.spec.backups.target, VolumeTarget):
            kind = "s3" if isinstance(self.spec.backups.target, S3Target) else "rest"
            self.error(
                path + ("from",),
                f"a preview reads the base's repository from its volume, read-only; this "
                f"stack's backups go to a {kind} target, which a preview could reach only with the backup "
                "job's credentials (they can write)",
                "keep backups in a volume (backups.target: {volume: "
                "backups}), or remove `seed:` to start previews empty",
            )
        if seed.scrub is not None:
            if "\0" in seed.scrub:
                self.error(
                    path + ("scrub",),
                    "the scrub command holds a NUL character",
                    "remove it: a command line cannot carry one",
                )
            if not self.spec.apps:
                self.error(
                    path + ("scrub",),
                    "the scrub command runs with an app's image, and the stack has no app",
                    "add an app, or remove `scrub:`",
                )

    def generated_text(self) -> None:
        """Values that are written into generated text (Caddyfile, probes, scripts, manifests,
        command lines) must be plain at their position: a newline, a quote or a brace there would
        end the value and start code or configuration of the writer's choosing."""
        for name, app in self.spec.apps.items():
            health = app.health_check
            if health is not None:
                path = ("apps", name, "health_check") + (() if isinstance(health, str) else ("path",))
                text = health if isinstance(health, str) else health.path
                bad = _first_bad(text, URL_PATH)
                if bad is not None or len(text) > 1024:
                    self.error(
                        path,
                        f"'{_shown(text)}' is not a plain URL path: "
                        + (
                            f"{_describe(bad)} is not allowed in it"
                            if bad is not None
                            else "longer than 1024 characters"
                        ),
                        "write a path like /healthz; percent-encode other characters (%20 for a space)",
                    )
            if app.process is not None and not PROCESS.match(app.process):
                self.error(
                    ("apps", name, "process"),
                    f"'{_shown(app.process)}' is not a Procfile process name",
                    "a process name has letters, digits, '-' and '_', e.g. web or worker",
                )
            if app.image is not None and (not IMAGE_REF.match(app.image) or len(app.image) > 512):
                self.error(
                    ("apps", name, "image"),
                    f"'{_shown(app.image)}' is not an image reference",
                    "write e.g. ghcr.io/acme/web:1.4 or registry.example.com/web@sha256:...",
                )
            if isinstance(app.release, str) and "\0" in app.release:
                self.error(
                    ("apps", name, "release"),
                    "the release command holds a NUL character",
                    "remove it: a command line cannot carry one",
                )
            for index, disk in enumerate(app.disks):
                bad = _first_bad(disk.mount, MOUNT_PATH)
                if bad is not None and disk.mount.startswith("/"):
                    self.error(
                        ("apps", name, "disks", index, "mount"),
                        f"mount '{_shown(disk.mount)}' holds {_describe(bad)}, which container mounts cannot carry",
                        "use letters, digits and - _ . @ + in mount paths, e.g. /app/media",
                    )
        bucket = getattr(getattr(self.spec.backups.target, "s3", None), "bucket", None)
        if bucket is not None and not S3_BUCKET.match(bucket):
            self.error(
                ("backups", "target", "s3", "bucket"),
                f"'{_shown(bucket)}' is not a bucket name",
                "write a bucket name, optionally with a path: acme-backups or acme-backups/shop",
            )
        for key in ("storage_class", "ingress_class", "cluster_issuer"):
            value = getattr(self.spec.kubernetes, key)
            if value is not None and not DNS_SUBDOMAIN.match(value):
                self.error(
                    ("kubernetes", key),
                    f"'{_shown(value)}' is not a Kubernetes object name",
                    "lowercase letters, digits, '-' and '.', e.g. standard or letsencrypt-prod",
                )
        registry = self.spec.kubernetes.registry
        if registry is not None and not IMAGE_REF.match(registry):
            self.error(
                ("kubernetes", "registry"),
                f"'{_shown(registry)}' is not a registry path",
                "write e.g. registry.example.com/shop",
            )

    def kubernetes(self) -> None:
        if self.spec.backend != "kubernetes":
            return
        built = [name for name, app in self.spec.apps.items() if app.source]
        if built and not self.spec.kubernetes.registry:
            self.error(
                ("backend",),
                f"apps built from source ({', '.join(built)}) need a registry the cluster pulls from",
                "add `kubernetes: {registry: registry.example.com/" + self.spec.stack + "}`",
            )


_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_CRON_NAMES = {
    3: {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())},
    4: {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())},
}


def cron_problem(schedule: str) -> str | None:
    """Why a 5-field cron expression is wrong, or None."""
    from flashdrive.cron.schedule import expand

    schedule = expand(schedule)
    fields = schedule.split()
    if len(fields) != 5:
        return f"it has {len(fields)} fields, cron needs 5"
    for index, (text, (label, low, high)) in enumerate(zip(fields, _CRON_FIELDS)):
        names = _CRON_NAMES.get(index, {})
        for part in text.split(","):
            base, _, step = part.partition("/")
            if step and (not (step.isascii() and step.isdigit()) or int(step) == 0):
                return f"the {label} step '{step}' is not a positive number"
            if base == "*":
                continue
            bounds = base.split("-")
            if len(bounds) > 2 or not all(bounds):
                return f"the {label} '{part}' is not a number or range"
            values = []
            for bound in bounds:
                # isdigit() alone accepts '²' and other digits int() refuses.
                value = int(bound) if bound.isascii() and bound.isdigit() else names.get(bound.lower())
                if value is None:
                    return f"the {label} '{bound}' is not a number"
                if not low <= value <= high:
                    return f"the {label} {value} is outside {low}-{high}"
                values.append(value)
            if len(values) == 2 and values[0] > values[1]:
                return f"the {label} range '{base}' runs backwards"
    return None


def check(loaded: LoadedSpec, problems: Problems) -> dict[str, Path]:
    """Validate: the rules that span several keys. Returns the apps' source folders that passed, by app."""
    checker = _Checker(loaded, problems)
    checker.run()
    return checker.sound_sources
