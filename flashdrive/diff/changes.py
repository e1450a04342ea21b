"""Two plans → what happens to each resource: create, update, replace, delete (or nothing).

Resources are matched by their URN without the `urn:pulumi:STACK::PROJECT::` prefix, so a plan
made for another Pulumi stack name still lines up, then by the aliases the new side declares.
Inputs are compared as the plans hold them: secrets are "[secret]" on both sides. A secret's new
value is never known here, so an input that holds a secret counts as changed when a resource that
secrets are made from, and that it depends on, is created or replaced: a generated password
(`random:*`), or a database's container (a database renamed or given another engine changes its
URL). That can over-report; it does not miss those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from msgspec import Struct, field

from flashdrive.diff.replacement import replacing_inputs
from flashdrive.labels import DOCKER_CONTAINER, LABEL_DATABASE, LABEL_STRATEGY, STACK_TYPE
from flashdrive.plan.plan import Plan, PlannedResource

CREATE, UPDATE, REPLACE, DELETE, SAME = "create", "update", "replace", "delete", "same"
SECRET = "[secret]"
VERDICTS = (CREATE, UPDATE, REPLACE, DELETE)


class _Missing:
    def __repr__(self) -> str:
        return "<absent>"


MISSING: Any = _Missing()

WATCHED_OPTIONS = (
    ("protect", "protect"),
    ("retainOnDelete", "retain_on_delete"),
    ("deleteBeforeReplace", "delete_before_replace"),
)


def identity(urn: str) -> str:
    """`QUALIFIED_TYPE::NAME` of a URN: what stays the same across Pulumi stacks and projects."""
    parts = urn.split("::", 3)
    return "::".join(parts[2:]) if len(parts) == 4 else urn


class InputChange(Struct, frozen=True):
    key: str
    before: Any  # MISSING when the input is new
    after: Any  # MISSING when the input is gone
    replaces: bool
    hidden_by: tuple[str, ...] = ()
    """Set when the values look the same only because secrets are masked: the input holds a secret
    and depends on these resources, which are created or replaced, so its value changes."""


class ResourceChange(Struct, frozen=True):
    verdict: str
    base: PlannedResource | None
    head: PlannedResource | None
    inputs: tuple[InputChange, ...] = ()
    options: tuple[tuple[str, Any, Any], ...] = ()  # (option, before, after)

    @property
    def resource(self) -> PlannedResource:
        resource = self.head or self.base
        assert resource is not None
        return resource

    @property
    def type(self) -> str:
        return self.resource.type

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def replacing(self) -> list[str]:
        return [change.key for change in self.inputs if change.replaces]


class PlanDiff(Struct):
    base: Plan
    head: Plan
    changes: list[ResourceChange]  # every custom resource of either side, SAME included
    components: list[ResourceChange] = field(default_factory=list)  # component resources

    @property
    def changed(self) -> list[ResourceChange]:
        return [c for c in self.changes if c.verdict != SAME]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys((*VERDICTS, SAME), 0)
        for change in self.changes:
            counts[change.verdict] += 1
        return counts

    def verdicts(self) -> dict[str, str]:
        """Resource name → verdict, for every custom resource that changes."""
        return {c.name: c.verdict for c in self.changed}

    def component_of(self, change: ResourceChange) -> PlannedResource | None:
        """The nearest enclosing component resource (App, Database, ...) of a change, on its side."""
        side = self.head if change.head is not None else self.base
        by_urn = {r.urn: r for r in side.resources}
        parent = by_urn.get(change.resource.parent or "")
        while parent is not None and (parent.custom or parent.type == STACK_TYPE):
            if parent.type == STACK_TYPE:
                return None
            parent = by_urn.get(parent.parent or "")
        return parent


def _alias_identities(resource: PlannedResource) -> Iterable[str]:
    """The identities a resource says it used to have."""
    own_type, _, _ = identity(resource.urn).rpartition("::")
    for alias in resource.aliases:
        if isinstance(alias, str):
            yield identity(alias)
        elif isinstance(alias, dict):
            name = alias.get("name") or resource.name
            typ = alias.get("type") or resource.type
            if alias.get("noParent"):
                qualified = typ
            elif isinstance(alias.get("parentUrn"), str):
                parent_type = identity(alias["parentUrn"]).rpartition("::")[0].rpartition("$")[2]
                qualified = f"{parent_type}${typ}" if parent_type and parent_type != STACK_TYPE else typ
            else:
                prefix, dollar, _ = own_type.rpartition("$")
                qualified = f"{prefix}{dollar}{typ}"
            yield f"{qualified}::{name}"


def compare(base: PlannedResource, head: PlannedResource) -> ResourceChange:
    keys = sorted(set(base.inputs) | set(head.inputs))
    changed = [k for k in keys if base.inputs.get(k, MISSING) != head.inputs.get(k, MISSING)]
    replacing = set(replacing_inputs(head.type, changed, head.replace_on_changes, base.inputs, head.inputs))
    inputs = tuple(
        InputChange(k, base.inputs.get(k, MISSING), head.inputs.get(k, MISSING), k in replacing) for k in changed
    )
    options = tuple(
        (shown, getattr(base, attr), getattr(head, attr))
        for shown, attr in WATCHED_OPTIONS
        if getattr(base, attr) != getattr(head, attr)
    )
    if replacing:
        verdict = REPLACE
    elif inputs or options:
        verdict = UPDATE
    else:
        verdict = SAME
    return ResourceChange(verdict, base, head, inputs, options)


def _holds_secret(value: Any) -> bool:
    if isinstance(value, str):
        return SECRET in value
    if isinstance(value, dict):
        return any(_holds_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_secret(v) for v in value)
    return False


def _secret_sources(plan: Plan) -> set[str]:
    """Identities of the resources secrets are computed from: generated values, database containers."""
    from flashdrive.labels import docker_labels

    return {
        identity(r.urn)
        for r in plan.resources
        if r.type.startswith("random:") or (r.type == DOCKER_CONTAINER and LABEL_DATABASE in docker_labels(r.inputs))
    }


def _with_hidden_secrets(change: ResourceChange, verdicts: dict[str, str]) -> ResourceChange:
    """`change` plus the secret-holding inputs whose sources are created or replaced (`verdicts`
    holds the secret sources only)."""
    base, head = change.base, change.head
    assert base is not None and head is not None
    renewed = tuple(urn for urn in head.depends_on if verdicts.get(identity(urn)) in (CREATE, REPLACE))
    if not renewed:
        return change
    known = {c.key for c in change.inputs}
    hidden = [
        k
        for k in sorted(head.inputs)
        if k not in known and _holds_secret(head.inputs[k]) and base.inputs.get(k, MISSING) == head.inputs[k]
    ]
    if not hidden:
        return change
    sources = tuple(sorted({urn.rpartition("::")[2] for urn in renewed}))
    replacing = set(replacing_inputs(head.type, [*known, *hidden], head.replace_on_changes, base.inputs, head.inputs))
    added = tuple(InputChange(k, base.inputs[k], head.inputs[k], k in replacing, sources) for k in hidden)
    inputs = tuple(sorted(change.inputs + added, key=lambda c: c.key))
    verdict = REPLACE if any(c.replaces for c in inputs) else UPDATE
    return ResourceChange(verdict, base, head, inputs, change.options)


_VERSIONED = re.compile(r"^(?P<copy>.+-\d+)-[0-9a-f]{8}$")


def _rolling_copy(resource: PlannedResource) -> str | None:
    """`TYPE::<stack>-<app>-<n>` of a copy that rolls (flashdrive/docker/app.py): each version is a
    resource of its own, `<stack>-<app>-<n>-<version>`; None for anything else."""
    from flashdrive.labels import docker_labels

    if (
        resource.type != "docker:index/container:Container"
        or docker_labels(resource.inputs).get(LABEL_STRATEGY) != "rolling"
    ):
        return None
    qualified, _, name = identity(resource.urn).rpartition("::")
    match = _VERSIONED.match(name)
    return f"{qualified}::{match['copy']}" if match else None


def diff_plans(base: Plan, head: Plan) -> PlanDiff:
    """Every resource of both plans with its verdict (custom resources; components apart)."""
    base_by_id = {identity(r.urn): r for r in base.resources}
    matched: dict[str, str] = {}  # head identity → base identity
    for resource in head.resources:
        own = identity(resource.urn)
        if own in base_by_id:
            matched[own] = own
    taken = set(matched.values())
    for resource in head.resources:
        own = identity(resource.urn)
        if own in matched:
            continue
        for alias in _alias_identities(resource):
            if alias in base_by_id and alias not in taken:
                matched[own] = alias
                taken.add(alias)
                break

    # A new version of a rolling copy starts beside the old one, which goes at the end of the `up`:
    # shown as the old one replaced, with what changed.
    old_versions = {
        copy: key
        for key, resource in base_by_id.items()
        if key not in taken and (copy := _rolling_copy(resource)) is not None
    }
    for resource in head.resources:
        own = identity(resource.urn)
        copy = _rolling_copy(resource)
        if own not in matched and copy in old_versions and old_versions[copy] not in taken:
            matched[own] = old_versions[copy]
            taken.add(old_versions[copy])

    changes: list[ResourceChange] = []
    components: list[ResourceChange] = []
    for resource in head.resources:
        if resource.type == STACK_TYPE:
            continue
        own = identity(resource.urn)
        previous = base_by_id.get(matched[own]) if own in matched else None
        change = compare(previous, resource) if previous is not None else ResourceChange(CREATE, None, resource)
        (changes if resource.custom else components).append(change)
    for key, resource in base_by_id.items():
        if resource.type == STACK_TYPE or key in taken:
            continue
        (changes if resource.custom else components).append(ResourceChange(DELETE, resource, None))
    # Secrets derived from renewed resources change too; a replacement can renew further secrets.
    sources = _secret_sources(head)
    for _ in range(len(changes)):
        verdicts = {
            identity(c.head.urn): c.verdict for c in changes if c.head is not None and identity(c.head.urn) in sources
        }
        updated = [
            _with_hidden_secrets(c, verdicts) if c.base is not None and c.head is not None else c for c in changes
        ]
        if updated == changes:
            break
        changes = updated
    order = {verdict: index for index, verdict in enumerate((DELETE, REPLACE, UPDATE, CREATE, SAME))}
    changes.sort(key=lambda c: (order[c.verdict], c.type, c.name))
    return PlanDiff(base, head, changes, components)
