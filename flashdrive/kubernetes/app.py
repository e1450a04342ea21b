"""flashdrive:kubernetes:App — a Deployment of `nodes` copies, a Service named like the app (so
`${apps.NAME.host}` is the same as on Docker), its secret env in a Secret, and its release command
as a Job that must succeed before the Deployment rolls.

The Job is named by the image digest and the command, so each release runs once: a new image means
a new Job, and Pulumi waits for it to complete (up to `kubernetes.release_timeout_s`) before it
touches the Deployment. A Job that failed is replaced by the next `pulumi up`, not waited on.

Apps with `nodes > 1` spread their copies over nodes and have a PodDisruptionBudget of one.
"""

from __future__ import annotations

import hashlib
import json
import math

import pulumi
import pulumi_kubernetes as k8s

from flashdrive.credentials import Credentials
from flashdrive.endpoints import DatabaseEndpoint, EnvResolver
from flashdrive.health_probe import probe_headers
from flashdrive.kubernetes.disk import KubernetesDisk, write_check
from flashdrive.kubernetes.hardening import (
    colocated_with,
    container_security,
    labels,
    pod_defaults,
    pod_labels,
    pod_security,
    resources,
    selector,
)
from flashdrive.labels import DATABASES_ANNOTATION
from flashdrive.model.stack import ClusterSettings, ResolvedApp, ResolvedStack

ENV_CHECKSUM = "flashdrive.dev/env-checksum"
ROLLOUT = "flashdrive.dev/rollout"
REPLACE_UNREADY = "pulumi.com/replaceUnready"
HOSTNAME = "kubernetes.io/hostname"


def release_job_name(app_name: str, image: str, command: str) -> str:
    """At most 63 characters (the Job's pods carry it as a label value): app 40 + 9 + 10."""
    digest = hashlib.sha256(f"{image}\0{command}".encode()).hexdigest()[:10]
    return f"{app_name}-release-{digest}"


def provided_env(stack: ResolvedStack, app: ResolvedApp, node: str | None) -> list[dict]:
    """What every copy is given besides its own env. `node` None: the pod's own name, because the
    copies of a Deployment have no number (a StatefulSet's would, at the price of ordered rollouts)."""
    env: list[dict] = [
        {"name": "FLASHDRIVE_STACK", "value": stack.name},
        {"name": "FLASHDRIVE_APP", "value": app.name},
        {"name": "FLASHDRIVE_HOSTS", "value": ",".join(app.hosts)},
    ]
    if node is None:
        env.append({"name": "FLASHDRIVE_NODE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
    else:
        env.append({"name": "FLASHDRIVE_NODE", "value": node})
    if app.port is not None:
        env.append({"name": "PORT", "value": str(app.port)})
    return env


def _probes(app: ResolvedApp) -> dict:
    health = app.health
    if health is None or app.port is None:
        return {}
    # The Host and scheme of the app's real traffic (flashdrive/health_probe.py says why).
    check = {
        "httpGet": {
            "path": health.path,
            "port": app.port,
            "scheme": "HTTP",
            "httpHeaders": [{"name": k, "value": v} for k, v in probe_headers(app).items()],
        },
        "periodSeconds": health.interval_s,
        "timeoutSeconds": health.timeout_s,
        "failureThreshold": health.retries,
    }
    # Docker's start period: failures before the first success do not count. Liveness and
    # readiness only start once the startup probe has passed.
    grace = math.ceil(health.start_period_s / health.interval_s)
    return {
        "startupProbe": {**check, "failureThreshold": health.retries + grace},
        "readinessProbe": check,
        "livenessProbe": check,
    }


def rollout(app: ResolvedApp, disks: dict[str, KubernetesDisk]) -> str:
    """What a deploy of a new version does with the app's copies, as the plan shows it."""
    if app.stop_first:
        return f"stop-first: {app.strategy[1]}, so the old copy stops before the new one starts (Recreate)"
    single = sorted(d.name for d in app.disks if not disks[d.name].shared)
    if single:
        names = ", ".join(f"'{name}'" for name in single)
        return (
            f"rolling on one node: disk {names} is ReadWriteOnce, which pods of one node may share, so the new "
            "copy starts on the old copy's node and replaces it once ready; without room for both there, the "
            "new copy waits and the deploy fails at its timeout, the old copy still serving"
        )
    if app.nodes > 1:
        return (
            f"rolling: one new copy at a time, each on another node where possible; an old copy stops once "
            f"its successor is ready, so {app.nodes} copies serve throughout"
        )
    return "rolling: the new copy starts beside the old one, which stops once its successor is ready"


def _checksum(values: dict) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def _claim(name: pulumi.Input[str], read_only: bool) -> dict:
    return {"claimName": name, **({"readOnly": True} if read_only else {})}


class KubernetesApp(pulumi.ComponentResource):
    def __init__(
        self,
        stack: ResolvedStack,
        cluster: ClusterSettings,
        app: ResolvedApp,
        image: pulumi.Input[str],
        namespace: pulumi.Input[str],
        disks: dict[str, KubernetesDisk],
        databases: dict[str, DatabaseEndpoint],
        depends_on: list | None = None,
        release_of_source: "KubernetesApp | None" = None,
        defer_copies: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ):
        """`release_of_source`: the app whose release Job runs for the same source; this one waits for it.
        `defer_copies`: the Deployment comes with `start_copies`, after what a preview runs first."""
        super().__init__("flashdrive:kubernetes:App", f"{stack.name}-{app.name}", None, opts)
        self.app = app
        child = pulumi.ResourceOptions(parent=self)
        # `{generate: secret}` values: stable across deploys and across `pulumi destroy`.
        derived = Credentials(stack.name)
        resolver = EnvResolver(stack, databases, lambda var: derived.derive(f"env/{var.name}", var.length))
        run_vars = [var for var in app.env if var.at_run]
        secret_values = {var.name: resolver.value(var) for var in run_vars if var.secret}
        used = ",".join(
            sorted(
                {
                    ref.name
                    for var in run_vars
                    if var.secret
                    for ref in var.references
                    if ref.kind == "databases" and ref.name
                }
            )
        )

        self.secret = None
        secret_name: pulumi.Input[str] = ""
        annotations: dict = {}
        if secret_values:
            self.secret = k8s.core.v1.Secret(
                f"{stack.name}-{app.name}-env",
                metadata={
                    "name": f"{app.name}-env",
                    "namespace": namespace,
                    "labels": labels(stack.name, app.name, "env"),
                    # Which databases these values come from (their passwords derive from stack
                    # config, so no resource dependency says it): plans draw it from here.
                    **({"annotations": {DATABASES_ANNOTATION: used}} if used else {}),
                },
                type="Opaque",
                string_data=secret_values,
                opts=child,
            )
            secret_name = self.secret.metadata.name
            # Pods read a Secret only when they start: a changed value changes this hash, and so
            # rolls the copies, as a changed env replaces the containers on Docker.
            annotations[ENV_CHECKSUM] = pulumi.Output.secret(pulumi.Output.all(**secret_values).apply(_checksum))
        user_env = [
            {"name": var.name, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": var.name}}}
            if var.secret
            else {"name": var.name, "value": resolver.value(var)}
            for var in run_vars
        ]

        def env(node: str | None) -> list[dict]:
            own = {item["name"] for item in user_env}  # user env wins on a clash
            provided = [item for item in provided_env(stack, app, node) if item["name"] not in own]
            return sorted(provided + user_env, key=lambda item: item["name"])

        volumes = [
            {"name": f"disk-{d.name}", "persistentVolumeClaim": _claim(disks[d.name].name, d.read_only)}
            for d in app.disks
        ]
        mounts = [
            {"name": f"disk-{d.name}", "mountPath": d.mount, **({"readOnly": True} if d.read_only else {})}
            for d in app.disks
        ]
        pinned = [app.name] if any(not disks[d.name].shared for d in app.disks) else []
        run_as = stack.app_uid if app.build is not None else None  # a prebuilt image runs as its own (non-root) user

        writable = [(d.name, disks[d.name].physical, d.mount) for d in app.disks if not d.read_only]
        checks = []
        if writable and app.build is not None:
            # The buildpack's image has a shell and runs as the stack's app uid; a prebuilt image may have neither.
            checks = [
                {
                    "name": "disk-check",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["/bin/sh", "-c", write_check(writable, cluster.storage_class, stack.app_uid)],
                    "resources": resources(app.size),
                    "securityContext": container_security(run_as),
                    "volumeMounts": [m for m in mounts if not m.get("readOnly")],
                }
            ]

        def pod(container: dict, component: str, restart: str, node: str | None) -> dict:
            spec: dict = {
                **pod_defaults(cluster.image_pull_secrets),
                "restartPolicy": restart,
                # The group that owns the disks: every copy, whatever its uid, may write to them.
                "securityContext": pod_security(run_as_user=run_as, fs_group=stack.app_uid),
                **({"initContainers": checks} if checks else {}),
                "containers": [
                    {
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "env": env(node),
                        "resources": resources(app.size),
                        "securityContext": container_security(run_as),
                        **({"volumeMounts": mounts} if mounts else {}),
                        **container,
                    }
                ],
            }
            if volumes:
                spec["volumes"] = volumes
            affinity = colocated_with(pinned)
            if affinity:
                spec["affinity"] = affinity
            metadata: dict = {"labels": pod_labels(stack.name, app.name, component, app.egress)}
            if annotations:
                metadata["annotations"] = annotations
            return {"metadata": metadata, "spec": spec}

        self.pod = pod  # the app's scheduled jobs run in pods like its copies (flashdrive.kubernetes.cron)
        self.stack_name, self.namespace, self.cluster = stack.name, namespace, cluster
        waits_for = list(depends_on or [])
        timeout = f"{cluster.release_timeout_s}s"
        self.release: k8s.batch.v1.Job | None = None
        if app.release:
            release_command = app.release  # narrowed here, not inside the lambda
            name = pulumi.Output.from_input(image).apply(lambda ref: release_job_name(app.name, ref, release_command))
            self.release = k8s.batch.v1.Job(
                f"{stack.name}-{app.name}-release",
                metadata={
                    "name": name,
                    "namespace": namespace,
                    "labels": labels(stack.name, app.name, "release"),
                    # A Job that failed (a transient error) is replaced by the next `pulumi up`
                    # instead of being waited on forever (pulumi-kubernetes#856).
                    "annotations": {REPLACE_UNREADY: "true"},
                },
                spec={
                    # A failed migration is not retried: it stops the deploy, as on Docker. No TTL:
                    # a Job that vanished would be created, and so run, again by the next `pulumi up`.
                    "backoffLimit": 0,
                    # The cluster stops a migration that outlives the deploy's wait for it.
                    "activeDeadlineSeconds": cluster.release_timeout_s,
                    "template": pod(
                        {"name": "release", "args": ["/bin/sh", "-c", app.release]}, "release", "Never", node="release"
                    ),
                },
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=waits_for + ([release_of_source.release] if release_of_source else []),
                    # Its name is fixed by the release: the failed Job goes before its replacement comes.
                    delete_before_replace=True,
                    custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout),
                ),
            )
        gate = self.release or (release_of_source.release if release_of_source else None)
        if gate is not None:
            waits_for.append(gate)

        match = selector(app.name, app.type)
        container: dict = {"name": app.name, **_probes(app)}
        if app.command:
            # args, not command: like Docker's CMD, it keeps the image's entrypoint.
            container["args"] = list(app.command)
        if app.port is not None:
            container["ports"] = [{"name": "http", "containerPort": app.port, "protocol": "TCP"}]
        self.service = k8s.core.v1.Service(
            f"{stack.name}-{app.name}",
            metadata={"name": app.name, "namespace": namespace, "labels": labels(stack.name, app.name, app.type)},
            # A worker listens nowhere: a headless Service still makes its name resolve, as on Docker.
            spec={
                "selector": match,
                "type": "ClusterIP",
                "ports": [{"name": "http", "port": app.port, "targetPort": app.port, "protocol": "TCP"}],
            }
            if app.port is not None
            else {"selector": match, "clusterIP": "None"},
            opts=child,
        )
        self._copies = (pod(container, app.type, "Always", node=None), match, disks, waits_for)
        self.deployment: k8s.apps.v1.Deployment | None = None
        self.disruption_budget: k8s.policy.v1.PodDisruptionBudget | None = None
        if not defer_copies:
            self.start_copies([])

    def scrub_job(self, command: str, depends_on: list) -> k8s.batch.v1.Job:
        """A preview's scrub, with this app's image, env and disks: once, after the seed restored the
        base's data and every release brought the schema up to date (`depends_on`), before any copy."""
        timeout = f"{self.cluster.release_timeout_s}s"
        return k8s.batch.v1.Job(
            f"{self.stack_name}-{self.app.name}-scrub",
            metadata={
                "name": "scrub",
                "namespace": self.namespace,
                "labels": labels(self.stack_name, self.app.name, "scrub"),
                "annotations": {REPLACE_UNREADY: "true"},
            },  # a failed scrub runs again on the next up
            spec={
                "backoffLimit": 0,
                "activeDeadlineSeconds": self.cluster.release_timeout_s,
                "template": self.pod(
                    {"name": "scrub", "args": ["/bin/sh", "-c", command]}, "scrub", "Never", node="scrub"
                ),
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=depends_on,
                # Once: a later deploy (a new image) does not scrub again what the preview wrote since.
                ignore_changes=["spec"],
                delete_before_replace=True,
                custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout),
            ),
        )

    def start_copies(self, gates: list) -> None:
        """The Deployment (and its disruption budget), after `gates` too: a preview's copies start
        once its scrub is done (`defer_copies`)."""
        app, namespace, stack_name = self.app, self.namespace, self.stack_name
        template, match, disks, waits_for = self._copies
        child = pulumi.ResourceOptions(parent=self)
        if app.nodes > 1:
            # The guide's promise: each copy on another server. Counted per ReplicaSet
            # (pod-template-hash), so the surge copy of a rollout is not squeezed by the old ones;
            # cordoned nodes (a drain) do not count.
            template["spec"]["topologySpreadConstraints"] = [
                {
                    "maxSkew": 1,
                    "topologyKey": HOSTNAME,
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": match},
                    "matchLabelKeys": ["pod-template-hash"],
                    "nodeTaintsPolicy": "Honor",
                }
            ]
        self.deployment = k8s.apps.v1.Deployment(
            f"{stack_name}-{app.name}",
            metadata={
                "name": app.name,
                "namespace": namespace,
                "labels": labels(stack_name, app.name, app.type),
                "annotations": {ROLLOUT: rollout(app, disks)},
            },
            spec={
                "replicas": app.nodes,
                "selector": {"matchLabels": match},
                # A new copy must be ready before an old one goes: a deploy never lowers capacity. An
                # exclusive disk never has two writers, not even for the seconds of a roll.
                "strategy": {"type": "Recreate"}
                if app.stop_first
                else {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "template": template,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=waits_for + gates),
        )
        self.disruption_budget = None
        if app.nodes > 1:
            # A node drain evicts one copy at a time, each only once the others are ready.
            self.disruption_budget = k8s.policy.v1.PodDisruptionBudget(
                f"{stack_name}-{app.name}",
                metadata={"name": app.name, "namespace": namespace, "labels": labels(stack_name, app.name, app.type)},
                spec={
                    "maxUnavailable": 1,
                    "selector": {"matchLabels": match},
                    # A copy that is not ready serves nothing: evicting it never blocks a drain.
                    "unhealthyPodEvictionPolicy": "AlwaysAllow",
                },
                opts=child,
            )
        strategy, why = app.strategy
        self.register_outputs(
            {
                "host": app.name,
                "port": app.port,
                "replicas": app.nodes,
                "public_url": app.public_url,
                "strategy": strategy,
                "strategy_reason": why,
            }
        )
