"""A plan: every resource a Pulumi program registered, as the engine would have received it.

Every value in a plan is already masked: secrets are the string "[secret]" from the moment they
are recorded, so nothing that holds a Plan can leak one.
"""

from __future__ import annotations

import json
from typing import Any

from msgspec import Struct, field

PLAN_VERSION = 1


class PlannedResource(Struct, frozen=True):
    """One `RegisterResource` call. Field names follow Python; `options` and `to_dict()` give the
    camelCase shape of the CLI contract."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    depends_on: tuple[str, ...] = ()
    """Every URN the engine must handle first, sorted: the `depends_on` option plus every resource
    whose outputs feed an input. The SDK sends them to the engine as one list (`dependencies`);
    `property_dependencies` says which input brought which."""
    aliases: tuple[Any, ...] = ()
    """Each alias as a URN string, or a mapping of the alias spec's set fields."""
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ignore_changes: tuple[str, ...] = ()
    replace_on_changes: tuple[str, ...] = ()
    additional_secret_outputs: tuple[str, ...] = ()
    provider: str | None = None
    deleted_with: str | None = None
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    """The `custom_timeouts` option: create/update/delete → duration ("600s"), only those set."""
    outputs: dict[str, Any] | None = None
    """What the resource passed to `register_outputs` (components), masked; None if never called."""

    @property
    def options(self) -> dict[str, Any]:
        return {
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "deleteBeforeReplace": self.delete_before_replace,
            "dependsOn": list(self.depends_on),
            "aliases": list(self.aliases),
        }

    def to_dict(self) -> dict[str, Any]:
        shown = {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "inputs": self.inputs,
            "options": self.options,
        }
        if not self.custom and self.parent is not None and self.outputs is not None:
            # What a component says about itself (an app's deploy strategy, the edge's certificate
            # sources), so a diff of two plan files reads it too. The stack's own are `outputs`.
            shown["outputs"] = self.outputs
        return shown


class Plan(Struct):
    """What `capture` recorded.

    `resources` are sorted by URN and include the root `pulumi:pulumi:Stack` resource (custom
    false, parent null), as the engine sees it. `outputs` are the stack's exports.
    `stack` and `backend` are the labels shown in the JSON (the spec's stack name and backend);
    `pulumi_stack`/`project` are what the URNs were built from.
    """

    resources: list[PlannedResource]
    outputs: dict[str, Any]
    project: str
    pulumi_stack: str
    stack: str
    backend: str | None = None
    logs: list[tuple[str, str]] = field(default_factory=list)
    """(severity, message) of what the program logged through `pulumi.log` at info level or above."""

    def by_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]

    def get(self, name: str, type_token: str | None = None) -> PlannedResource:
        """The resource called `name` (of `type_token`, if given). KeyError if none or several match."""
        found = [r for r in self.resources if r.name == name and (type_token is None or r.type == type_token)]
        if len(found) != 1:
            what = f"{name!r}" + (f" of type {type_token}" if type_token else "")
            if not found:
                raise KeyError(f"no resource named {what} in the plan")
            raise KeyError(f"{len(found)} resources named {what}: {', '.join(r.urn for r in found)}")
        return found[0]

    def __contains__(self, name: str) -> bool:
        return any(r.name == name for r in self.resources)

    @property
    def urns(self) -> list[str]:
        return [r.urn for r in self.resources]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": PLAN_VERSION,
            "stack": self.stack,
            "backend": self.backend,
            "resources": [r.to_dict() for r in self.resources],
            "outputs": self.outputs,
        }

    def to_json(self) -> str:
        """The `plan --format json` document (no trailing newline): keys sorted, 2-space indent."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2)
