"""flashdrive:docker:Backups — daily restic backups of every disk and database, append-only.

Three containers, three privileges:
- `<stack>-backup-server`: `rclone serve restic --append-only` over the repository volume, on a
  network of its own that only the backup job joins. No app or database mounts the repository or
  shares that network, and through this server nobody can delete or rewrite a snapshot.
- `<stack>-backup`: the scheduled job (busybox crond). Disks mounted read-only, databases dumped
  over the internal network, snapshots written through the server with write-only credentials.
  On `backups.verify` it also runs the restore drill (flashdrive.backup_drill), with scratch
  database servers inside its own image: it has no Docker socket to start containers with.
- `<stack>-backup-prune`: the only holder of delete rights: the repository volume mounted directly,
  no network at all; it forgets what the repository received more than `keep_days` ago (by the
  snapshot files' times, which the writer cannot set; see flashdrive.backup_scripts) and checks it.
With an s3 or rest target the repository is remote: append-only is then the target's to enforce
(object lock, rest-server --append-only); the prune job gets the target's `prune` credentials, and
a volume of its own (`<stack>-backup-ledger`) recording when it first saw each snapshot.
"""

from __future__ import annotations

import posixpath

import pulumi
import pulumi_docker as docker

from flashdrive.backup_drill import DRILL_SCRIPT, scheduled_drill_script
from flashdrive.backup_scripts import (
    CROND,
    LEDGER,
    PRUNE_SCHEDULE,
    REPOSITORY_DIR,
    backup_script,
    crontab,
    password_env,
    prune_script,
    received_script,
)
from flashdrive.credentials import REPOSITORY_PASSWORD, Credentials
from flashdrive.docker.disk import DockerDisk, retained_volume
from flashdrive.docker.hardening import hardened, labels
from flashdrive.docker.network import StackNetwork
from flashdrive.endpoints import DatabaseEndpoint, config_value
from flashdrive.labels import (
    LABEL_NETWORK,
    LABEL_ROLE,
    LABEL_STACK,
    ROLE_BACKUP_JOB,
    ROLE_BACKUP_LEDGER,
    ROLE_BACKUP_PRUNE,
    ROLE_BACKUP_SERVER,
    ROLE_BACKUPS,
)
from flashdrive.model.stack import RepositoryS3, RepositoryVolume, ResolvedStack
from flashdrive.spec.sizes import SIZES

SERVER_PORT = 8000
# crond changes to the crontab's user before each job.
CRON_CAPABILITIES = ["SETGID", "SETUID"]
# Reading every file of a disk, whatever its owner and mode, as a backup must.
READ_ALL_CAPABILITIES = ["DAC_READ_SEARCH"]


class DockerBackups(pulumi.ComponentResource):
    def __init__(
        self,
        stack: ResolvedStack,
        network: StackNetwork,
        disks: dict[str, DockerDisk],
        databases: dict[str, DatabaseEndpoint],
        credentials: Credentials,
        depends_on: list | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("flashdrive:docker:Backups", f"{stack.name}-backups", None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = stack.backups
        target = settings.target
        # The repository's encryption key: without it no snapshot can be read. Derived from the
        # stack's master key, so a retained repository opens again after `pulumi destroy`.
        repository_password = credentials.derive(REPOSITORY_PASSWORD, 48)
        image = docker.RemoteImage(
            f"{stack.name}-backup-image", name=settings.image, keep_locally=True, opts=child
        ).image_id
        common_env = [f"FLASHDRIVE_STACK={stack.name}", pulumi.Output.concat("RESTIC_PASSWORD=", repository_password)]
        job_env: list = []
        prune_env: list = []
        self.server = self.repository = self.ledger = None

        if isinstance(target, RepositoryVolume):
            self.repository = retained_volume(
                f"{stack.name}-{target.volume}", {LABEL_STACK: stack.name, LABEL_ROLE: ROLE_BACKUPS}, self
            )
            self.network = docker.Network(
                f"{stack.name}-backup",
                name=f"{stack.name}-backup",
                driver="bridge",
                internal=True,
                labels=[
                    docker.NetworkLabelArgs(label=LABEL_STACK, value=stack.name),
                    docker.NetworkLabelArgs(label=LABEL_NETWORK, value="backup"),
                ],
                opts=child,
            )
            writer_password = credentials.derive("backups/writer-password")
            server_image = docker.RemoteImage(
                f"{stack.name}-backup-server-image", name=settings.server_image, keep_locally=True, opts=child
            ).image_id
            self.server = docker.Container(
                f"{stack.name}-backup-server",
                name=f"{stack.name}-backup-server",
                image=server_image,
                entrypoints=["/bin/sh", "-c"],
                # rclone reads --user and --pass from RCLONE_USER and RCLONE_PASS: the password stays
                # off the command line, which every process of the host can read.
                command=[f"exec rclone serve restic --append-only --addr 0.0.0.0:{SERVER_PORT} {REPOSITORY_DIR}"],
                envs=[
                    "RCLONE_USER=writer",
                    pulumi.Output.concat("RCLONE_PASS=", writer_password),
                    "RCLONE_CONFIG=/tmp/rclone.conf",
                    "XDG_CACHE_HOME=/tmp",
                ],
                networks_advanced=[
                    docker.ContainerNetworksAdvancedArgs(name=self.network.name, aliases=["backup-server"])
                ],
                volumes=[docker.ContainerVolumeArgs(volume_name=self.repository.name, container_path=REPOSITORY_DIR)],
                labels=labels(stack.name, role=ROLE_BACKUP_SERVER),
                # Nothing to write but the repository: a read-only root, and a small /tmp.
                read_only=True,
                tmpfs={"/tmp": "rw,noexec,nosuid,size=64m"},
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
                **hardened(size=SIZES["xs"]),
            )
            job_env.append(
                pulumi.Output.concat(
                    "RESTIC_REPOSITORY=rest:http://writer:", writer_password, f"@backup-server:{SERVER_PORT}/"
                )
            )
            prune_env.append(f"RESTIC_REPOSITORY={REPOSITORY_DIR}")
        elif isinstance(target, RepositoryS3):
            s3 = target
            url = f"RESTIC_REPOSITORY=s3:{s3.endpoint.rstrip('/')}/{s3.bucket}"
            access, secret = s3.prune_keys or (s3.access_key_config, s3.secret_key_config)
            job_env += [
                url,
                pulumi.Output.concat("AWS_ACCESS_KEY_ID=", config_value(s3.access_key_config)),
                pulumi.Output.concat("AWS_SECRET_ACCESS_KEY=", config_value(s3.secret_key_config)),
            ]
            prune_env += [
                url,
                pulumi.Output.concat("AWS_ACCESS_KEY_ID=", config_value(access)),
                pulumi.Output.concat("AWS_SECRET_ACCESS_KEY=", config_value(secret)),
            ]
        else:
            rest = target
            job_env.append(f"RESTIC_REPOSITORY=rest:{rest.url}")
            if rest.password_config is not None:
                job_env.append(pulumi.Output.concat("RESTIC_REST_PASSWORD=", config_value(rest.password_config)))
            if rest.prune is not None:
                prune_url, prune_password = rest.prune
                prune_env += [
                    f"RESTIC_REPOSITORY=rest:{prune_url}",
                    pulumi.Output.concat("RESTIC_REST_PASSWORD=", config_value(prune_password)),
                ]
            else:
                prune_env += job_env
        if self.repository is None:
            # A remote repository shows no receipt times: the prune job records when it first saw
            # each snapshot, on a volume no other container mounts.
            self.ledger = retained_volume(
                f"{stack.name}-backup-ledger", {LABEL_STACK: stack.name, LABEL_ROLE: ROLE_BACKUP_LEDGER}, self
            )
            # The prune job mounts the ledger; with a local repository, the repository it prunes.
            prune_volume = docker.ContainerVolumeArgs(
                volume_name=self.ledger.name, container_path=posixpath.dirname(LEDGER)
            )
        else:
            prune_volume = docker.ContainerVolumeArgs(volume_name=self.repository.name, container_path=REPOSITORY_DIR)

        scripts = [
            docker.ContainerUploadArgs(file="/flashdrive/backup.sh", content=backup_script(stack), executable=True),
            docker.ContainerUploadArgs(file=DRILL_SCRIPT, content=scheduled_drill_script(stack), executable=True),
            docker.ContainerUploadArgs(
                file="/flashdrive/crontabs/root",
                content=crontab(settings.schedule, "/flashdrive/backup.sh")
                + crontab(stack.backups.verify, DRILL_SCRIPT),
            ),
        ]
        job_networks = [docker.ContainerNetworksAdvancedArgs(name=network.internal.name)]
        if self.server is not None:
            job_networks.append(docker.ContainerNetworksAdvancedArgs(name=self.network.name))
        else:  # the way out, to an s3 or rest target
            job_networks.append(docker.ContainerNetworksAdvancedArgs(name=network.egress.name))
        self.job = docker.Container(
            f"{stack.name}-backup",
            name=f"{stack.name}-backup",
            image=image,
            entrypoints=["/bin/sh", "-c"],
            # The image carries its tools (restic, crond, the database clients): nothing is installed
            # at start, which would run code fetched from the internet with the job's credentials.
            command=[CROND],
            envs=common_env
            + job_env
            + [
                pulumi.Output.concat(f"{password_env(db.name)}=", databases[db.name].password)
                for db in sorted(stack.databases.values(), key=lambda d: d.name)
            ],
            networks_advanced=job_networks,
            volumes=[
                docker.ContainerVolumeArgs(
                    volume_name=disks[d.name].volume.name, container_path=f"/data/disks/{d.name}", read_only=True
                )
                for d in sorted(stack.disks, key=lambda d: d.name)
            ],
            uploads=scripts,
            labels=labels(stack.name, role=ROLE_BACKUP_JOB),
            opts=pulumi.ResourceOptions(
                parent=self,
                delete_before_replace=True,
                depends_on=([self.server] if self.server else []) + (depends_on or []),
            ),
            **hardened(size=SIZES["s"], add_capabilities=CRON_CAPABILITIES + READ_ALL_CAPABILITIES),
        )
        self.prune = docker.Container(
            f"{stack.name}-backup-prune",
            name=f"{stack.name}-backup-prune",
            image=image,
            entrypoints=["/bin/sh", "-c"],
            command=[CROND],
            envs=common_env + prune_env + [f"KEEP_DAYS={settings.keep_days}"],
            # A local repository needs no network; a remote one is reached through the way out.
            network_mode="none" if self.repository is not None else None,
            networks_advanced=None
            if self.repository is not None
            else [docker.ContainerNetworksAdvancedArgs(name=network.egress.name)],
            volumes=[prune_volume],
            uploads=[
                docker.ContainerUploadArgs(file="/flashdrive/prune.sh", content=prune_script(stack), executable=True),
                docker.ContainerUploadArgs(
                    file="/flashdrive/received.sh",
                    content=received_script(local=self.repository is not None),
                    executable=True,
                ),
                docker.ContainerUploadArgs(
                    file="/flashdrive/crontabs/root", content=crontab(PRUNE_SCHEDULE, "/flashdrive/prune.sh")
                ),
            ],
            labels=labels(stack.name, role=ROLE_BACKUP_PRUNE),
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True, depends_on=[self.job]),
            **hardened(size=SIZES["s"], add_capabilities=CRON_CAPABILITIES),
        )
        self.register_outputs(
            {
                "schedule": settings.schedule,
                "keep_days": settings.keep_days,
                "repository": self.repository.name if self.repository else None,
            }
        )
