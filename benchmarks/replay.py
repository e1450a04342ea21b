"""The floor of a plan: a program that registers exactly the resources a plan recorded (same types,
names, inputs and parents) as bare `pulumi.CustomResource`s (and `ComponentResource`s for the
components), with no Outputs chained between them. Run under the same capture (the same mock
monitor), it costs what registering those resources costs, and nothing more."""

from __future__ import annotations

from collections.abc import Callable
import importlib
from typing import Any

import pulumi

from flashdrive.labels import STACK_TYPE
from flashdrive.plan.plan import Plan


# The resource classes of the providers the docker backend uses, by type token.
TYPED_CLASSES = {
    "docker:index/container:Container": ("pulumi_docker", "Container"),
    "docker:index/image:Image": ("pulumi_docker", "Image"),
    "docker:index/network:Network": ("pulumi_docker", "Network"),
    "docker:index/remoteImage:RemoteImage": ("pulumi_docker", "RemoteImage"),
    "docker:index/volume:Volume": ("pulumi_docker", "Volume"),
    "random:index/randomPassword:RandomPassword": ("pulumi_random", "RandomPassword"),
    "random:index/randomString:RandomString": ("pulumi_random", "RandomString"),
}


def declared_outputs(type_token: str) -> list[str]:
    """The output properties the SDK class of `type_token` declares (each becomes an Output)."""
    if type_token not in TYPED_CLASSES:
        return []
    module_name, class_name = TYPED_CLASSES[type_token]
    cls = getattr(importlib.import_module(module_name), class_name)
    return sorted(getattr(v.fget, "_pulumi_name") for v in vars(cls).values()
                  if isinstance(v, property) and hasattr(v.fget, "_pulumi_name"))


def replay_program(plan: Plan, *, typed: bool = False) -> Callable[[], None]:
    """A program registering `plan`'s resources; parents before children, in the plan's order.

    `typed`: also declare, as the providers' SDK classes do, every output property of the type
    (absent from the inputs, so the registration is the same): the floor of a program written
    with those classes rather than bare resources."""
    stack_urn = next(r.urn for r in plan.resources if r.type == STACK_TYPE and r.parent is None)
    by_parent: dict[str | None, list] = {}
    for resource in plan.resources:
        if resource.urn != stack_urn:
            by_parent.setdefault(None if resource.parent == stack_urn else resource.parent, []).append(resource)
    order = []
    pending = [None]
    while pending:
        parent = pending.pop(0)
        for resource in by_parent.get(parent, []):
            order.append(resource)
            pending.append(resource.urn)
    missing = len(plan.resources) - 1 - len(order)
    if missing:
        raise ValueError(f"{missing} resources of the plan have a parent that is not in it")
    outputs: dict[str, Any] = dict(plan.outputs)
    declared = {r.type: declared_outputs(r.type) for r in order if r.custom} if typed else {}

    def program() -> None:
        created: dict[str, pulumi.Resource] = {}
        for resource in order:
            opts = pulumi.ResourceOptions(parent=created[resource.parent]) if resource.parent in created else None
            if resource.custom:
                props = {name: None for name in declared.get(resource.type, ())}
                props.update(resource.inputs)
                created[resource.urn] = pulumi.CustomResource(resource.type, resource.name, props, opts=opts)
            else:
                created[resource.urn] = pulumi.ComponentResource(resource.type, resource.name, None, opts=opts)
        for key, value in outputs.items():
            pulumi.export(key, value)

    return program
