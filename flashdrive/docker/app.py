"""flashdrive:docker:App — `nodes` hardened copies of an app, after its release command.

Each copy answers to the app's name and to `<app>-<n>` on the stack's networks; web copies
also sit on the edge network. The release command runs first (flashdrive/docker/release.py); its
failure fails the deploy with its output while the running copies stay as they are.

How a deploy changes the copies (the strategy):
- rolling (default): pulumi-docker replaces a container delete-before-replace, always (its
  tfbridge ResourceInfo says so), so a replaced copy is an outage. Instead each version of a copy
  is a resource of its own, `<stack>-<app>-<n>-<version>`, the version a hash of everything the
  copy is made of. A new version is created beside the old one and waited for until its health
  check passes (`wait`); only when every new resource is up does the engine delete the old ones,
  at the end of the `up`, each with SIGTERM and `shutdown_timeout_s` to finish its requests
  (`destroy_grace_seconds`). A copy that never becomes healthy fails the `up`: nothing old is
  deleted. Old and new answer to the same aliases (`<app>`, `<app>-<n>`) meanwhile.
- stop-first (an `exclusive` disk): one resource per copy, `<stack>-<app>-<n>`, replaced in
  place: the old copy is stopped (gracefully) before the new one starts; never two writers.
"""

from __future__ import annotations

import hashlib
import json

import pulumi
import pulumi_docker as docker
from msgspec import structs

from flashdrive.credentials import Credentials
from flashdrive.docker import readback
from flashdrive.docker.disk import DockerDisk
from flashdrive.docker.hardening import hardened, labels
from flashdrive.docker.host import DockerHost
from flashdrive.docker.network import StackNetwork
from flashdrive.docker.release import ReleaseContainer, release_command
from flashdrive.endpoints import DatabaseEndpoint, EnvResolver
from flashdrive.health_probe import python_probe, shell_probe
from flashdrive.labels import LABEL_APP, LABEL_ROLE, LABEL_STACK, ROLE_RELEASE
from flashdrive.model.stack import ResolvedApp, ResolvedStack


def _health_test(app: ResolvedApp) -> list[str]:
    # The Host and scheme of the app's real traffic; failures print what was asked and what came back.
    if app.build is not None:
        return ["CMD", "python", "-c", python_probe(app)]
    return ["CMD-SHELL", shell_probe(app)]


def provided_env(stack: ResolvedStack, app: ResolvedApp, node: str) -> dict[str, str]:
    env = {
        "FLASHDRIVE_STACK": stack.name,
        "FLASHDRIVE_APP": app.name,
        "FLASHDRIVE_NODE": node,
        "FLASHDRIVE_HOSTS": ",".join(app.hosts),
    }
    if app.port is not None:
        env["PORT"] = str(app.port)
    return env


def wait_timeout_s(app: ResolvedApp) -> int:
    """Long enough for a copy that starts as slowly as its health check allows: the start period,
    then every retry, then one more check."""
    health = app.health
    assert health is not None
    return health.start_period_s + (health.retries + 1) * (health.interval_s + health.timeout_s)


def copy_version(stack: ResolvedStack, app: ResolvedApp, image_version: str, user_env: dict) -> str:
    """A short hash of everything a copy is made of that is known before `up` runs: the image's
    content, and every setting of the app that reaches its container. Env values that are
    Outputs (secrets, config) count by their spec text: a new config value replaces the copies
    under the same version, stop-first (rare: `pulumi config set` then `up`)."""

    def described(value) -> str:
        return value if isinstance(value, str) else "output"

    settings = {
        "image": image_version,
        "command": app.command,
        "port": app.port,
        "size": app.size.name,
        "health": structs.asdict(app.health) if app.health else None,
        "egress": app.egress,
        "type": app.type,
        "disks": [(d.name, d.mount, d.read_only, d.volume_name) for d in app.disks],
        "provided": provided_env(stack, app, "n"),
        "shutdown": app.shutdown_timeout_s,
        "env": {name: described(value) for name, value in sorted(user_env.items())},
        "env_spec": [repr(var) for var in sorted(app.env, key=lambda v: v.name)],
        "flashdrive": COPY_FORMAT,
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:8]


# Bumped when the program changes what a copy's container is made of, so every copy rolls once.
COPY_FORMAT = 1


class DockerApp(pulumi.ComponentResource):
    def __init__(
        self,
        stack: ResolvedStack,
        app: ResolvedApp,
        built: pulumi.Input[str] | None,
        network: StackNetwork,
        disks: dict[str, DockerDisk],
        databases: dict[str, DatabaseEndpoint],
        host: DockerHost,
        credentials: Credentials,
        image_version: str,
        depends_on: list | None = None,
        opts: pulumi.ResourceOptions | None = None,
        defer_copies: bool = False,
    ):
        """`image_version`: what the image is made of, known before it is built (its source's
        content hash, or the prebuilt image's reference). `depends_on`: what the release and the
        copies wait for (databases; the release of another app of the same source). `defer_copies`:
        the copies start only with `start_copies(after)` (a preview's scrub runs between)."""
        super().__init__("flashdrive:docker:App", f"{stack.name}-{app.name}", None, opts)
        self.app = app
        child = pulumi.ResourceOptions(parent=self)
        # A built image is shared by the apps of one source; a prebuilt one is pulled per app (by the
        # Docker host, which pulls for its own platform).
        image = (
            built
            if built is not None
            else docker.RemoteImage(
                f"{stack.name}-{app.name}-image", name=app.image, keep_locally=True, opts=child
            ).image_id
        )
        # `{generate: secret}` values: stable across deploys and across `pulumi destroy`.
        resolver = EnvResolver(stack, databases, lambda var: credentials.derive(f"env/{var.name}", var.length))
        user_env = {var.name: resolver.value(var) for var in app.env if var.at_run}

        def env(node: str) -> dict:
            return {**provided_env(stack, app, node), **user_env}  # user env wins on a clash

        def envs(node: str) -> list:
            return [
                pulumi.Output.concat(f"{k}=", v) if not isinstance(v, str) else f"{k}={v}"
                for k, v in sorted(env(node).items())
            ]

        def networks(node_alias: str) -> list:
            aliases = [app.name, node_alias]
            nets = [docker.ContainerNetworksAdvancedArgs(name=network.internal.name, aliases=aliases)]
            if app.is_web:
                nets.append(docker.ContainerNetworksAdvancedArgs(name=network.edge.name, aliases=aliases))
            if app.egress:
                nets.append(docker.ContainerNetworksAdvancedArgs(name=network.egress.name))
            return nets

        # Which databases the env refers to: their passwords derive from stack config, so no resource
        # dependency says it; a label does (for plans, and `docker ps --filter`). It changes only
        # with the env, which replaces the copies anyway.
        used = ",".join(
            sorted({ref.name for var in app.env for ref in var.references if ref.kind == "databases" and ref.name})
        )
        volumes = [
            docker.ContainerVolumeArgs(
                volume_name=disks[d.name].volume.name, container_path=d.mount, read_only=d.read_only
            )
            for d in app.disks
        ]
        self.release = None
        if app.release:
            roles = ["internal"] + (["egress"] if app.egress else [])
            self.release = release_command(
                f"{stack.name}-{app.name}-release",
                app,
                ReleaseContainer(
                    name=f"{stack.name}-{app.name}-release",
                    networks=tuple(f"{stack.name}-{role}" for role in roles),
                    volumes=tuple((d.volume_name, d.mount, d.read_only) for d in app.disks),
                    labels={LABEL_STACK: stack.name, LABEL_APP: app.name, LABEL_ROLE: ROLE_RELEASE},
                ),
                host.host,
                image,
                env("release"),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[getattr(network, role) for role in roles]
                    + [disks[d.name].volume for d in app.disks]
                    + (depends_on or []),
                ),
            )

        self.strategy, self.strategy_reason = app.strategy
        self.version = copy_version(stack, app, image_version, user_env)
        # What the app's scheduled jobs run with (flashdrive.docker.cron): the image, which they take
        # once the release succeeded (they depend on it), the copies' env and disks; a preview's
        # scrub takes the same (`env`).
        self.image, self.envs, self.env, self.volumes = image, envs, env, volumes
        self._stack, self._networks, self._used = stack, networks, used
        self._depends_on = ([self.release] if self.release else []) + (depends_on or [])
        self.containers: list[docker.Container] = []
        if not defer_copies:
            self.start_copies()

    def start_copies(self, after: list | None = None) -> None:
        """Register the copies (after the release, and `after`), then the component's outputs."""
        stack, app, image, envs, networks, volumes, used = (
            self._stack,
            self.app,
            self.image,
            self.envs,
            self._networks,
            self.volumes,
            self._used,
        )
        health = app.health
        for number, node in enumerate(app.node_names(), start=1):
            name = f"{stack.name}-{node}" if app.stop_first else f"{stack.name}-{node}-{self.version}"
            self.containers.append(
                docker.Container(
                    name,
                    name=name,
                    hostname=node,
                    image=image,
                    command=list(app.command) if app.command else None,
                    envs=envs(str(number)),
                    networks_advanced=networks(node),
                    volumes=volumes,
                    healthcheck=docker.ContainerHealthcheckArgs(
                        tests=_health_test(app),
                        interval=readback.duration(app.health.interval_s),
                        timeout=readback.duration(app.health.timeout_s),
                        retries=app.health.retries,
                        start_period=readback.duration(app.health.start_period_s),
                    )
                    if app.health
                    else None,
                    labels=labels(
                        stack.name,
                        app=app.name,
                        node=str(number),
                        role=app.type,
                        strategy=self.strategy,
                        **({"databases": used} if used else {}),
                    ),
                    # A new copy counts once its health check passes; one that never does fails the up.
                    wait=health is not None,
                    wait_timeout=wait_timeout_s(app) if health is not None else None,
                    # Replaced or removed: SIGTERM, then this long to finish in-flight requests.
                    destroy_grace_seconds=app.shutdown_timeout_s,
                    stop_timeout=app.shutdown_timeout_s,
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        delete_before_replace=True,
                        # The gate: a copy is registered only once the release succeeded (the engine
                        # answers a registration after its step ran, and a failed release ends the
                        # run), so a failed release never touches a copy. depends_on is enough: the
                        # gate needs no value from the release, and an input fed by the release
                        # would make the engine replace every copy whenever the release is replaced.
                        depends_on=self._depends_on + (after or []),
                        # The provider updates healthcheck in place without telling Docker (upstream
                        # #988): a new check only reaches a new container.
                        replace_on_changes=["healthcheck"],
                    ),
                    **hardened(size=app.size),
                )
            )
        self.register_outputs(
            {
                "host": app.name,
                "port": app.port,
                "nodes": [c.name for c in self.containers],
                "public_url": app.public_url,
                "strategy": self.strategy,
                "strategy_reason": self.strategy_reason,
            }
        )
