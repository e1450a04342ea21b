"""The data-loss guard: which changes delete or replace something that holds data, and why.

Deleting or replacing a data holder (holders.py) loses data from the stack's point of view even
with `retain_on_delete`: Pulumi leaves the old volume on the host, but nothing mounts it, backs it
up or will ever attach it again, and a replacement starts empty. A change of physical name is a
replacement. Renaming an app, resizing a disk, adding copies or changing env vars touch none of
these, so they never trip the guard.

Each finding says what in the spec most likely caused it, from what the two plans show: the
labels on the volumes, which app mounted a disk, which holders of the same kind appear.
"""

from __future__ import annotations

from dataclasses import dataclass

from flashdrive.diff.holders import Holder, docker_labels, holder_of
from flashdrive.diff.changes import CREATE, DELETE, REPLACE, PlanDiff, ResourceChange
from flashdrive.diff.replacement import CONTAINER, PVC, REMOTE_IMAGE
from flashdrive.engines import ENGINES
from flashdrive.labels import K8S_NAME, K8S_STATEFUL_SET, LABEL_APP, LABEL_DATABASE, LABEL_ENGINE, RANDOM_PASSWORD
from flashdrive.plan.plan import Plan


@dataclass(frozen=True)
class Finding:
    """One data holder that a change deletes or replaces."""

    holder: Holder
    verdict: str  # delete | replace
    resource: str  # the resource's name in the base plan
    cause: str  # what in the spec caused it
    consequence: str  # what happens to the data

    @property
    def message(self) -> str:
        what = "deleted" if self.verdict == DELETE else "replaced"
        where = f" ({self.holder.noun} {self.holder.physical})" if self.holder.physical else ""
        return f"{self.holder.label}{where} would be {what}: {self.cause}. {self.consequence}"

    @property
    def markdown(self) -> str:
        what = "deleted" if self.verdict == DELETE else "replaced"
        where = f" ({self.holder.noun} `{self.holder.physical}`)" if self.holder.physical else ""
        return f"**{self.holder.markdown_label}**{where} would be **{what}**: {self.cause}. {self.consequence}"


@dataclass(frozen=True)
class Report:
    findings: list[Finding]
    cautions: list[str]  # risky but not data loss: shown, never blocking

    @property
    def loses_data(self) -> bool:
        return bool(self.findings)


def _containers(plan: Plan) -> list[tuple[dict[str, str], list[str]]]:
    """(labels, mounted volume names) of every container."""
    found = []
    for resource in plan.resources:
        if resource.type == CONTAINER:
            volumes = [v.get("volumeName") for v in resource.inputs.get("volumes") or [] if isinstance(v, dict)]
            found.append((docker_labels(resource.inputs), [v for v in volumes if isinstance(v, str)]))
    return found


def _apps(plan: Plan) -> set[str]:
    return {labels[LABEL_APP] for labels, _ in _containers(plan) if LABEL_APP in labels}


def _mounted_by(plan: Plan, volume: str | None) -> list[str]:
    return sorted({labels[LABEL_APP] for labels, volumes in _containers(plan)
                   if volume in volumes and LABEL_APP in labels})


def _quote_all(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


class _Context:
    def __init__(self, diff: PlanDiff):
        self.diff = diff
        self.base_stack, self.head_stack = diff.base.stack, diff.head.stack
        self.head_apps = _apps(diff.head)
        self.created: dict[str, list[str]] = {}
        self.head_holders: set[tuple[str, str | None]] = set()
        for change in diff.changes:
            if change.head is not None and (holder := holder_of(change.head)) is not None:
                self.head_holders.add((holder.kind, holder.name))
                if change.verdict == CREATE and holder.name:
                    self.created.setdefault(holder.kind, []).append(holder.name)

    def stack_renamed(self) -> bool:
        return bool(self.base_stack and self.head_stack and self.base_stack != self.head_stack)

    def deletion_cause(self, holder: Holder) -> str:
        if self.stack_renamed():
            return (f"the stack is renamed from '{self.base_stack}' to '{self.head_stack}', and every physical name "
                    f"starts with the stack's name")
        if (holder.kind, holder.name) in self.head_holders:
            return (f"{holder.label} is still in the spec, but its resource gets a new identity in the stack "
                    f"(a change in flashdrive moved it without an alias)")
        if holder.kind == "disk":
            apps = _mounted_by(self.diff.base, holder.physical)
            where = f"apps.{apps[0]}.disks" if len(apps) == 1 else "the spec"
            gone = [app for app in apps if app not in self.head_apps]
            if apps and len(gone) == len(apps):
                owner = f"app {_quote_all(gone)}" if len(gone) == 1 else f"apps {_quote_all(gone)}"
                return f"{owner} is removed from the spec, and with it disk '{holder.name}'"
            new = self.created.get("disk", [])
            if new:
                return (f"disk '{holder.name}' is no longer in {where}, and disk {_quote_all(new)} is new: a renamed "
                        f"disk is a new, empty volume (the disk's name is its identity)")
            return f"disk '{holder.name}' is removed from {where}"
        if holder.kind == "database":
            new = self.created.get("database", [])
            if new:
                return (f"database '{holder.name}' is no longer in databases, and database {_quote_all(new)} is new: "
                        f"a renamed database starts empty (the database's name is its identity)")
            return f"database '{holder.name}' is removed from databases"
        if holder.kind == "edge":
            return "the stack no longer declares the edge's volume"
        return "the stack no longer declares the backup repository (backups disabled, or their target changed)"

    def replacement_cause(self, change: ResourceChange, holder: Holder) -> str:
        after = holder_of(change.head) if change.head is not None else None
        if after is not None and after.physical != holder.physical:
            return f"its physical name changes from '{holder.physical}' to '{after.physical}'"
        modes = _access_modes(change)
        if modes is not None:
            return (f"its access mode changes from {modes[0]} to {modes[1]} (copies on several nodes share a disk "
                    f"as ReadWriteMany, a single copy has it ReadWriteOnce), and a claim's access mode never changes")
        keys = ", ".join(change.replacing)
        return f"its {keys} change, which the provider cannot update in place: the {holder.noun} is replaced"


def _claim_spec(resource) -> dict:
    spec = resource.inputs.get("spec") if resource is not None and resource.type == PVC else None
    return spec if isinstance(spec, dict) else {}


def _access_modes(change: ResourceChange) -> tuple[str, str] | None:
    """(before, after) when a claim's access mode changes."""
    before, after = _claim_spec(change.base).get("accessModes"), _claim_spec(change.head).get("accessModes")
    if before and after and before != after:
        return ", ".join(map(str, before)), ", ".join(map(str, after))
    return None


def _storage(resource) -> str | None:
    requests = (_claim_spec(resource).get("resources") or {}).get("requests") or {}
    storage = requests.get("storage") if isinstance(requests, dict) else None
    return storage if isinstance(storage, str) else None


_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def _bytes(quantity: str) -> float | None:
    number = quantity.rstrip("kMGTi")
    try:
        return float(number) * _UNITS[quantity[len(number):]]
    except (ValueError, KeyError):
        return None


def _consequence(change: ResourceChange) -> str:
    retained = change.base is not None and change.base.retain_on_delete
    if change.verdict == REPLACE and retained and _access_modes(change) is not None:
        metadata = change.base.inputs.get("metadata") or {}  # type: ignore[union-attr]
        name, namespace = metadata.get("name"), metadata.get("namespace")
        where = f" -n {namespace}" if isinstance(namespace, str) else ""
        return ("The old claim is retained under the same name, so `pulumi up` stops with AlreadyExists. To go "
                f"ahead: copy the data out, `kubectl delete pvc {name}{where}`, deploy, copy the data into the new, "
                "empty claim; or keep the number of copies")
    if change.verdict == DELETE:
        if retained:
            return ("Pulumi leaves the old volume on the host (retain on delete), detached from the stack: nothing "
                    "mounts it or backs it up any more")
        return "Pulumi deletes the volume and the data on it"
    if retained:
        return "A new, empty volume takes its place; the old one is left on the host, detached from the stack"
    return "A new, empty volume takes its place, and the old one is deleted with its data"


def _database_images(plan: Plan) -> dict[str, tuple[str | None, str | None]]:
    """Database name → (engine, image) from the database containers and their pulled images."""
    by_parent_db: dict[str | None, str] = {}
    engines: dict[str, str | None] = {}
    for resource in plan.resources:
        if resource.type == CONTAINER:
            labels = docker_labels(resource.inputs)
            if LABEL_DATABASE in labels:
                by_parent_db[resource.parent] = labels[LABEL_DATABASE]
                engines[labels[LABEL_DATABASE]] = labels.get(LABEL_ENGINE)
    images: dict[str, str | None] = {}
    for resource in plan.resources:
        if resource.type == REMOTE_IMAGE and resource.parent in by_parent_db:
            name = resource.inputs.get("name")
            images[by_parent_db[resource.parent]] = name if isinstance(name, str) else None
    return {db: (engines.get(db), images.get(db)) for db in engines}




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
            cautions.append(f"app '{app}' gets a newly generated {env} ({_quote_all(deleted[env])} had "
                            f"{'its' if len(deleted[env]) == 1 else 'their'} own): anything signed or encrypted "
                            f"with the previous value (sessions, tokens) stops being valid")
    for app, env in replaced:
        cautions.append(f"the generated {env} of app '{app}' is generated anew: anything signed or encrypted with "
                        f"the previous value (sessions, tokens) stops being valid")
    return cautions


def _cautions(diff: PlanDiff) -> list[str]:
    cautions: list[str] = _secret_cautions(diff)
    before, after = _database_images(diff.base), _database_images(diff.head)
    for db in sorted(set(before) & set(after)):
        (old_engine, old_image), (new_engine, new_image) = before[db], after[db]
        if old_engine and new_engine and old_engine != new_engine:
            cautions.append(
                f"database '{db}' changes engine from {old_engine} to {new_engine}: its volume keeps the {old_engine} "
                f"files, which {new_engine} cannot read, so it will fail to start or see no data; dump the data and "
                f"restore it into a new database instead")
        elif old_image and new_image and old_image != new_image:
            cautions.append(
                f"database '{db}' changes image from {old_image} to {new_image}: a new major version may not read the "
                f"old data directory ({ENGINES[new_engine].upgrade_how if new_engine in ENGINES else 'see the engine'}); "
                f"take a backup first")
    for change in diff.changes:
        old_size, new_size = _storage(change.base), _storage(change.head)
        if old_size and new_size and old_size != new_size and change.base is not None \
                and (holder := holder_of(change.base)) is not None:
            smaller = (_bytes(new_size) or 0) < (_bytes(old_size) or 0)
            cautions.append(
                f"{holder.label} (claim {holder.physical}) {'shrinks' if smaller else 'grows'} from {old_size} to {new_size}: "
                + ("a claim never shrinks; the cluster refuses the change and the deploy stops" if smaller else
                   "the claim grows in place, on a storage class with allowVolumeExpansion (else the cluster "
                   "refuses the change and the deploy stops)"))
    for change in diff.changes:
        base_holder = holder_of(change.base) if change.base is not None else None
        if base_holder is not None and change.base is not None and change.head is not None \
                and change.base.retain_on_delete and not change.head.retain_on_delete:
            cautions.append(f"{base_holder.label} ({change.name}) is no longer retained on delete: "
                            f"removing it later would delete its data")
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
            consequence = (f"database '{name}' keeps its data and its old password, while its apps get a new one: "
                           "they cannot log in")
        else:
            holder = Holder("backups", None, change.base.name, "password")
            consequence = "the kept backup repository cannot be opened with a new password: every snapshot is unreadable"
        findings.append(Finding(
            holder, change.verdict, change.base.name,
            "its generated password is no longer generated here (credentials now derive from flashdrive:masterKey)",
            consequence + "; read the old value from the state first (pulumi stack export --show-secrets) and keep "
            "it, or dump the data before deploying"))
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
        findings.append(Finding(
            Holder("database", str(labels.get(K8S_NAME) or name), claims, "claim"),
            change.verdict if change.verdict in (DELETE, REPLACE) else REPLACE, change.base.name,
            "the stateful set no longer mounts the claims its claim templates made",
            f"they stay in the namespace with the data, unmounted, and the pods start on a new claim; copy the data "
            f"across first (e.g. a Job mounting both, or a dump and restore), then delete {claims}"))
    return findings


def _templates(inputs: dict) -> list[str]:
    spec = inputs.get("spec")
    templates = spec.get("volumeClaimTemplates") if isinstance(spec, dict) else None
    if not isinstance(templates, list):
        return []
    return sorted(str((t.get("metadata") or {}).get("name")) for t in templates
                  if isinstance(t, dict) and isinstance(t.get("metadata"), dict))


def check(diff: PlanDiff) -> Report:
    """Every deletion or replacement of a data holder, with its cause; plus non-blocking cautions."""
    context = _Context(diff)
    findings: list[Finding] = _credential_findings(diff) + _claim_template_findings(diff)
    for change in diff.changes:
        if change.verdict not in (DELETE, REPLACE) or change.base is None:
            continue
        holder = holder_of(change.base)
        if holder is None:
            continue
        cause = (context.deletion_cause(holder) if change.verdict == DELETE
                 else context.replacement_cause(change, holder))
        findings.append(Finding(holder, change.verdict, change.base.name, cause, _consequence(change)))
    findings.sort(key=lambda f: (f.holder.kind, f.holder.name or "", f.resource))
    return Report(findings, _cautions(diff))
