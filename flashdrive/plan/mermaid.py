"""Plan → a Mermaid flowchart of the stack, for GitHub (```mermaid blocks) and the README.

It shows the outside world reaching the edge on 80/443, the edge routing each web app's domains
to its copies, every app with its copies, the databases, the disks and who mounts them, backups
and what they cover, and which app references which app or database through its env.

Everything is read from the plan's resources, their labels (`flashdrive.*` on Docker,
`app.kubernetes.io/*` on Kubernetes) and their dependencies, so a plan read back from JSON draws
the same picture; each backend has its reader, both fill the same `_Stack` that is drawn. A reference to a database through a secret
(its `url` or `password`) shows as a dependency on the database's generated password; plain
references (`${apps.api.url}`, `${databases.main.host}`) show in the env values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from msgspec import Struct, field

from flashdrive.cron.records import jobs_from_labels
from flashdrive.labels import (
    DATABASES_ANNOTATION,
    DATABASES_LABEL,
    DOCKER_CONTAINER,
    DOCKER_REMOTE_IMAGE,
    DOCKER_VOLUME,
    K8S_CLAIM,
    K8S_COMPONENT,
    K8S_CONFIG_MAP,
    K8S_CRON_JOB,
    K8S_DEPLOYMENT,
    K8S_INGRESS,
    K8S_JOB,
    K8S_NAME,
    K8S_NAMESPACE,
    K8S_SECRET,
    K8S_STATEFUL_SET,
    LABEL_APP,
    LABEL_DATABASE,
    LABEL_DISK,
    LABEL_ENGINE,
    LABEL_ROLE,
    ROLE_BACKUP_JOB,
    docker_labels,
)
from flashdrive.plan.plan import Plan, PlannedResource
from flashdrive.plan.preview import dropped_domains, preview_of, seed_of
from flashdrive.plan.render import app_strategies

SECRET = "[secret]"
PROVIDED_ENV = ("PORT", "FLASHDRIVE_")
BACKUP_JOB_ROLES = ("backup", ROLE_BACKUP_JOB)  # the job that reads disks and dumps databases
_KEEP_DAYS = re.compile(r"keep (\d+) days")
_DB_PASSWORD_ENV = re.compile(r"^FLASHDRIVE_DB_([A-Z0-9_]+)_PASSWORD$")


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


class _App(Struct):
    name: str
    role: str  # web | worker
    copies: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    size: str = ""
    release: bool = False
    env: dict[str, str] = field(default_factory=dict)  # plain values; secrets as [secret]
    disks: list[tuple[str, str, bool]] = field(default_factory=list)  # (disk, mount path, read only)
    uses_databases: set[str] = field(default_factory=set)  # through secret references (url, password)
    cron: dict[str, str] = field(default_factory=dict)  # job → schedule
    strategy: str = ""  # how a deploy changes the copies, and why


class _Stack(Struct):
    """What the diagram shows, the same for every backend."""

    name: str
    group: str  # the stack box's caption
    edge: str | None = None  # the edge box's caption, None without an edge
    apps: dict[str, _App] = field(default_factory=dict)
    databases: dict[str, str] = field(default_factory=dict)  # name → "engine · image"
    disks: dict[str, str] = field(default_factory=dict)  # disk → its volume or claim
    backups: bool = False
    backup_repository: str | None = None  # volume or claim; None: outside the stack (s3, rest)
    backup_keep_days: str | None = None
    backed_up: set[tuple[str, str]] = field(default_factory=set)  # ("db" | "disk", name)


def _size(container: PlannedResource) -> str:
    cpus, memory = container.inputs.get("cpus"), container.inputs.get("memory")
    parts = []
    if cpus not in (None, ""):
        parts.append(f"{cpus} CPU")
    if isinstance(memory, int):
        parts.append(f"{memory} MiB" if memory < 1024 else f"{memory / 1024:g} GiB")
    return ", ".join(parts)


def _databases_by_password(plan: Plan, components: Mapping[str, str], resource: PlannedResource) -> set[str]:
    """The databases `resource` reads a secret of: it depends on the generated password that the
    database's component owns (the explicit dependencies on database servers are only for order)."""
    by_urn = {r.urn: r for r in plan.resources}
    found = set()
    for urn in resource.depends_on:
        owner = by_urn.get(urn)
        if (
            owner is not None
            and owner.type.startswith("random:")
            and owner.parent is not None
            and owner.parent in components
        ):
            found.add(components[owner.parent])
    return found


def _read_docker(plan: Plan) -> _Stack:
    stack = _Stack(plan.stack or "stack", f"stack {plan.stack or 'stack'} · private network")
    images: dict[str | None, str] = {}
    for resource in plan.resources:
        if resource.type == DOCKER_REMOTE_IMAGE and isinstance(resource.inputs.get("name"), str):
            images[resource.parent] = resource.inputs["name"]
    disk_volumes: dict[str, str] = {}  # volume name → disk
    database_volumes: dict[str, str] = {}  # volume name → database
    database_components: dict[str, str] = {}  # component URN → database
    first_containers: dict[str, PlannedResource] = {}
    backup_jobs: list[PlannedResource] = []
    for resource in plan.resources:
        labels = docker_labels(resource.inputs)
        if resource.type == DOCKER_VOLUME:
            volume = str(resource.inputs.get("name", resource.name))
            if LABEL_DISK in labels:
                disk_volumes[volume] = labels[LABEL_DISK]
                stack.disks[labels[LABEL_DISK]] = volume
            elif LABEL_DATABASE in labels:
                database_volumes[volume] = labels[LABEL_DATABASE]
            elif labels.get(LABEL_ROLE) == "backups":
                stack.backups, stack.backup_repository = True, volume
            continue
        if resource.type == "command:local:Command":  # flashdrive/docker/release.py: the env names the app
            app_name = (resource.inputs.get("environment") or {}).get("FLASHDRIVE_APP")
            if isinstance(app_name, str):
                stack.apps.setdefault(app_name, _App(app_name, "worker")).release = True
            continue
        if resource.type != DOCKER_CONTAINER:
            continue
        role = labels.get(LABEL_ROLE, "")
        if LABEL_DATABASE in labels:
            db = labels[LABEL_DATABASE]
            image = images.get(resource.parent, "")
            engine = labels.get(LABEL_ENGINE, "")
            shown = image.rsplit("/", 1)[-1] if image else engine
            stack.databases[db] = f"{engine} · {shown}" if engine and engine not in shown else shown or engine
            if resource.parent:
                database_components[resource.parent] = db
        elif role == "edge":
            stack.edge = "edge · Caddy<br/>HTTPS, least-connections"
        elif role.startswith("backup"):
            stack.backups = True
            stack.backup_keep_days = _envs(resource).get("KEEP_DAYS") or stack.backup_keep_days
            if role in BACKUP_JOB_ROLES:
                backup_jobs.append(resource)
        elif LABEL_APP in labels:
            app = stack.apps.setdefault(labels[LABEL_APP], _App(labels[LABEL_APP], "worker"))
            if role == "release":
                app.release = True
                continue
            if role == "cron":  # the scheduler: its jobs are in its labels
                app.cron = jobs_from_labels(labels)
                continue
            if role.startswith("cron"):
                continue
            app.role = role or app.role
            app.copies.append(str(resource.inputs.get("hostname") or resource.name))
            if app.name not in first_containers:
                first_containers[app.name] = resource
                env = _envs(resource)
                app.env = {k: v for k, v in env.items() if not k.startswith(PROVIDED_ENV)}
                hosts = [h for h in env.get("FLASHDRIVE_HOSTS", "").split(",") if h and h != app.name]
                app.hosts = hosts if role == "web" else []
                app.size = _size(resource)
    for app in stack.apps.values():  # volumes and containers come in any order: mounts are read last
        app.copies.sort(key=lambda c: (len(c), c))
        if app.name in first_containers:
            first = first_containers[app.name]
            app.disks = [
                (disk_volumes[volume], path, read_only)
                for volume, path, read_only in _mounts(first)
                if volume in disk_volumes
            ]
            app.uses_databases = _databases_by_password(plan, database_components, first)
            # Passwords derived from stack config (flashdrive/credentials.py) have no resource: the
            # copies' label lists the databases their env refers to.
            app.uses_databases |= {
                db for db in docker_labels(first.inputs).get(DATABASES_LABEL, "").split(",") if db in stack.databases
            }
    env_names = {re.sub(r"[^A-Za-z0-9]", "_", db).upper(): db for db in stack.databases}
    for job in backup_jobs:
        for volume, _, _ in _mounts(job):
            if volume in disk_volumes:
                stack.backed_up.add(("disk", disk_volumes[volume]))
            elif volume in database_volumes:
                stack.backed_up.add(("db", database_volumes[volume]))
        for name in _envs(job):  # databases are dumped over the network with their password
            match = _DB_PASSWORD_ENV.match(name)
            if match and match.group(1) in env_names:
                stack.backed_up.add(("db", env_names[match.group(1)]))
    return stack


# --- kubernetes: the objects' app.kubernetes.io labels say what each is ----------------------


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _k8s_labels(resource: PlannedResource) -> dict[str, str]:
    metadata = resource.inputs.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, Mapping) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, Mapping) else {}


def _k8s_pod(resource: PlannedResource) -> Mapping[str, Any]:
    """The pod spec of a Deployment, StatefulSet, Job or CronJob."""
    spec = resource.inputs.get("spec")
    if resource.type == K8S_CRON_JOB and isinstance(spec, Mapping):
        spec = (spec.get("jobTemplate") or {}).get("spec")
    template = spec.get("template") if isinstance(spec, Mapping) else None
    pod = template.get("spec") if isinstance(template, Mapping) else None
    return pod if isinstance(pod, Mapping) else {}


def _k8s_containers(pod: Mapping[str, Any], *, init: bool = False) -> list[Mapping[str, Any]]:
    found = pod.get("initContainers" if init else "containers") or []
    return [c for c in found if isinstance(c, Mapping)]


def _k8s_claims(pod: Mapping[str, Any], container: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """(claim name, mount path, read only) of a container's mounted claims."""
    claims = {}
    for volume in pod.get("volumes") or []:
        claim = volume.get("persistentVolumeClaim") if isinstance(volume, Mapping) else None
        if isinstance(claim, Mapping) and isinstance(claim.get("claimName"), str):
            claims[volume.get("name")] = (claim["claimName"], bool(claim.get("readOnly")))
    found = []
    for mount in container.get("volumeMounts") or []:
        if isinstance(mount, Mapping) and mount.get("name") in claims:
            claim, read_only = claims[mount["name"]]
            found.append((claim, str(mount.get("mountPath", "")), read_only or bool(mount.get("readOnly"))))
    return found


def _k8s_quantity(cpu: Any, memory: Any) -> str:
    parts = []
    if isinstance(cpu, str) and cpu:
        parts.append(f"{int(cpu[:-1]) / 1000:g} CPU" if cpu.endswith("m") and cpu[:-1].isdigit() else f"{cpu} CPU")
    if isinstance(memory, str) and memory:
        mib = {"Mi": 1, "Gi": 1024}.get(memory[-2:])
        if mib and memory[:-2].isdigit():
            size = int(memory[:-2]) * mib
            parts.append(f"{size} MiB" if size < 1024 else f"{size / 1024:g} GiB")
        else:
            parts.append(memory)
    return ", ".join(parts)


def _read_kubernetes(plan: Plan) -> _Stack:
    name = plan.stack or "stack"
    stack = _Stack(name, f"stack {name} · namespace")
    claims: dict[str, str] = {}  # claim name → disk
    credentials: dict[str, str] = {}  # the Secret with a database's password → database
    database_components: dict[str, str] = {}
    env_secrets: dict[str, PlannedResource] = {}  # app → the Secret with its secret env values
    ingress_classes: set[str] = set()
    jobs: list[PlannedResource] = []
    backup_claims: set[str] = set()
    deployments: list[tuple[PlannedResource, dict[str, str]]] = []
    for resource in plan.resources:
        labels = _k8s_labels(resource)
        component, label_name = labels.get(K8S_COMPONENT, ""), labels.get(K8S_NAME, "")
        object_name = str(_mapping(resource.inputs.get("metadata")).get("name", resource.name))
        if resource.type == K8S_NAMESPACE:
            stack.group = f"stack {name} · namespace {object_name}"
        elif resource.type == K8S_CLAIM and component == "disk":
            claims[object_name] = label_name
            stack.disks[label_name] = object_name
        elif resource.type == K8S_CLAIM and component == "backup":  # the repository, or the prune's ledger
            stack.backups = True
            backup_claims.add(object_name)
        elif resource.type == K8S_SECRET and component == "database":
            credentials[object_name] = label_name
            if resource.parent:
                database_components[resource.parent] = label_name
        elif resource.type == K8S_SECRET and component == "env":
            env_secrets[label_name] = resource
        elif resource.type == K8S_STATEFUL_SET and component == "database":
            containers = _k8s_containers(_k8s_pod(resource))
            image = str(containers[0].get("image", "")) if containers else ""
            stack.databases[label_name] = image.rsplit("/", 1)[-1]
        elif resource.type == K8S_DEPLOYMENT:
            deployments.append((resource, labels))
        elif resource.type == K8S_JOB and component == "release":
            stack.apps.setdefault(label_name, _App(label_name, "worker")).release = True
        elif resource.type == K8S_CONFIG_MAP and component == "backup" and stack.backup_keep_days is None:
            # The prune's script says how many days it keeps (restic's own policy is not used).
            found = _KEEP_DAYS.search(json.dumps(resource.inputs.get("data")))
            stack.backup_keep_days = found.group(1) if found else None
        elif resource.type == K8S_CRON_JOB and component == "backup":
            stack.backups = True
            jobs.append(resource)
        elif resource.type == K8S_INGRESS:
            spec = _mapping(resource.inputs.get("spec"))
            ingress_classes.add(str(spec.get("ingressClassName") or "default class"))
            hosts = [
                str(rule["host"]) for rule in spec.get("rules") or [] if isinstance(rule, Mapping) and rule.get("host")
            ]
            app = stack.apps.setdefault(label_name, _App(label_name, "web"))
            app.hosts += [host for host in hosts if host not in app.hosts]
    for resource, labels in deployments:
        if labels.get(K8S_COMPONENT) == "backup":  # the append-only backup server, not an app
            continue
        app = stack.apps.setdefault(
            labels.get(K8S_NAME, resource.name), _App(labels.get(K8S_NAME, resource.name), "worker")
        )
        app.role = labels.get(K8S_COMPONENT) or app.role
        replicas = _mapping(resource.inputs.get("spec")).get("replicas")
        replicas = replicas if isinstance(replicas, int) else 1
        app.copies = [f"pod {n}" for n in range(1, replicas + 1)]  # a Deployment's pods have no numbers
        pod = _k8s_pod(resource)
        containers = _k8s_containers(pod)
        if containers:
            container = containers[0]
            env = {}
            for entry in container.get("env") or []:
                if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
                    env[entry["name"]] = str(entry["value"]) if "value" in entry else SECRET
            app.env = {k: v for k, v in env.items() if not k.startswith(PROVIDED_ENV)}
            limits = (container.get("resources") or {}).get("limits") or {}
            app.size = _k8s_quantity(limits.get("cpu"), limits.get("memory"))
            app.disks = [
                (claims[claim], path, read_only)
                for claim, path, read_only in _k8s_claims(pod, container)
                if claim in claims
            ]
        if app.name in env_secrets:
            secret = env_secrets[app.name]
            app.uses_databases = _databases_by_password(plan, database_components, secret)
            annotations = _mapping(_mapping(secret.inputs.get("metadata")).get("annotations"))
            app.uses_databases |= {
                db for db in str(annotations.get(DATABASES_ANNOTATION, "")).split(",") if db in stack.databases
            }
    if ingress_classes:
        stack.edge = f"ingress · {', '.join(sorted(ingress_classes))}<br/>HTTPS"
    for job in jobs:
        pod = _k8s_pod(job)
        for volume in pod.get("volumes") or []:  # the repository is what the job mounts under that name
            claim = _mapping(_mapping(volume).get("persistentVolumeClaim")).get("claimName")
            if _mapping(volume).get("name") == "repository" and claim in backup_claims:
                stack.backup_repository = str(claim)
        for container in _k8s_containers(pod) + _k8s_containers(pod, init=True):
            stack.backed_up |= {
                ("disk", claims[claim]) for claim, _, _ in _k8s_claims(pod, container) if claim in claims
            }
            for entry in container.get("env") or []:  # a dump reads its database's password
                ref = ((entry.get("valueFrom") or {}).get("secretKeyRef") or {}) if isinstance(entry, Mapping) else {}
                if ref.get("name") in credentials:
                    stack.backed_up.add(("db", credentials[ref["name"]]))
    return stack


def _read(plan: Plan) -> _Stack:
    kubernetes = plan.backend == "kubernetes" or any(r.type.startswith("kubernetes:") for r in plan.resources)
    return _read_kubernetes(plan) if kubernetes else _read_docker(plan)


def _references(stack: _Stack) -> dict[str, set[str]]:
    """App → the apps and databases it uses (`app:NAME`, `db:NAME`): secret references found by
    the reader, plain ones (`${apps.api.url}`, `${databases.main.host}`) in the env values."""
    refs: dict[str, set[str]] = {}
    names = [("app", n) for n in stack.apps] + [("db", n) for n in stack.databases]
    for app in stack.apps.values():
        found = {f"db:{db}" for db in app.uses_databases}
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
    return value.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


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
    for name, (strategy, why) in app_strategies(plan).items():
        if name in stack.apps:
            stack.apps[name].strategy = strategy if strategy == "rolling" else f"{strategy}: {why}"
    ids = _Ids()
    out = ["flowchart LR", '    internet(("internet"))']
    body: list[str] = []
    links: list[str] = []

    if stack.edge:
        body.append(f'        {ids("edge", "edge")}["{stack.edge}"]')
        links.append(f'    internet -->|"80, 443"| {ids("edge", "edge")}')
    for app in sorted(stack.apps.values(), key=lambda a: (a.role != "web", a.name)):
        app_id = ids("app", app.name)
        copies = f"{len(app.copies)} cop{'y' if len(app.copies) == 1 else 'ies'}"
        details = " · ".join(x for x in (copies, app.size, "release first" if app.release else "", app.strategy) if x)
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
    for disk, volume in sorted(stack.disks.items()):
        data.append(f'            {ids("disk", disk)}[/"disk {_text(disk)}<br/>{_text(volume)}"/]')
    if stack.backups:
        kept = f" · {stack.backup_keep_days} days kept" if stack.backup_keep_days else ""
        data.append(
            f'            {ids("backups", "backups")}[["backups{_text(kept)}<br/>'
            f'{_text(stack.backup_repository or "repository outside the stack")}"]]'
        )
    preview = preview_of(plan)
    seed = seed_of(preview) if preview is not None else None
    if seed is not None:  # a preview's seed: once, from the base's backups, read only
        steps = " → ".join(
            ("restore", "release", "scrub", "copies") if seed.get("scrub") else ("restore", "release", "copies")
        )
        data.append(
            f'            {ids("seed", "seed")}[["seed, once at creation<br/>{_text(str(seed.get("from")))}'
            f'<br/>{_text(steps)}"]]'
        )
    if data:
        caption = "data, on retained volumes" if preview is None else "data, the preview's own"
        body += [f'        subgraph {ids("group", "data")}["{_text(caption)}"]', *data, "        end"]

    for app in sorted(stack.apps.values(), key=lambda a: a.name):
        for disk, path, read_only in app.disks:
            mode = " (read only)" if read_only else ""
            links.append(f'    {ids("app", app.name)} ---|"{_text(path + mode)}"| {ids("disk", disk)}')
    for app_name, targets in sorted(_references(stack).items()):
        for target in sorted(targets):
            kind, _, name = target.partition(":")
            links.append(f"    {ids('app', app_name)} -.->|env| {ids(kind, name)}")
    for target in sorted(ids(kind, name) for kind, name in stack.backed_up):
        links.append(f'    {ids("backups", "backups")} -.->|"backs up"| {target}')
    if seed is not None:
        for target in sorted([ids("db", d) for d in stack.databases] + [ids("disk", d) for d in stack.disks]):
            links.append(f'    {ids("seed", "seed")} -.->|"restores"| {target}')
    if preview is not None:
        stack.group += f" · preview of stack {preview.get('base')}, pull request {preview.get('number')}"
        dropped = dropped_domains(preview)
        if dropped:  # named, so a reviewer sees that they do not reach this preview
            hosts = "<br/>".join(f"{_text(host)} (app {_text(app)})" for host, app in dropped)
            out.append(f'    {ids("dropped", "domains")}["custom domains dropped in the preview:<br/>{hosts}"]')

    out.append(f'    subgraph {ids("stack", stack.name)}["{_text(stack.group)}"]')
    out += body
    out.append("    end")
    out += links
    out += [
        "    classDef fdApp fill:#e8f1ff,stroke:#3b6fb6",
        "    classDef fdData fill:#fff4e0,stroke:#b7791f",
        "    classDef fdEdge fill:#e9f7ef,stroke:#2f855a",
    ]
    apps = [ids("app", a) for a in stack.apps]
    data = [ids("db", d) for d in stack.databases] + [ids("disk", d) for d in stack.disks]
    if stack.backups:
        data.append(ids("backups", "backups"))
    if seed is not None:
        data.append(ids("seed", "seed"))
    if apps:
        out.append(f"    class {','.join(apps)} fdApp")
    if data:
        out.append(f"    class {','.join(data)} fdData")
    if stack.edge:
        out.append(f"    class {ids('edge', 'edge')} fdEdge")
    return "\n".join(out) + "\n"
