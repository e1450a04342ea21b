"""flashdrive:docker:App — `nodes` hardened copies of an app, after its release command.

Each copy answers to the app's name and to `<app>-<n>` on the stack's networks; web copies
also sit on the edge network. The release command runs in a one-off container first; its
failure fails the deploy with its output, and no copy is created.
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker
import pulumi_random as random

from flashdrive.docker.disk import Disk
from flashdrive.docker.hardening import hardened, labels
from flashdrive.docker.network import StackNetwork
from flashdrive.endpoints import DatabaseEndpoint, EnvResolver
from flashdrive.health_probe import python_probe, shell_probe
from flashdrive.model.stack import ResolvedApp, ResolvedStack


class ReleaseFailed(Exception):
    pass


def _health_test(app: ResolvedApp) -> list[str]:
    # The Host and scheme of the app's real traffic; failures print what was asked and what came back.
    if app.build is not None:
        return ["CMD", "python", "-c", python_probe(app)]
    return ["CMD-SHELL", shell_probe(app)]


def provided_env(stack: ResolvedStack, app: ResolvedApp, node: str) -> dict[str, str]:
    env = {"FLASHDRIVE_STACK": stack.name, "FLASHDRIVE_APP": app.name, "FLASHDRIVE_NODE": node,
           "FLASHDRIVE_HOSTS": ",".join(app.hosts)}
    if app.port is not None:
        env["PORT"] = str(app.port)
    return env


def _check_release(app_name: str, exit_code, logs) -> bool:
    if exit_code not in (None, 0):  # None: not known yet (preview)
        raise ReleaseFailed(f"the release command of app '{app_name}' exited with code {exit_code}; "
                            f"no copy was started. Its output:\n{logs or '(no output)'}")
    return True


class App(pulumi.ComponentResource):
    def __init__(self, stack: ResolvedStack, app: ResolvedApp, built: pulumi.Input[str] | None, network: StackNetwork,
                 disks: dict[str, Disk], databases: dict[str, DatabaseEndpoint], depends_on: list | None = None,
                 release_gate: pulumi.Output | None = None, opts: pulumi.ResourceOptions | None = None):
        """`release_gate`: the release of another app of the same source, which this one waits for."""
        super().__init__("flashdrive:docker:App", f"{stack.name}-{app.name}", None, opts)
        self.app = app
        child = pulumi.ResourceOptions(parent=self)
        # A built image is shared by the apps of one source; a prebuilt one is pulled per app.
        image = built if built is not None else docker.RemoteImage(
            f"{stack.name}-{app.name}-image", name=app.image, keep_locally=True, opts=child).image_id
        generated = {var.name: random.RandomPassword(f"{stack.name}-{app.name}-{var.name.lower().replace('_', '-')}",
                                                    length=var.length, special=False, opts=child)
                     for var in app.env if var.kind == "generate"}
        resolver = EnvResolver(stack, databases, lambda var: generated[var.name].result)
        user_env = {var.name: resolver.value(var) for var in app.env if var.at_run}

        def envs(node: str) -> list:
            values: dict = {**provided_env(stack, app, node), **user_env}  # user env wins on a clash
            return [pulumi.Output.concat(f"{k}=", v) if not isinstance(v, str) else f"{k}={v}"
                    for k, v in sorted(values.items())]

        def networks(node_alias: str | None) -> list:
            aliases = [app.name] + ([node_alias] if node_alias else [])
            nets = [docker.ContainerNetworksAdvancedArgs(name=network.internal.name, aliases=aliases)]
            if app.is_web and node_alias:
                nets.append(docker.ContainerNetworksAdvancedArgs(name=network.edge.name, aliases=aliases))
            if app.egress:
                nets.append(docker.ContainerNetworksAdvancedArgs(name=network.egress.name))
            return nets

        volumes = [docker.ContainerVolumeArgs(volume_name=disks[d.name].volume.name, container_path=d.mount,
                                              read_only=d.read_only) for d in app.disks]
        gate = pulumi.Output.from_input(image)
        if release_gate is not None:
            gate = pulumi.Output.all(image, release_gate).apply(lambda result: result[0])
        self.release = None
        self.release_gate: pulumi.Output | None = None
        if app.release:
            self.release = docker.Container(
                f"{stack.name}-{app.name}-release",
                name=f"{stack.name}-{app.name}-release",
                image=image,
                command=["/bin/sh", "-c", app.release],
                envs=envs("release"),
                networks_advanced=networks(None),
                volumes=volumes,
                # Run to completion and keep the output: a one-off, not a service.
                attach=True, logs=True, must_run=False,
                labels=labels(stack.name, app=app.name, role="release"),
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True, depends_on=depends_on or []),
                **hardened(size=app.size, pids_limit=app.pids_limit, restart="no"),
            )
            checked = pulumi.Output.all(self.release.exit_code, self.release.container_logs).apply(
                lambda result: _check_release(app.name, result[0], result[1]))
            self.release_gate = checked
            # Copies take the image only once the release succeeded: a failure creates none.
            gate = pulumi.Output.all(image, checked).apply(lambda result: result[0])

        # What the app's scheduled jobs run with (flashdrive.docker.cron): the image once released.
        self.image, self.envs, self.volumes = gate, envs, volumes
        self.containers: list[docker.Container] = []
        for number, node in enumerate(app.node_names(), start=1):
            self.containers.append(docker.Container(
                f"{stack.name}-{node}",
                name=f"{stack.name}-{node}",
                hostname=node,
                image=gate,
                command=list(app.command) if app.command else None,
                envs=envs(str(number)),
                networks_advanced=networks(node),
                volumes=volumes,
                healthcheck=docker.ContainerHealthcheckArgs(
                    tests=_health_test(app), interval=f"{app.health.interval_s}s", timeout=f"{app.health.timeout_s}s",
                    retries=app.health.retries, start_period=f"{app.health.start_period_s}s") if app.health else None,
                labels=labels(stack.name, app=app.name, node=str(number), role=app.type),
                # Docker cannot change a running container's health check: a new probe needs a new copy.
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True, replace_on_changes=["healthcheck"],
                                            depends_on=([self.release] if self.release else []) + (depends_on or [])),
                **hardened(size=app.size, pids_limit=app.pids_limit),
            ))
        self.register_outputs({
            "host": app.name, "port": app.port, "nodes": [c.name for c in self.containers],
            "public_url": app.public_url,
        })
