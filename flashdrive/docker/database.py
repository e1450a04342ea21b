"""flashdrive:docker:Database — a marketplace database on the stack's internal network only.

Credentials are generated (secret); data lives on a retained volume named from the stack and
the database, so renaming or removing an app never touches it.

Major versions: a server refuses another major's data directory, so a new major gets a new volume
(`<stack>-db-<name>-pg17`) and the data is copied into it by the engine's own dump and restore
before the server switches (docker/upgrade.py: a Command the container depends on). The spec says
which majors came before (`upgraded_from`), oldest first: the Pulumi program cannot read what is
deployed, and with the history in the spec every volume name and step is known to `plan` offline,
deterministically. The first major keeps `<stack>-db-<name>`, so a stack that never upgraded keeps
its name; every earlier major's volume stays declared and retained, the way back.
"""

from __future__ import annotations

import shlex
from typing import Any

import pulumi
import pulumi_docker as docker

from flashdrive.credentials import Credentials
from flashdrive.database_tls import CA_FILE, CERT_FILE, KEY_FILE, ServerTLS, server_options
from flashdrive.docker.disk import retained_volume
from flashdrive.docker.hardening import DATA_IMAGE_CAPABILITIES, hardened, labels
from flashdrive.docker.network import StackNetwork
from flashdrive.docker.upgrade import upgrade_command
from flashdrive.endpoints import DatabaseEndpoint
from flashdrive.engines import ENGINES
from flashdrive.labels import LABEL_DATABASE, LABEL_STACK
from flashdrive.model.stack import ResolvedDatabase


def _variables(db: ResolvedDatabase, password: pulumi.Output, root_password: pulumi.Output) -> dict[str, Any]:
    """The variables each engine's official image reads its credentials from, by name."""
    if db.engine == "postgres":
        return {"POSTGRES_USER": db.user, "POSTGRES_PASSWORD": password, "POSTGRES_DB": db.database}
    if db.engine == "mysql":
        return {
            "MYSQL_USER": db.user,
            "MYSQL_PASSWORD": password,
            "MYSQL_DATABASE": db.database,
            "MYSQL_ROOT_PASSWORD": root_password,
        }
    if db.engine == "mongodb":
        return {
            "MONGO_INITDB_ROOT_USERNAME": db.user,
            "MONGO_INITDB_ROOT_PASSWORD": password,
            "MONGO_INITDB_DATABASE": db.database,
        }
    # redis-cli reads REDISCLI_AUTH, so the health check never puts the password on a command line.
    return {"REDIS_PASSWORD": password, "REDISCLI_AUTH": password}


def _environment(variables: dict[str, Any]) -> list:
    return [pulumi.Output.concat(f"{name}=", value) for name, value in variables.items()]


def _command(db: ResolvedDatabase, tls: ServerTLS | None) -> list[str] | None:
    if tls is not None:
        # The key is uploaded as root; the server, which the image's entrypoint runs as its own user,
        # must own it (Postgres refuses a key anyone else can read). Options alone after the
        # entrypoint: it puts the image's server command in front of them.
        user = ENGINES[db.engine].server_user
        return [
            "sh",
            "-c",
            f"chown {user}:{user} {KEY_FILE} && chmod 600 {KEY_FILE}"
            f" && exec docker-entrypoint.sh {shlex.join(server_options(db.engine))}",
        ]
    start = ENGINES[db.engine].start_script
    return ["sh", "-c", start.format(data_dir=db.data_dir)] if start else None


# Seconds a database gets to shut down cleanly when stopped, replaced or removed.
DATABASE_STOP_GRACE_S = 120


class DockerDatabase(pulumi.ComponentResource):
    endpoint: DatabaseEndpoint

    def __init__(
        self,
        stack: str,
        db: ResolvedDatabase,
        network: StackNetwork,
        credentials: Credentials,
        host: str,
        tls: ServerTLS | None = None,
        opts: pulumi.ResourceOptions | None = None,
        retain: bool = True,
    ):
        """`host`: the Docker host's address, for the upgrade's Command (docker/upgrade.py); `retain`:
        False for a preview's database, whose volumes go with it."""
        super().__init__("flashdrive:docker:Database", f"{stack}-{db.name}", None, opts)
        child = pulumi.ResourceOptions(parent=self)
        facts = ENGINES[db.engine]
        # Derived from the stack's master key (flashdrive/credentials.py): the same after `pulumi
        # destroy`, as the retained data directory expects. Hex: safe in URLs unescaped.
        password = credentials.derive(f"databases/{db.name}/password")
        root_password = (
            credentials.derive(f"databases/{db.name}/root-password")
            if db.engine == "mysql"
            else pulumi.Output.secret("")
        )
        variables = _variables(db, password, root_password)
        volume_labels = {LABEL_STACK: stack, LABEL_DATABASE: db.name}
        # The volumes of the majors the database ran before stay declared and retained: the way back.
        self.earlier_volumes = [retained_volume(e.volume_name, volume_labels, self, retain) for e in db.earlier]
        self.volume = retained_volume(db.volume_name, volume_labels, self, retain)
        self.upgrade = None
        if db.upgraded_from is not None:
            self.upgrade = upgrade_command(
                f"{stack}-{db.name}-upgrade",
                stack,
                db,
                host,
                variables,
                DATABASE_STOP_GRACE_S,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.volume, *self.earlier_volumes]),
            )
        image = docker.RemoteImage(f"{stack}-{db.name}-image", name=db.image, keep_locally=True, opts=child)
        self.container = docker.Container(
            f"{stack}-{db.name}",
            name=f"{stack}-{db.name}",
            image=image.image_id,
            envs=_environment(variables),
            command=_command(db, tls),
            # The TLS files are written into the container, never into an image or an env var.
            uploads=None
            if tls is None
            else [
                docker.ContainerUploadArgs(file=CA_FILE, content=tls.ca_pem),
                docker.ContainerUploadArgs(file=CERT_FILE, content=tls.cert_pem),
                docker.ContainerUploadArgs(file=KEY_FILE, content=tls.key_pem),
            ],
            # Databases live on the internal network only: no published port, no way out.
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network.internal.name, aliases=[db.name])],
            volumes=[docker.ContainerVolumeArgs(volume_name=self.volume.name, container_path=db.data_dir)],
            # Checked often: the release command and the copies wait for the first healthy answer,
            # and Docker runs the first check one interval after start (each engine's cadence: its
            # check's cost).
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD-SHELL", facts.health],
                interval=facts.health_interval,
                timeout="5s",
                retries=facts.health_retries,
                start_period="30s",
            ),
            # Wait until healthy, so a release command that migrates finds the database ready.
            wait=True,
            wait_timeout=180,
            # Replaced or removed: the image's stop signal (Postgres: SIGINT, a fast clean shutdown),
            # then time for a clean shutdown (checkpoint, flush) before a kill. Never two on one
            # volume: a database is always replaced stop-first (pulumi-docker's delete-before-replace).
            destroy_grace_seconds=DATABASE_STOP_GRACE_S,
            stop_timeout=DATABASE_STOP_GRACE_S,
            labels=labels(stack, database=db.name, engine=db.engine),
            # After the upgrade's copy, when there is one: the new server starts on the filled volume.
            opts=pulumi.ResourceOptions(
                parent=self, delete_before_replace=True, depends_on=[self.upgrade] if self.upgrade is not None else None
            ),
            **hardened(size=db.size, add_capabilities=DATA_IMAGE_CAPABILITIES),
        )
        self.endpoint = DatabaseEndpoint.of(db, password)
        self.register_outputs(
            {
                "host": db.name,
                "port": db.port,
                "user": db.user,
                "name": db.database,
                "password": self.endpoint.password,
                "url": self.endpoint.url,
                **({"upgrade": db.upgrade_summary()} if db.upgraded_from else {}),
            }
        )
