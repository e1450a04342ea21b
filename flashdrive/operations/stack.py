"""A deployed stack, found on the engine by its containers' labels, and the names in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from msgspec import Struct

from flashdrive.labels import (
    LABEL_APP,
    LABEL_DATABASE,
    LABEL_NETWORK,
    LABEL_NODE,
    LABEL_ROLE,
    LABEL_STACK,
    ROLE_RELEASE,
    ROLE_RUN,
)
from flashdrive.operations.engine import OperationError, engine_address
from flashdrive.problems import InputError, Problem

# Where each kind of container comes in listings: an app's copies, then its release, then the
# databases, the edge, and the backup jobs.
_ORDER = {"copy": 0, ROLE_RELEASE: 1, ROLE_RUN: 2, "database": 3, "edge": 4}


class Target(Struct, frozen=True):
    """What the operations act on: a stack name and the backend it was deployed with."""

    stack: str
    backend: str = "docker"
    namespace: str | None = None


def resolve_target(stack: str | None, spec: str | None = None) -> Target:
    """--deployed wins for the name; the spec (./flashdrive.yaml by default) gives the backend."""
    path = Path(spec or "flashdrive.yaml")
    if stack and (spec is None and not path.is_file()):
        return Target(stack)
    from flashdrive.spec import load_spec

    try:
        loaded = load_spec(path).spec
    except InputError as exc:
        if stack:  # the named stack is on the engine whatever this folder's spec says
            return Target(stack)
        raise InputError(exc.problems + [Problem("or name the deployed stack with --deployed NAME")]) from None
    namespace = None
    if loaded.backend == "kubernetes":
        namespace = (loaded.kubernetes.namespace if loaded.kubernetes else None) or loaded.stack
    if stack and stack != loaded.stack:
        # A preview of this spec's stack (`<stack>-pr-N`) on Kubernetes lives in a namespace of its own.
        number = stack.removeprefix(f"{loaded.stack}-pr-")
        if namespace is None or stack == number or not number.isdigit():
            return Target(stack)
        from flashdrive.model.preview import preview_namespace

        return Target(stack, loaded.backend, preview_namespace(namespace, int(number)))
    return Target(loaded.stack, loaded.backend, namespace)


class Member(Struct):
    """One container of the stack, with the name an operator calls it by (`web.1`, `main`, `edge`)."""

    container: Any
    attrs: dict
    labels: dict[str, str]

    @classmethod
    def of(cls, container: Any) -> Member:
        attrs = container.attrs
        return cls(container, attrs, dict((attrs.get("Config") or {}).get("Labels") or {}))

    @property
    def name(self) -> str:
        return self.attrs.get("Name", "").lstrip("/") or getattr(self.container, "name", "")

    @property
    def id(self) -> str:
        return self.attrs.get("Id", "")

    @property
    def app(self) -> str | None:
        return self.labels.get(LABEL_APP)

    @property
    def node(self) -> int | None:
        value = self.labels.get(LABEL_NODE)
        return int(value) if value and value.isdigit() else None

    @property
    def role(self) -> str:
        if LABEL_DATABASE in self.labels:
            return "database"
        return self.labels.get(LABEL_ROLE, "")

    @property
    def is_copy(self) -> bool:
        return self.app is not None and self.node is not None

    @property
    def kind(self) -> str:
        return "copy" if self.is_copy else self.role

    @property
    def display(self) -> str:
        if self.is_copy:
            return f"{self.app}.{self.node}"
        if self.app is not None:
            return f"{self.app}.{self.role}"
        if LABEL_DATABASE in self.labels:
            return self.labels[LABEL_DATABASE]
        return self.role or self.name

    @property
    def running(self) -> bool:
        return bool((self.attrs.get("State") or {}).get("Running"))

    def sort_key(self) -> tuple:
        group = 0 if self.app is not None else 1
        return (group, self.app or "", _ORDER.get(self.kind, 9), self.node or 0, self.display, self.name)


def stack_names(client: Any) -> list[str]:
    found = client.containers.list(all=True, sparse=True, filters={"label": LABEL_STACK})
    return sorted({(c.attrs.get("Labels") or {}).get(LABEL_STACK, "") for c in found} - {""})


class DeployedStack:
    """The containers that carry `flashdrive.stack=<name>` on the engine."""

    def __init__(self, client: Any, name: str):
        self.client = client
        self.name = name
        self.members = self._members()
        if not self.members:
            others = stack_names(client)
            where = engine_address()
            listing = f"stacks there: {', '.join(others)}" if others else "no flashdrive stack is deployed there"
            raise OperationError(f"no stack '{name}' on the engine at {where}; {listing}")

    def _members(self) -> list[Member]:
        found = self.client.containers.list(
            all=True, filters={"label": f"{LABEL_STACK}={self.name}"}, ignore_removed=True
        )
        return sorted((Member.of(c) for c in found), key=Member.sort_key)

    def refresh(self) -> None:
        self.members = self._members()

    @property
    def apps(self) -> list[str]:
        return sorted({m.app for m in self.members if m.app is not None and (m.is_copy or m.role == ROLE_RELEASE)})

    def check_app(self, app: str) -> None:
        if app not in self.apps:
            names = ", ".join(self.apps) or "none"
            raise OperationError(f"stack '{self.name}' has no app '{app}'; its apps: {names}")

    def copies(self, app: str | None = None) -> list[Member]:
        """The app's copies (every app's without APP), by number."""
        if app is not None:
            self.check_app(app)
        return [m for m in self.members if m.is_copy and (app is None or m.app == app)]

    def copy(self, app: str, node: int | None) -> Member:
        """Copy N of the app, or its first running copy."""
        copies = self.copies(app)
        if node is None:
            running = [m for m in copies if m.running]
            if not running:
                raise OperationError(
                    f"no copy of '{app}' is running in stack '{self.name}': "
                    f"`flashdrive restart {app} --deployed {self.name}` starts them"
                )
            return running[0]
        for member in copies:
            if member.node == node:
                return member
        numbers = ", ".join(m.display for m in copies) or "none"
        raise OperationError(f"app '{app}' has no copy {node} in stack '{self.name}'; its copies: {numbers}")

    def template(self, app: str) -> Member:
        """The container whose configuration a one-off takes: a running copy, else any copy, else the release."""
        copies = self.copies(app)
        for candidate in [m for m in copies if m.running] + copies:
            return candidate
        for member in self.members:
            if member.app == app and member.role == ROLE_RELEASE:
                return member
        raise OperationError(f"app '{app}' has no container in stack '{self.name}' to take its settings from")

    def network_roles(self) -> dict[str, str]:
        """Network name -> its role (internal, edge, public, egress)."""
        found = self.client.networks.list(filters={"label": f"{LABEL_STACK}={self.name}"})
        return {n.name: (n.attrs.get("Labels") or {}).get(LABEL_NETWORK, "") for n in found}


def parse_app_node(text: str) -> tuple[str, int | None]:
    """`web` -> ("web", None); `web.2` -> ("web", 2)."""
    app, dot, number = text.partition(".")
    if not dot:
        return app, None
    if not number.isdigit() or int(number) < 1:
        raise OperationError(f"'{text}' is not APP or APP.N (a copy's number, from 1): e.g. web or web.2")
    return app, int(number)
