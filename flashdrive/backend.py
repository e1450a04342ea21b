"""What `flashdrive.program.build_stack` asks of a backend, and the one loop that asks it.

A backend is made for one resolved stack (`DockerBackend(stack)`, `KubernetesBackend(stack)`) and
keeps what it made so far — its network or namespace, databases, disks, images — so that every
step below takes the same arguments on both backends. The order of the steps, which app runs the
release of a source and who waits for it, lives here once.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

import pulumi

from flashdrive.model.stack import ResolvedApp, ResolvedStack


class AppComponent(Protocol):
    """What the loop reads back from a backend's app component."""

    @property
    def app(self) -> ResolvedApp: ...

    @property
    def release(self) -> pulumi.Resource | None: ...


AppT = TypeVar("AppT", bound=AppComponent)


class Backend(Protocol[AppT]):
    def foundation(self) -> None:
        """The network or namespace, the databases, the disks and the images apps are made of."""

    def app(self, app: ResolvedApp, release_of_source: AppT | None) -> AppT:
        """One app. `release_of_source`: the app of the same source whose release runs first."""

    def start(self, apps: dict[str, AppT]) -> None:
        """What runs after every release and before any copy (a preview's scrub), then the copies an
        app held back for it; nothing when no app held its copies back."""

    def cron(self, component: AppT, release_of_source: AppT | None) -> None:
        """The app's scheduled jobs. `release_of_source`: whose release the jobs' image waits for."""

    def backups(self) -> None:
        """The backup and prune jobs of every disk and database."""

    def edge(self, apps: dict[str, AppT]) -> dict[str, Any]:
        """The routes to the web apps; returns the backend's own outputs (the edge, the namespace)."""


def build_with(backend: Backend[AppT], stack: ResolvedStack) -> dict:
    """Register every resource of `stack` through `backend` and export the stack's outputs."""
    backend.foundation()
    apps: dict[str, AppT] = {}
    release_of_source: dict[str, AppT] = {}
    # Apps that run their source's release first; the others of that source wait for it.
    for name, app in sorted(stack.apps.items(), key=lambda item: item[1].release is None):
        owner = release_of_source.get(app.build.key) if app.build is not None else None
        apps[name] = backend.app(app, owner)
        if app.build is not None and apps[name].release is not None:
            release_of_source.setdefault(app.build.key, apps[name])
    backend.start(apps)
    for component in apps.values():
        if component.app.cron:
            source = component.app.build
            backend.cron(component, release_of_source.get(source.key) if source is not None else component)
    if stack.backups.enabled and (stack.disks or stack.databases):
        backend.backups()
    own = backend.edge(apps)
    outputs = {
        "urls": {app.name: app.public_url for app in stack.web_apps},
        "internal": {
            **{app.name: f"{app.name}:{app.port}" if app.port else app.name for app in stack.apps.values()},
            **{db.name: f"{db.name}:{db.port}" for db in stack.databases.values()},
        },
        **own,
    }
    if stack.preview is not None:
        outputs.setdefault("preview", stack.preview.describe())  # every plan format shows the seed and dropped domains
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs
