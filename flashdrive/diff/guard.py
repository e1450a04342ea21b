"""The data-loss guard: which changes delete or replace something that holds data, and why.

Deleting or replacing a data holder (holders.py) loses data from the stack's point of view even
with `retain_on_delete`: Pulumi leaves the old volume on the host, but nothing mounts it, backs it
up or will ever attach it again, and a replacement starts empty. A change of physical name is a
replacement. So is a database server that would start on files it cannot read or would rewrite for good:
a new engine, a new major version the deploy does not upgrade (flashdrive/engines.py). Renaming an app,
growing a disk or changing env vars touch none of these; adding copies does not on Docker, but on
Kubernetes going from 1 copy to 2 changes a disk's access mode, which replaces its claim.

Each finding says what in the spec most likely caused it, from what the two plans show: the
labels on the volumes, which app mounted a disk, which holders of the same kind appear.
"""

from __future__ import annotations

import re

from msgspec import Struct

from flashdrive.diff.changes import CREATE, DELETE, REPLACE, PlanDiff, ResourceChange
from flashdrive.diff.holders import Holder, holder_of, kubernetes_labels
from flashdrive.diff.replacement import CONTAINER, PVC, REMOTE_IMAGE
from flashdrive.engines import ENGINES, EngineFacts, major_upgrade_supported, upgrade_path
from flashdrive.labels import (
    K8S_NAME,
    K8S_STATEFUL_SET,
    LABEL_APP,
    LABEL_DATABASE,
    LABEL_ENGINE,
    LABEL_ROLE,
    RANDOM_PASSWORD,
    ROLE_BACKUP_JOB,
    docker_labels,
)
from flashdrive.plan.plan import Plan
from flashdrive.plan.render import database_upgrades

# Besides deleted and replaced: a holder left in place that the new server cannot read, and one whose
# files the new server rewrites for good (a major upgrade in place, no way back).
UNREADABLE, IN_PLACE = "unreadable", "in-place"
_OUTCOMES = {
    DELETE: "deleted",
    REPLACE: "replaced",
    UNREADABLE: "left unreadable",
    IN_PLACE: "upgraded in place, with no way back",
}


class Finding(Struct, frozen=True):
    """One data holder that a change deletes, replaces, leaves unreadable or rewrites for good."""

    holder: Holder
    verdict: str  # delete | replace | unreadable | in-place
    resource: str  # the resource's name in the base plan
    cause: str  # what in the spec caused it
    consequence: str  # what happens to the data

    def _where(self, quote: str = "") -> str:
        """` (volume shop-db-main)`; nothing for a namespace, whose label already names it."""
        if not self.holder.physical or self.holder.kind == "namespace":
            return ""
        return f" ({self.holder.noun} {quote}{self.holder.physical}{quote})"

    @property
    def message(self) -> str:
        what = _OUTCOMES[self.verdict]
        return f"{self.holder.label}{self._where()} would be {what}: {self.cause}. {self.consequence}"

    @property
    def markdown(self) -> str:
        what, where = _OUTCOMES[self.verdict], self._where("`")
        return f"**{self.holder.markdown_label}**{where} would be **{what}**: {self.cause}. {self.consequence}"


class Report(Struct, frozen=True):
    findings: list[Finding]
    cautions: list[str]  # risky but not data loss: shown, never blocking

    @property
    def loses_data(self) -> bool:
        return bool(self.findings)

    @property
    def action(self) -> str:
        """What the change does to the holders, for the summary line: "deletes or replaces" when it
        does only that."""
        if all(f.verdict in (DELETE, REPLACE) for f in self.findings):
            return "deletes or replaces"
        return "puts at risk the data of"


def _containers(plan: Plan) -> list[tuple[dict[str, str], list[str]]]:
    """(labels, mounted volume names) of every container."""
    found = []
    for resource in plan.resources:
        if resource.type == CONTAINER:
            mounts = resource.inputs.get("volumes")
            volumes = [v.get("volumeName") for v in mounts if isinstance(v, dict)] if isinstance(mounts, list) else []
            found.append((docker_labels(resource.inputs), [v for v in volumes if isinstance(v, str)]))
    return found


def _apps(plan: Plan) -> set[str]:
    return {labels[LABEL_APP] for labels, _ in _containers(plan) if LABEL_APP in labels}


def _mounted_by(plan: Plan, volume: str | None) -> list[str]:
    return sorted(
        {labels[LABEL_APP] for labels, volumes in _containers(plan) if volume in volumes and LABEL_APP in labels}
    )


def _newest(volumes: list[str], first: str) -> str | None:
    """The volume of the newest major among a database's volumes: the first major's carries no
    suffix, each later one `-<prefix><major>` (model/resolve.py)."""

    def major(volume: str) -> tuple[int, ...]:
        digits = re.sub(r"^\D*", "", volume[len(first) + 1 :]) if volume != first else ""
        return tuple(int(n) for n in re.findall(r"\d+", digits)) if digits else (-1,)

    return max(volumes, key=major, default=None)


def _quote_all(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


class _Context:
    def __init__(self, diff: PlanDiff):
        self.diff = diff
        self.base_stack, self.head_stack = diff.base.stack, diff.head.stack
        self.head_apps = _apps(diff.head)
        self.created: dict[str, list[str]] = {}
        self.head_holders: set[tuple[str, str | None]] = set()
        # (kind, name) → the physical names of its holders, before and after (a database has one
        # volume per major it ran: `upgraded_from`).
        self.physical: dict[str, dict[tuple[str, str | None], list[str]]] = {"base": {}, "head": {}}
        for change in diff.changes:
            for side, resource in (("base", change.base), ("head", change.head)):
                if resource is not None and (found := holder_of(resource)) is not None and found.physical:
                    self.physical[side].setdefault((found.kind, found.name), []).append(found.physical)
            if change.head is not None and (holder := holder_of(change.head)) is not None:
                self.head_holders.add((holder.kind, holder.name))
                if change.verdict == CREATE and holder.name:
                    self.created.setdefault(holder.kind, []).append(holder.name)

    def stack_renamed(self) -> bool:
        return bool(self.base_stack and self.head_stack and self.base_stack != self.head_stack)

    def backend_changed(self) -> bool:
        base, head = self.diff.base.backend, self.diff.head.backend
        return bool(base and head and base != head)

    def backend_cause(self) -> str:
        base, head = self.diff.base.backend, self.diff.head.backend
        return (
            f"the backend changes from {base} to {head}, and nothing that holds data carries over from one to the "
            f"other: the {head} stack starts with new, empty volumes"
        )

    def deletion_cause(self, holder: Holder) -> str:
        if self.backend_changed():
            return self.backend_cause()
        if self.stack_renamed():
            return (
                f"the stack is renamed from '{self.base_stack}' to '{self.head_stack}', and every physical name "
                f"starts with the stack's name"
            )
        if (holder.kind, holder.name) in self.head_holders and (cause := self.later_major_cause(holder)):
            return cause
        if (holder.kind, holder.name) in self.head_holders:
            return (
                f"{holder.label} is still in the spec, but its resource gets a new identity in the stack "
                f"(a change in flashdrive moved it without an alias)"
            )
        if holder.kind == "disk":
            apps = _mounted_by(self.diff.base, holder.physical)
            where = f"apps.{apps[0]}.disks" if len(apps) == 1 else "the spec"
            gone = [app for app in apps if app not in self.head_apps]
            if apps and len(gone) == len(apps):
                owner = f"app {_quote_all(gone)}" if len(gone) == 1 else f"apps {_quote_all(gone)}"
                return f"{owner} is removed from the spec, and with it disk '{holder.name}'"
            new = self.created.get("disk", [])
            if new:
                return (
                    f"disk '{holder.name}' is no longer in {where}, and disk {_quote_all(new)} is new: a renamed "
                    f"disk is a new, empty volume (the disk's name is its identity)"
                )
            return f"disk '{holder.name}' is removed from {where}"
        if holder.kind == "database":
            new = self.created.get("database", [])
            if new:
                return (
                    f"database '{holder.name}' is no longer in databases, and database {_quote_all(new)} is new: "
                    f"a renamed database starts empty (the database's name is its identity)"
                )
            return f"database '{holder.name}' is removed from databases"
        if holder.kind == "edge":
            return "the stack no longer declares the edge's volume"
        if holder.kind == "namespace":
            return f"the stack no longer declares namespace '{holder.physical}'"
        return "the stack no longer declares the backup repository (backups disabled, or their target changed)"

    def later_major_cause(self, holder: Holder) -> str | None:
        """A database volume of a later major (`<stack>-db-<name>-pg17`) that goes while the database
        stays: `upgraded_from` lost entries, and with them the names of the volumes."""
        first = f"{self.base_stack}-db-{holder.name}"
        if holder.kind != "database" or not (holder.physical or "").startswith(f"{first}-"):
            return None
        cause = (
            f"`upgraded_from` of databases.{holder.name} no longer lists the majors the database ran before "
            f"this volume's: keep it; it names the volumes"
        )
        before = _newest(self.physical["base"].get((holder.kind, holder.name), []), first)
        after = _newest(self.physical["head"].get((holder.kind, holder.name), []), first)
        if before == holder.physical and after and after != before:
            cause += (
                f". The server would mount volume {after} instead of {before}: {after} holds the data of an "
                f"earlier major, which the server refuses"
            )
        return cause

    def replacement_cause(self, change: ResourceChange, holder: Holder) -> str:
        after = holder_of(change.head) if change.head is not None else None
        if holder.kind == "namespace" and after is not None and after.physical != holder.physical:
            return (
                f"the stack's namespace changes from '{holder.physical}' to '{after.physical}' "
                f"(kubernetes.namespace), and every object of the stack moves to the new one"
            )
        moved = _namespaces(change)
        if moved is not None:
            return (
                f"the stack's namespace changes from '{moved[0]}' to '{moved[1]}' (kubernetes.namespace), and a "
                f"claim cannot move between namespaces"
            )
        if after is not None and after.physical != holder.physical:
            return f"its physical name changes from '{holder.physical}' to '{after.physical}'"
        modes = _access_modes(change)
        if modes is not None:
            return (
                f"its access mode changes from {modes[0]} to {modes[1]} (copies on several nodes share a disk "
                f"as ReadWriteMany, a single copy has it ReadWriteOnce), and a claim's access mode never changes"
            )
        keys = ", ".join(change.replacing)
        return f"its {keys} change, which the provider cannot update in place: the {holder.noun} is replaced"


def _dig(value, *keys: str):
    """value[k1][k2]... in a plan read from a file, which may hold anything; None where a step is missing."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _namespace(resource) -> str | None:
    metadata = resource.inputs.get("metadata") if resource is not None else None
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    return namespace if isinstance(namespace, str) else None


def _namespaces(change: ResourceChange) -> tuple[str, str] | None:
    """(before, after) when an object moves to another namespace."""
    before, after = _namespace(change.base), _namespace(change.head)
    return (before, after) if before and after and before != after else None


def _stranded(plan: Plan, namespace: str | None) -> list[str]:
    """What holds data in a namespace: every claim, the databases' included, and the claims a database's
    stateful set makes from its claim templates (stacks from before databases had a claim of their own)."""
    found = []
    for resource in plan.resources:
        if _namespace(resource) != namespace:
            continue
        holder = holder_of(resource)
        if resource.type == PVC and holder is not None:
            found.append(f"{holder.label} (claim {holder.physical})")
        elif resource.type == K8S_STATEFUL_SET and (db := kubernetes_labels(resource.inputs).get(LABEL_DATABASE)):
            name = _dig(resource.inputs, "metadata", "name") or resource.name
            found += [f"database '{db}' (claim {template}-{name}-0)" for template in _templates(resource.inputs)]
    return sorted(found)


def _claim_spec(resource) -> dict:
    spec = resource.inputs.get("spec") if resource is not None and resource.type == PVC else None
    return spec if isinstance(spec, dict) else {}


def _access_modes(change: ResourceChange) -> tuple[str, str] | None:
    """(before, after) when a claim's access mode changes."""
    before, after = _claim_spec(change.base).get("accessModes"), _claim_spec(change.head).get("accessModes")
    if isinstance(before, list) and isinstance(after, list) and before and after and before != after:
        return ", ".join(map(str, before)), ", ".join(map(str, after))
    return None


def _storage(resource) -> str | None:
    storage = _dig(_claim_spec(resource), "resources", "requests", "storage")
    return storage if isinstance(storage, str) else None


_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def _bytes(quantity: str) -> float | None:
    number = quantity.rstrip("kMGTi")
    try:
        return float(number) * _UNITS[quantity[len(number) :]]
    except (ValueError, KeyError):
        return None


def _consequence(diff: PlanDiff, context: _Context, change: ResourceChange, holder: Holder) -> str:
    retained = change.base is not None and change.base.retain_on_delete
    if holder.kind == "namespace":
        stranded = _stranded(diff.base, holder.physical)
        held = f": {', '.join(stranded)}" if stranded else ""
        if not retained:
            return f"Kubernetes deletes the namespace and every claim in it, with their data{held}"
        kept = (
            "The old namespace stays in the cluster (retain on delete) with its claims and their data, detached "
            f"from the stack{held}; nothing mounts them or backs them up any more"
        )
        if change.verdict == REPLACE:
            return (
                f"{kept}, and the new namespace gets new, empty claims. Move the data by hand before deploying "
                f"(dump each database, copy each disk), or keep namespace '{holder.physical}'"
            )
        return kept
    moved = _namespaces(change)
    if change.verdict == REPLACE and moved is not None:
        return (
            f"The old claim stays in '{moved[0]}' with the data"
            + (" (retain on delete)" if retained else "")
            + f", detached from the stack; the new one in '{moved[1]}' starts empty"
        )
    if context.backend_changed():
        base, head = diff.base.backend, diff.head.backend
        left = (
            "Pulumi leaves the old volume where it is (retain on delete), detached from the stack"
            if retained
            else "Pulumi deletes the volume and the data on it"
        )
        return (
            f"{left}. Move the data yourself (dump each database, copy each disk) into the {head} stack once it "
            f"is deployed, or keep backend {base}"
        )
    # A claim whose access mode changes has a base (_access_modes reads both sides): the check only narrows it.
    if change.verdict == REPLACE and retained and change.base is not None and _access_modes(change) is not None:
        metadata = change.base.inputs.get("metadata") or {}
        name, namespace = metadata.get("name"), metadata.get("namespace")
        where = f" -n {namespace}" if isinstance(namespace, str) else ""
        return (
            "The old claim is retained under the same name, so `pulumi up` stops with AlreadyExists. To go "
            f"ahead: copy the data out, `kubectl delete pvc {name}{where}`, deploy, copy the data into the new, "
            "empty claim; or keep the number of copies"
        )
    if change.verdict == DELETE:
        if retained:
            return (
                "Pulumi leaves the old volume on the host (retain on delete), detached from the stack: nothing "
                "mounts it or backs it up any more"
            )
        return "Pulumi deletes the volume and the data on it"
    if retained:
        return "A new, empty volume takes its place; the old one is left on the host, detached from the stack"
    return "A new, empty volume takes its place, and the old one is deleted with its data"


class _Server(Struct, frozen=True):
    """A database's server as a plan shows it."""

    engine: str | None
    image: str | None
    data: Holder | None  # its volume or claim

    @property
    def version(self) -> str | None:
        """The image's tag: `{version}` in every default image and in the overrides the spec documents."""
        if self.image is None or "@" in self.image:
            return None
        return self.image.rpartition("/")[2].partition(":")[2] or None


def _database_servers(plan: Plan) -> dict[str, _Server]:
    """Database name → its server: on Docker the labelled container (engine) and its pulled image,
    on Kubernetes the stateful set (its container is named after the engine); and its data holder."""
    engines: dict[str, str | None] = {}
    images: dict[str, str | None] = {}
    data: dict[str, Holder] = {}
    containers: dict[str | None, str] = {}  # parent component → database
    # The volume or claim each server mounts: after a major upgrade a database has several (the
    # earlier majors' stay, retained), and its data is on the one its server mounts.
    mounted: dict[str, set[str]] = {}
    for resource in plan.resources:
        if resource.type == CONTAINER:
            labels = docker_labels(resource.inputs)
            if LABEL_DATABASE in labels:
                containers[resource.parent] = labels[LABEL_DATABASE]
                engines[labels[LABEL_DATABASE]] = labels.get(LABEL_ENGINE)
                mounted[labels[LABEL_DATABASE]] = {
                    str(v.get("volumeName")) for v in resource.inputs.get("volumes") or [] if isinstance(v, dict)
                }
        elif (
            resource.type == K8S_STATEFUL_SET
            and (name := kubernetes_labels(resource.inputs).get(LABEL_DATABASE))
            and _dig(resource.inputs, "spec", "replicas") != 0
        ):  # an earlier major's, stopped
            pod = _dig(resource.inputs, "spec", "template", "spec", "containers")
            container = pod[0] if isinstance(pod, list) and pod else None
            if isinstance(container, dict):
                engines[name] = container.get("name") if isinstance(container.get("name"), str) else None
                images[name] = container.get("image") if isinstance(container.get("image"), str) else None
            volumes = _dig(resource.inputs, "spec", "template", "spec", "volumes")
            mounted[name] = {
                str(_dig(v, "persistentVolumeClaim", "claimName"))
                for v in (volumes if isinstance(volumes, list) else [])
                if isinstance(v, dict)
            }
        holder = holder_of(resource)
        if holder is not None and holder.kind == "database" and holder.name:
            data.setdefault(holder.name, holder)
    for resource in plan.resources:
        holder = holder_of(resource)
        if (
            holder is not None
            and holder.kind == "database"
            and holder.name
            and holder.physical in mounted.get(holder.name, ())
        ):
            data[holder.name] = holder
    for resource in plan.resources:
        if resource.type == REMOTE_IMAGE and resource.parent in containers:
            name = resource.inputs.get("name")
            images[containers[resource.parent]] = name if isinstance(name, str) else None
    return {db: _Server(engines[db], images.get(db), data.get(db)) for db in engines}


def _server_findings(diff: PlanDiff) -> tuple[list[Finding], list[str]]:
    """A database whose engine or major version changes: the new server would start on the old
    server's files (the volume's name is the database's), which it cannot read, or upgrades them
    for good. Data loss unless the deploy carries out the upgrade itself (engines.DEPLOY_UPGRADES)."""
    if diff.base.backend and diff.head.backend and diff.base.backend != diff.head.backend:
        return [], []  # nothing carries over between backends: the holders' own findings say so
    findings: list[Finding] = []
    cautions: list[str] = []
    before, after = _database_servers(diff.base), _database_servers(diff.head)
    for db in sorted(set(before) & set(after)):
        old, new = before[db], after[db]
        holder = old.data or Holder("database", db, None, "volume")
        if old.engine and new.engine and old.engine != new.engine:
            findings.append(
                Finding(
                    holder,
                    UNREADABLE,
                    holder.physical or db,
                    f"its engine changes from {old.engine} to {new.engine}, and the {new.engine} server mounts the same "
                    f"{holder.noun}, whose {old.engine} files it cannot read: it fails to start or starts empty",
                    f"To change engines: back up (`flashdrive backup run`), add a {new.engine} database beside it under "
                    f"another name, deploy, move the data across (export from {old.engine}, import into {new.engine}), "
                    f"point the apps at it, then remove '{db}'; or keep engine {old.engine}",
                )
            )
            continue
        if not (old.image and new.image and old.image != new.image):
            continue
        facts = ENGINES.get(new.engine or "")
        old_version, new_version = old.version, new.version
        major = (
            facts.is_major_change(old_version, new_version)
            if facts is not None and old_version and new_version
            else None
        )
        if facts is None or old_version is None or new_version is None or major is None:
            how = f" ({facts.name}: {facts.upgrade_how})" if facts is not None else ""
            cautions.append(
                f"database '{db}' changes image from {old.image} to {new.image}: flashdrive cannot tell from the "
                f"images whether that is a new major version, which may not read the old data directory{how}; "
                f"take a backup first"
            )
        elif not major:
            cautions.append(
                f"database '{db}' changes image from {old.image} to {new.image}, within {facts.name} "
                f"{facts.major(new_version)}: the server restarts on the same data"
            )
        elif upgrade := major_upgrade_supported(facts.name, old_version, new_version, diff.head.backend or ""):
            moves = old.data is not None and new.data is not None and old.data.physical != new.data.physical
            if upgrade.method == "dump-restore" and not moves:
                findings.append(
                    _unannounced_upgrade(db, holder, facts, old_version, new_version, diff.head.backend or "")
                )
            else:
                how = (database_upgrades(diff.head).get(db) or {}).get("how") or upgrade.how
                cautions.append(
                    f"database '{db}' goes from {facts.name} {upgrade.old} to {upgrade.new}, and the "
                    f"deploy upgrades it: {how}"
                )
                if (client := _backup_client_caution(diff.head, db, facts, new_version)) is not None:
                    cautions.append(client)
        else:
            findings.append(_major_finding(db, holder, facts, old_version, new_version, diff.head.backend or ""))
    return findings, cautions


def _backup_image(plan: Plan) -> str | None:
    """The Docker backup job's image (its pulled image's name), or None without backups."""
    job = next(
        (
            r.parent
            for r in plan.resources
            if r.type == CONTAINER and docker_labels(r.inputs).get(LABEL_ROLE) == ROLE_BACKUP_JOB
        ),
        None,
    )
    if job is None:
        return None
    return next(
        (
            r.inputs["name"]
            for r in plan.resources
            if r.type == REMOTE_IMAGE and r.parent == job and isinstance(r.inputs.get("name"), str)
        ),
        None,
    )


def _backup_client_caution(plan: Plan, db: str, facts: EngineFacts, version: str) -> str | None:
    """On Docker the backup job dumps with its own image's client, which must be of the new major
    or newer (Kubernetes dumps in the database's own image). Its version shows only in the tag of
    an image named after the engine (`.../backup-postgres:17`); else the caution says it cannot tell."""
    if plan.backend != "docker" or not facts.client_must_be_newer:
        return None
    image = _backup_image(plan)
    if image is None:
        return None
    repository, _, tag = image.rpartition("/")[2].partition(":")
    needed = f"{facts.dump_tool} {facts.major(version) or version} or newer"
    if facts.name not in repository or not re.match(r"\d", tag):
        return (
            f"backups: the backup image {image} does not tell its {facts.dump_tool} version by its tag: it needs "
            f"{needed}, or every backup of database '{db}' fails (README, Backups)"
        )
    if facts.client_can_dump(tag, version):
        return None
    return (
        f"backups: the backup image {image} carries {facts.dump_tool} {tag}, which cannot dump {facts.name} "
        f"{version}: every backup of database '{db}' would fail; use a backup image with {needed}"
    )


def _refusal(holder: Holder, facts: EngineFacts, old: str, new: str, backend: str, *, unannounced: bool = False) -> str:
    """What the new major's server does with the old major's files where this backend mounts them
    (`unannounced`: a bump the deploy could upgrade, asked for without `upgraded_from`)."""
    before, after = facts.major(old), facts.major(new)
    was, looks = facts.volume_data_dir(old, backend), facts.volume_data_dir(new, backend)
    if was != looks:
        return (
            f"{facts.name} {after} looks for its data in {looks or 'the root'} of the {holder.noun}, not in "
            f"{was or 'its root'}, and would start empty beside the old files"
        )
    if unannounced and facts.own_upgrade:
        return f"{facts.name} {after} {facts.own_upgrade}: no way back to {before}"
    return (
        f"{facts.name} {after} refuses {facts.name} {before}'s data directory, and as the old server stops first, "
        f"the deploy waits until it times out"
    )


def _unannounced_upgrade(db: str, holder: Holder, facts: EngineFacts, old: str, new: str, backend: str) -> Finding:
    """A major the deploy can upgrade, asked for without `upgraded_from`: the new server would
    start on the old data directory, which it refuses, or empty beside it."""
    before, after = facts.major(old), facts.major(new)
    return Finding(
        holder,
        UNREADABLE,
        holder.physical or db,
        f"its version changes from {facts.name} {before} to {after}, a new major, and the spec does not "
        f"say `upgraded_from`: {_refusal(holder, facts, old, new, backend, unannounced=True)}",
        f'Add `upgraded_from: ["{old}"]` to databases.{db}: the deploy then runs {after} on a new '
        f"{holder.noun}, copies the data across with {after}'s own dump and restore, and keeps "
        f"{holder.physical or 'the old ' + holder.noun} as the way back; or keep version {old}",
    )


def _major_finding(db: str, holder: Holder, facts: EngineFacts, old: str, new: str, backend: str) -> Finding:
    name, before, after = facts.name, facts.major(old), facts.major(new)
    keep = f"or keep version {old}"
    upgrade = upgrade_path(name, old, new)
    if upgrade is None:
        return Finding(
            holder,
            UNREADABLE,
            holder.physical or db,
            f"its version changes from {name} {before} to {after}, and {name} {after} cannot take over "
            f"{name} {before}'s files",
            f"{facts.no_upgrade(old, new)}; back up first (`flashdrive backup run`)",
        )
    if upgrade.method == "in-place":
        return Finding(
            holder,
            IN_PLACE,
            holder.physical or db,
            f"its version changes from {name} {before} to {after}: {upgrade.how}",
            f"Nothing keeps the old files to go back to: back up first (`flashdrive backup run`), then "
            f"allow it (--allow-data-loss); {keep}",
        )
    return Finding(
        holder,
        UNREADABLE,
        holder.physical or db,
        f"its version changes from {name} {before} to {after}, a new major: "
        f"{_refusal(holder, facts, old, new, backend)}",
        f"To upgrade, {upgrade.how}: the deploy does not do that yet. To go ahead now: back up (`flashdrive "
        f"backup run`), add a database of version {new} beside it under another name, deploy, load the "
        f"backup's dump into it, point the apps at it, then remove '{db}'; {keep}",
    )


def _generated_secret(diff: PlanDiff, change: ResourceChange) -> tuple[str, str] | None:
    """(app, ENV_NAME) of a secret generated for an app (`{generate: secret}`), from its resource
    name `<stack>-<app>-<env-name>`; None for other resources."""
    component = diff.component_of(change)
    if change.type != RANDOM_PASSWORD or component is None or not component.type.endswith(":App"):
        return None
    stack = (diff.head if change.head is not None else diff.base).stack
    app = component.name.removeprefix(f"{stack}-")
    suffix = change.name.removeprefix(f"{component.name}-")
    return app, suffix.upper().replace("-", "_")


def _secret_cautions(diff: PlanDiff) -> list[str]:
    """A generated secret that an app loses and gets anew (app renamed) or that is replaced."""
    created: dict[str, list[str]] = {}
    deleted: dict[str, list[str]] = {}
    replaced: list[tuple[str, str]] = []
    for change in diff.changed:
        found = _generated_secret(diff, change)
        if found is None:
            continue
        app, env = found
        if change.verdict == CREATE:
            created.setdefault(env, []).append(app)
        elif change.verdict == DELETE:
            deleted.setdefault(env, []).append(app)
        elif change.verdict == REPLACE:
            replaced.append(found)
    cautions = []
    for env in sorted(set(created) & set(deleted)):
        for app in created[env]:
            cautions.append(
                f"app '{app}' gets a newly generated {env} ({_quote_all(deleted[env])} had "
                f"{'its' if len(deleted[env]) == 1 else 'their'} own): anything signed or encrypted "
                f"with the previous value (sessions, tokens) stops being valid"
            )
    for app, env in replaced:
        cautions.append(
            f"the generated {env} of app '{app}' is generated anew: anything signed or encrypted with "
            f"the previous value (sessions, tokens) stops being valid"
        )
    return cautions


def _cautions(diff: PlanDiff, server_cautions: list[str]) -> list[str]:
    cautions: list[str] = _secret_cautions(diff) + server_cautions
    for change in diff.changes:
        old_size, new_size = _storage(change.base), _storage(change.head)
        if (
            old_size
            and new_size
            and old_size != new_size
            and change.base is not None
            and (holder := holder_of(change.base)) is not None
        ):
            smaller = (_bytes(new_size) or 0) < (_bytes(old_size) or 0)
            cautions.append(
                f"{holder.label} (claim {holder.physical}) {'shrinks' if smaller else 'grows'} from {old_size} to {new_size}: "
                + (
                    "a claim never shrinks; the cluster refuses the change and the deploy stops"
                    if smaller
                    else "the claim grows in place, on a storage class with allowVolumeExpansion (else the cluster "
                    "refuses the change and the deploy stops)"
                )
            )
    for change in diff.changes:
        base_holder = holder_of(change.base) if change.base is not None else None
        if (
            base_holder is not None
            and change.base is not None
            and change.head is not None
            and change.base.retain_on_delete
            and not change.head.retain_on_delete
        ):
            cautions.append(
                f"{base_holder.label} ({change.name}) is no longer retained on delete: "
                f"removing it later would delete its data"
            )
    return cautions


def _credential_findings(diff: PlanDiff) -> list[Finding]:
    """A generated password of a database or of the backup repository that the change deletes or
    replaces: the data stays (retained), but the key to it changes — the server keeps its old
    password on its data directory, so apps can no longer log in, and restic cannot open the kept
    repository. Stacks deployed before credentials were derived from `flashdrive:masterKey` meet
    this on their first deploy after it."""
    findings = []
    for change in diff.changed:
        if change.type != RANDOM_PASSWORD or change.verdict not in (DELETE, REPLACE) or change.base is None:
            continue
        component = diff.component_of(change)
        if component is None or not component.type.endswith((":Database", ":Backups")):
            continue
        stack = diff.base.stack
        if component.type.endswith(":Database"):
            name = component.name.removeprefix(f"{stack}-")
            holder = Holder("database", name, change.base.name, "password")
            consequence = (
                f"database '{name}' keeps its data and its old password, while its apps get a new one: "
                "they cannot log in"
            )
        else:
            holder = Holder("backups", None, change.base.name, "password")
            consequence = (
                "the kept backup repository cannot be opened with a new password: every snapshot is unreadable"
            )
        findings.append(
            Finding(
                holder,
                change.verdict,
                change.base.name,
                "its generated password is no longer generated here (credentials now derive from flashdrive:masterKey)",
                consequence + "; read the old value from the state first (pulumi stack export --show-secrets) and keep "
                "it, or dump the data before deploying",
            )
        )
    return findings


def _claim_template_findings(diff: PlanDiff) -> list[Finding]:
    """A StatefulSet that no longer has the claim templates it had: its pods' claims
    (`<template>-<set>-<n>`) stay in the namespace, unmounted, and the pods start on whatever the
    new spec mounts — for a database, an empty claim. Stacks whose databases kept their data in a
    claim template before the data moved to a claim of its own meet this on their next deploy."""
    findings = []
    for change in diff.changed:
        if change.type != K8S_STATEFUL_SET or change.base is None:
            continue
        before = _templates(change.base.inputs)
        if not before or (change.head is not None and _templates(change.head.inputs) == before):
            continue
        metadata = change.base.inputs.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        name = str(metadata.get("name") or change.base.name)
        found = metadata.get("labels")
        labels: dict = found if isinstance(found, dict) else {}
        claims = ", ".join(f"{template}-{name}-0" for template in before)
        findings.append(
            Finding(
                Holder("database", str(labels.get(K8S_NAME) or name), claims, "claim"),
                change.verdict if change.verdict in (DELETE, REPLACE) else REPLACE,
                change.base.name,
                "the stateful set no longer mounts the claims its claim templates made",
                f"they stay in the namespace with the data, unmounted, and the pods start on a new claim; copy the data "
                f"across first (e.g. a Job mounting both, or a dump and restore), then delete {claims}",
            )
        )
    return findings


def _templates(inputs: dict) -> list[str]:
    spec = inputs.get("spec")
    templates = spec.get("volumeClaimTemplates") if isinstance(spec, dict) else None
    if not isinstance(templates, list):
        return []
    return sorted(
        str((t.get("metadata") or {}).get("name"))
        for t in templates
        if isinstance(t, dict) and isinstance(t.get("metadata"), dict)
    )


def check(diff: PlanDiff) -> Report:
    """Every deletion or replacement of a data holder, with its cause; plus non-blocking cautions."""
    context = _Context(diff)
    server_findings, server_cautions = _server_findings(diff)
    findings: list[Finding] = _credential_findings(diff) + _claim_template_findings(diff) + server_findings
    for change in diff.changes:
        if change.verdict not in (DELETE, REPLACE) or change.base is None:
            continue
        holder = holder_of(change.base)
        if holder is None:
            continue
        cause = (
            context.deletion_cause(holder) if change.verdict == DELETE else context.replacement_cause(change, holder)
        )
        findings.append(
            Finding(holder, change.verdict, change.base.name, cause, _consequence(diff, context, change, holder))
        )
    findings.sort(key=lambda f: (f.holder.kind, f.holder.name or "", f.resource))
    return Report(findings, _cautions(diff, server_cautions))
