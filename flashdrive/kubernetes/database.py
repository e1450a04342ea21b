"""flashdrive:kubernetes:Database — a marketplace database: a StatefulSet of one, a headless Service
named like the database (so `${databases.NAME.host}` is the same as on Docker), and its generated
credentials in a Secret.

The data lives on a claim of its own, named from the stack and the database like the Docker
volume (`<stack>-db-<name>`) and retained on delete, so renaming or removing an app never touches
it. Not a volumeClaimTemplate: a template cannot change, so a larger `disk_gb` would recreate the
StatefulSet and never grow the volume; a claim's request grows in place (on a storage class with
`allowVolumeExpansion`).

A new major (`upgraded_from`, see flashdrive/docker/database.py for why the spec says it) runs on a
claim and StatefulSet of its own, `<stack>-db-<name>-pg17`; each earlier major's StatefulSet stays
declared with 0 replicas beside its retained claim, and a Job between the two copies the data
(flashdrive/kubernetes/upgrade.py).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from msgspec import structs

from flashdrive.credentials import Credentials
from flashdrive.database_tls import TLS_DIR, ServerTLS, server_options
from flashdrive.endpoints import DatabaseEndpoint
from flashdrive.engines import ENGINES
from flashdrive.kubernetes.disk import claim_spec
from flashdrive.kubernetes.hardening import (
    DATABASE_UID,
    container_security,
    labels,
    pod_defaults,
    pod_labels,
    pod_security,
    resources,
    selector,
)
from flashdrive.kubernetes.upgrade import upgrade_job
from flashdrive.model.stack import ResolvedDatabase

DATA_VOLUME = "data"


def data_dir(db: ResolvedDatabase) -> str:
    """Where the engine writes on its claim (below the root for some engines: engines.py)."""
    below = ENGINES[db.engine].claim_subdir
    return f"{db.data_dir}/{below}" if below else db.data_dir


def _secret_env(name: str, secret: pulumi.Input[str], key: str) -> dict:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def credentials_env(db: ResolvedDatabase, secret: pulumi.Input[str]) -> list[dict]:
    """The variables each engine's official image reads its credentials from."""
    if db.engine == "postgres":
        return [
            {"name": "POSTGRES_USER", "value": db.user},
            {"name": "POSTGRES_DB", "value": db.database},
            _secret_env("POSTGRES_PASSWORD", secret, "password"),
            {"name": "PGDATA", "value": data_dir(db)},
        ]
    if db.engine == "mysql":
        return [
            {"name": "MYSQL_USER", "value": db.user},
            {"name": "MYSQL_DATABASE", "value": db.database},
            _secret_env("MYSQL_PASSWORD", secret, "password"),
            _secret_env("MYSQL_ROOT_PASSWORD", secret, "root-password"),
        ]
    if db.engine == "mongodb":
        return [
            {"name": "MONGO_INITDB_ROOT_USERNAME", "value": db.user},
            _secret_env("MONGO_INITDB_ROOT_PASSWORD", secret, "password"),
            {"name": "MONGO_INITDB_DATABASE", "value": db.database},
        ]
    # redis-cli reads REDISCLI_AUTH, so neither the probe nor a dump puts the password on a command line.
    return [_secret_env("REDIS_PASSWORD", secret, "password"), _secret_env("REDISCLI_AUTH", secret, "password")]


def _args(db: ResolvedDatabase, tls: bool = False) -> list[str] | None:
    if db.engine == "mysql":
        # The image's entrypoint puts mysqld in front of options.
        return [f"--datadir={data_dir(db)}", *(server_options("mysql") if tls else [])]
    if db.engine == "postgres" and tls:
        return ["postgres", *server_options("postgres")]
    start = ENGINES[db.engine].start_script
    return ["sh", "-c", start.format(data_dir=db.data_dir)] if start else None


def shm_mib(db: ResolvedDatabase) -> int:
    """Postgres's shared memory for parallel queries: a quarter of the memory, at least the 64 MiB
    a container gets by default (memory-backed, it counts against the limit)."""
    return max(64, db.size.memory_mib // 4)


# Crash recovery of a large database may take minutes: liveness starts only once it answers.
STARTUP_SECONDS = 600
SHUTDOWN_SECONDS = 120


def _probe_command(db: ResolvedDatabase) -> list[str]:
    return ["sh", "-c", ENGINES[db.engine].health]


class KubernetesDatabase(pulumi.ComponentResource):
    endpoint: DatabaseEndpoint

    def __init__(
        self,
        stack: str,
        db: ResolvedDatabase,
        namespace: pulumi.Input[str],
        pull_secrets: tuple[str, ...] = (),
        tls: ServerTLS | None = None,
        opts: pulumi.ResourceOptions | None = None,
        retain: bool = True,
    ):
        super().__init__("flashdrive:kubernetes:Database", f"{stack}-{db.name}", None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # From the stack's master key (flashdrive/credentials.py): the same after `pulumi destroy`, as
        # the retained claim's data directory expects. Hex: safe in URLs unescaped.
        derived = Credentials(stack)
        password = derived.derive(f"databases/{db.name}/password")
        credentials = {"password": password}
        if db.engine == "mysql":
            credentials["root-password"] = derived.derive(f"databases/{db.name}/root-password")
        self.secret = k8s.core.v1.Secret(
            f"{stack}-{db.name}-credentials",
            metadata={
                "name": f"{db.name}-credentials",
                "namespace": namespace,
                "labels": labels(stack, db.name, "database"),
            },
            type="Opaque",
            string_data=credentials,
            opts=child,
        )
        self.secret_name: pulumi.Output[str] = self.secret.metadata.name

        match = selector(db.name, "database")
        self.service = k8s.core.v1.Service(
            f"{stack}-{db.name}",
            metadata={"name": db.name, "namespace": namespace, "labels": labels(stack, db.name, "database")},
            # Headless: the name resolves to the one pod, as a container alias does on Docker.
            spec={
                "clusterIP": "None",
                "selector": match,
                "ports": [{"name": db.engine, "port": db.port, "targetPort": db.port, "protocol": "TCP"}],
            },
            opts=child,
        )
        if tls is not None:
            # Mounted root-owned, readable by the pod's group only (0440): Postgres accepts a key
            # owned by root when no one outside that group can read it.
            self.tls_secret = k8s.core.v1.Secret(
                f"{stack}-{db.name}-tls",
                metadata={
                    "name": f"{db.name}-tls",
                    "namespace": namespace,
                    "labels": labels(stack, db.name, "database"),
                },
                type="Opaque",
                string_data={"ca.crt": tls.ca_pem, "server.crt": tls.cert_pem, "server.key": tls.key_pem},
                opts=child,
            )

        def claim(target: ResolvedDatabase) -> k8s.core.v1.PersistentVolumeClaim:
            return k8s.core.v1.PersistentVolumeClaim(
                target.volume_name,
                metadata={
                    "name": target.volume_name,
                    "namespace": namespace,
                    "labels": labels(stack, db.name, "database"),
                },
                # The cluster's default class: a database wants a fast single-node volume, not the
                # shared (ReadWriteMany) class the disks may need.
                spec=claim_spec(target.data_gb, "ReadWriteOnce", None),
                # A preview's (retain=False) goes with it: a copy of the base's data, scrubbed.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=retain),
            )

        def server(
            target: ResolvedDatabase,
            data: k8s.core.v1.PersistentVolumeClaim,
            replicas: int,
            depends_on: list | None = None,
        ) -> k8s.apps.v1.StatefulSet:
            """A major's StatefulSet: the current one runs; an earlier one (`upgraded_from`) stays
            declared with 0 replicas, beside its claim, retained with that major's data."""
            return k8s.apps.v1.StatefulSet(
                target.volume_name,
                metadata={
                    "name": target.volume_name,
                    "namespace": namespace,
                    "labels": labels(stack, db.name, "database"),
                },
                spec={
                    "serviceName": self.service.metadata.name,
                    # One pod, stopped before its successor starts: never two servers on one data directory.
                    "replicas": replicas,
                    "selector": {"matchLabels": match},
                    "template": self._pod(stack, target, data.metadata.name, pull_secrets, tls),
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
            )

        earlier = [
            structs.replace(
                db,
                version=e.version,
                major=e.major,
                image=e.image,
                volume_name=e.volume_name,
                data_dir=e.data_dir,
                earlier=(),
            )
            for e in db.earlier
        ]
        earlier_claims = [claim(e) for e in earlier]
        stopped = [server(e, c, 0) for e, c in zip(earlier, earlier_claims, strict=True)]
        self.claim = claim(db)
        self.upgrade = None
        if earlier:
            old = earlier[-1]
            self.upgrade = upgrade_job(
                stack,
                db,
                old,
                namespace,
                {"old": credentials_env(old, self.secret_name), "new": credentials_env(db, self.secret_name)},
                (earlier_claims[-1].metadata.name, self.claim.metadata.name),
                pull_secrets,
                # After the old server stopped (its set at 0 replicas), before the new one starts.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[stopped[-1]]),
            )
        self.stateful_set = server(db, self.claim, 1, [self.upgrade] if self.upgrade is not None else None)
        self.endpoint = DatabaseEndpoint.of(db, password)
        self.register_outputs(
            {
                "host": db.name,
                "port": db.port,
                "user": db.user,
                "name": db.database,
                "password": self.endpoint.password,
                "url": self.endpoint.url,
                **({"upgrade": db.upgrade_summary("claim")} if db.upgraded_from else {}),
            }
        )

    def _pod(
        self,
        stack: str,
        db: ResolvedDatabase,
        claim: pulumi.Input[str],
        pull_secrets: tuple[str, ...],
        tls: ServerTLS | None,
    ) -> dict:
        """The pod template of a major's server: its image, its data path, its claim."""
        probe: dict[str, Any] = {
            "exec": {"command": _probe_command(db)},
            "periodSeconds": 5,
            "timeoutSeconds": 5,
            "failureThreshold": 10,
        }
        mounts: list[dict[str, Any]] = [{"name": DATA_VOLUME, "mountPath": db.data_dir}]
        volumes: list[dict] = []
        container: dict[str, Any] = {
            "name": db.engine,
            "image": db.image,
            "imagePullPolicy": "IfNotPresent",
            "env": credentials_env(db, self.secret_name),
            "ports": [{"name": db.engine, "containerPort": db.port, "protocol": "TCP"}],
            "startupProbe": {**probe, "failureThreshold": STARTUP_SECONDS // probe["periodSeconds"]},
            "readinessProbe": probe,
            "livenessProbe": probe,
            "resources": resources(db.size),
            "securityContext": container_security(DATABASE_UID),
            "volumeMounts": mounts,
        }
        args = _args(db, tls is not None)
        if args:
            container["args"] = args
        if db.engine == "postgres":
            volumes.append({"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": f"{shm_mib(db)}Mi"}})
            mounts.append({"name": "shm", "mountPath": "/dev/shm"})
        volumes.append({"name": DATA_VOLUME, "persistentVolumeClaim": {"claimName": claim}})
        if tls is not None:
            volumes.append(
                {"name": "tls", "secret": {"secretName": self.tls_secret.metadata.name, "defaultMode": 0o440}}
            )
            mounts.append({"name": "tls", "mountPath": TLS_DIR, "readOnly": True})
        return {
            "metadata": {"labels": pod_labels(stack, db.name, "database", egress=False)},
            "spec": {
                **pod_defaults(pull_secrets),
                # Time for a clean shutdown (a checkpoint, flushed buffers) before the kill:
                # otherwise the next start recovers from a crash.
                "terminationGracePeriodSeconds": SHUTDOWN_SECONDS,
                "securityContext": pod_security(run_as_user=DATABASE_UID, fs_group=DATABASE_UID),
                "containers": [container],
                "volumes": volumes,
            },
        }
