"""Plan → a Mermaid flowchart of the stack, for GitHub (```mermaid blocks) and the README.

It shows the outside world reaching the edge on 80/443, the edge routing each web app's domains
to its copies, every app with its copies, the databases, the disks and who mounts them, backups
and what they cover, and which app references which app or database through its env.

Everything is read from the plan's resources, their `flashdrive.*` labels and their dependencies,
so a plan read back from JSON draws the same picture. A reference to a database through a secret
(its `url` or `password`) shows as a dependency on the database's generated password; plain
references (`${apps.api.url}`, `${databases.main.host}`) show in the env values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from flashdrive.plan.model import Plan, PlannedResource

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
SECRET = "[secret]"
PROVIDED_ENV = ("PORT", "FLASHDRIVE_")
BACKUP_JOB_ROLES = ("backup", "backup-job")  # the job that reads disks and dumps databases
_DB_PASSWORD_ENV = re.compile(r"^FLASHDRIVE_DB_([A-Z0-9_]+)_PASSWORD$")


def _labels(resource: PlannedResource) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in resource.inputs.get("labels") or []:
        if isinstance(item, Mapping) and isinstance(item.get("label"), str):
            found[item["label"]] = str(item.get("value", ""))
    return found


def _envs(resource: PlannedResource) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in resource.inputs.get("envs") or []:
        if isinstance(entry, str) and "=" in entry:
            name, _, value = entry.partition("=")
            found[name] = value
    return found


def _mounts(resource: PlannedResource) -> list[tuple[str, str, bool]]:
    """(volume name, container path, read only) of a container."""
    found = []
    for volume in resource.inputs.get("volumes") or []:
        if isinstance(volume, Mapping) and isinstance(volume.get("volumeName"), str):
            found.append((volume["volumeName"], str(volume.get("containerPath", "")), bool(volume.get("readOnly"))))
    return found


@dataclass
class _App:
    name: str
    role: str  # web | worker
    copies: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    size: str = ""
    release: bool = False
    env: dict[str, str] = field(default_factory=dict)
    mounts: list[tuple[str, str, bool]] = field(default_factory=list)
    containers: list[PlannedResource] = field(default_factory=list)
    cron: dict[str, str] = field(default_factory=dict)  # job → schedule


@dataclass
class _Stack:
    name: str
    apps: dict[str, _App] = field(default_factory=dict)
    databases: dict[str, str] = field(default_factory=dict)  # name → "engine · image"
    database_components: dict[str, str] = field(default_factory=dict)  # component URN → database
    disks: dict[str, str] = field(default_factory=dict)  # volume name → disk name
    edge: bool = False
    backup_repository: str | None = None  # volume name
    backup_jobs: list[PlannedResource] = field(default_factory=list)
    backup_keep_days: str | None = None
    database_volumes: dict[str, str] = field(default_factory=dict)  # volume name → database


def _size(container: PlannedResource) -> str:
    cpus, memory = container.inputs.get("cpus"), container.inputs.get("memory")
    parts = []
    if cpus not in (None, ""):
        parts.append(f"{cpus} CPU")
    if isinstance(memory, int):
        parts.append(f"{memory} MiB" if memory < 1024 else f"{memory / 1024:g} GiB")
    return ", ".join(parts)


def _read(plan: Plan) -> _Stack:
    stack = _Stack(plan.stack or "stack")
    images: dict[str | None, str] = {}
    for resource in plan.resources:
        if resource.type == REMOTE_IMAGE and isinstance(resource.inputs.get("name"), str):
            images[resource.parent] = resource.inputs["name"]
    for resource in plan.resources:
        labels = _labels(resource)
        if resource.type == VOLUME:
            if "flashdrive.disk" in labels:
                stack.disks[str(resource.inputs.get("name", resource.name))] = labels["flashdrive.disk"]
            elif "flashdrive.database" in labels:
                stack.database_volumes[str(resource.inputs.get("name", resource.name))] = labels["flashdrive.database"]
            elif labels.get("flashdrive.role") == "backups":
                stack.backup_repository = str(resource.inputs.get("name", resource.name))
            continue
        if resource.type != CONTAINER:
            continue
        role = labels.get("flashdrive.role", "")
        if "flashdrive.database" in labels:
            db = labels["flashdrive.database"]
            image = images.get(resource.parent, "")
            engine = labels.get("flashdrive.engine", "")
            shown = image.rsplit("/", 1)[-1] if image else engine
            stack.databases[db] = f"{engine} · {shown}" if engine and engine not in shown else shown or engine
            if resource.parent:
                stack.database_components[resource.parent] = db
        elif role == "edge":
            stack.edge = True
        elif role.startswith("backup"):
            stack.backup_keep_days = _envs(resource).get("KEEP_DAYS") or stack.backup_keep_days
            if role in BACKUP_JOB_ROLES:
                stack.backup_jobs.append(resource)
        elif "flashdrive.app" in labels:
            app = stack.apps.setdefault(labels["flashdrive.app"], _App(labels["flashdrive.app"], "worker"))
            if role == "release":
                app.release = True
                continue
            if role == "cron":  # the scheduler: its jobs are in its labels
                app.cron = {k.removeprefix("flashdrive.cron."): v for k, v in labels.items()
                            if k.startswith("flashdrive.cron.")}
                continue
            if role.startswith("cron"):
                continue
            app.role = role or app.role
            app.copies.append(str(resource.inputs.get("hostname") or resource.name))
            app.containers.append(resource)
            if len(app.containers) == 1:
                env = _envs(resource)
                app.env = {k: v for k, v in env.items() if not k.startswith(PROVIDED_ENV)}
                hosts = [h for h in env.get("FLASHDRIVE_HOSTS", "").split(",") if h and h != app.name]
                app.hosts = hosts if role == "web" else []
                app.size = _size(resource)
                app.mounts = _mounts(resource)
    for app in stack.apps.values():
        app.copies.sort(key=lambda c: (len(c), c))
    return stack


def _references(plan: Plan, stack: _Stack) -> dict[str, set[str]]:
    """App → the apps and databases its env refers to (`app:NAME`, `db:NAME`)."""
    by_urn = {r.urn: r for r in plan.resources}
    refs: dict[str, set[str]] = {}
    names = [("app", n) for n in stack.apps] + [("db", n) for n in stack.databases]
    for app in stack.apps.values():
        found: set[str] = set()
        for container in app.containers[:1]:
            # A secret reference (url, password) depends on the database's generated password; the
            # copies' explicit dependencies on every database container are only for start order.
            for urn in container.depends_on:
                owner = by_urn.get(urn)
                if owner is not None and owner.type.startswith("random:") and owner.parent in stack.database_components:
                    found.add(f"db:{stack.database_components[owner.parent]}")
        for value in app.env.values():
            if value == SECRET:
                continue
            for kind, name in names:
                if kind == "app" and name == app.name:
                    continue
                if value == name or re.search(rf"(^|[/@]){re.escape(name)}(:\d+)?([/?#]|$)", value):
                    found.add(f"{kind}:{name}")
        refs[app.name] = found
    return refs


def _text(value: str) -> str:
    """Text inside a quoted Mermaid label."""
    return (value.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;"))


class _Ids:
    def __init__(self) -> None:
        self._taken: dict[str, str] = {}

    def __call__(self, kind: str, name: str) -> str:
        key = f"{kind}:{name}"
        if key not in self._taken:
            base = f"{kind}_{re.sub(r'[^A-Za-z0-9]', '_', name)}"
            candidate, counter = base, 2
            while candidate in self._taken.values():
                candidate, counter = f"{base}_{counter}", counter + 1
            self._taken[key] = candidate
        return self._taken[key]


def render_mermaid(plan: Plan) -> str:
    """The stack as a Mermaid flowchart (no code fence), ending with a newline."""
    stack = _read(plan)
    ids = _Ids()
    out = ["flowchart LR", '    internet(("internet"))']
    body: list[str] = []
    links: list[str] = []

    if stack.edge:
        body.append(f'        {ids("edge", "edge")}["edge · Caddy<br/>HTTPS, least-connections"]')
        links.append(f'    internet -->|"80, 443"| {ids("edge", "edge")}')
    for app in sorted(stack.apps.values(), key=lambda a: (a.role != "web", a.name)):
        app_id = ids("app", app.name)
        copies = f"{len(app.copies)} cop{'y' if len(app.copies) == 1 else 'ies'}"
        details = " · ".join(x for x in (copies, app.size, "release first" if app.release else "") if x)
        body.append(f'        subgraph {app_id}["app {_text(app.name)} ({_text(app.role)}) · {_text(details)}"]')
        for copy in app.copies:
            body.append(f'            {ids("copy", f"{app.name}/{copy}")}["{_text(copy)}"]')
        if app.cron:
            jobs = "<br/>".join(f"cron {_text(job)} {_text(when)}" for job, when in sorted(app.cron.items()))
            body.append(f'            {ids("cron", app.name)}["{jobs}<br/>(UTC, one run at a time)"]')
        body.append("        end")
        if app.role == "web" and stack.edge:
            hosts = "<br/>".join(_text(h) for h in app.hosts) or _text(app.name)
            links.append(f'    {ids("edge", "edge")} -->|"{hosts}"| {app_id}')
    data: list[str] = []
    for db, shown in sorted(stack.databases.items()):
        data.append(f'            {ids("db", db)}[("database {_text(db)}<br/>{_text(shown)}")]')
    for volume, disk in sorted(stack.disks.items(), key=lambda item: item[1]):
        data.append(f'            {ids("disk", disk)}[/"disk {_text(disk)}<br/>{_text(volume)}"/]')
    if stack.backup_repository or stack.backup_jobs:
        kept = f" · {stack.backup_keep_days} days kept" if stack.backup_keep_days else ""
        data.append(f'            {ids("backups", "backups")}[["backups{_text(kept)}<br/>'
                    f'{_text(stack.backup_repository or "repository outside the stack")}"]]')
    if data:
        body += [f'        subgraph {ids("group", "data")}["data, on retained volumes"]', *data, "        end"]

    for app in sorted(stack.apps.values(), key=lambda a: a.name):
        for volume, path, read_only in app.mounts:
            if volume in stack.disks:
                mode = " (read only)" if read_only else ""
                links.append(f'    {ids("app", app.name)} ---|"{_text(path + mode)}"| {ids("disk", stack.disks[volume])}')
    for app, targets in sorted(_references(plan, stack).items()):
        for target in sorted(targets):
            kind, _, name = target.partition(":")
            links.append(f'    {ids("app", app)} -.->|env| {ids(kind, name)}')
    covered: set[str] = set()
    env_names = {re.sub(r"[^A-Za-z0-9]", "_", db).upper(): db for db in stack.databases}
    for job in stack.backup_jobs:
        for volume, _, _ in _mounts(job):
            if volume in stack.disks:
                covered.add(ids("disk", stack.disks[volume]))
            elif volume in stack.database_volumes:
                covered.add(ids("db", stack.database_volumes[volume]))
        for name in _envs(job):  # databases are dumped over the network with their password
            match = _DB_PASSWORD_ENV.match(name)
            if match and match.group(1) in env_names:
                covered.add(ids("db", env_names[match.group(1)]))
    for target in sorted(covered):
        links.append(f'    {ids("backups", "backups")} -.->|"backs up"| {target}')

    out.append(f'    subgraph {ids("stack", stack.name)}["stack {_text(stack.name)} · private network"]')
    out += body
    out.append("    end")
    out += links
    out += [
        "    classDef fdApp fill:#e8f1ff,stroke:#3b6fb6",
        "    classDef fdData fill:#fff4e0,stroke:#b7791f",
        "    classDef fdEdge fill:#e9f7ef,stroke:#2f855a",
    ]
    apps = [ids("app", a) for a in stack.apps]
    data = [ids("db", d) for d in stack.databases] + [ids("disk", d) for d in stack.disks.values()]
    if stack.backup_repository or stack.backup_jobs:
        data.append(ids("backups", "backups"))
    if apps:
        out.append(f"    class {','.join(apps)} fdApp")
    if data:
        out.append(f"    class {','.join(data)} fdData")
    if stack.edge:
        out.append(f"    class {ids('edge', 'edge')} fdEdge")
    return "\n".join(out) + "\n"
