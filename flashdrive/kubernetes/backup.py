"""flashdrive:kubernetes:Backups — restic backups of every disk and database of the stack, on the
spec's schedule, keeping `keep_days` days of history, append-only as on Docker.

Three pods, three privileges (a volume target):
- `backup-server` (Deployment + Service): `rclone serve restic --append-only` over the repository's
  retained claim, the only pod that mounts it besides the prune. Through it nobody can delete or
  rewrite a snapshot.
- `backup` (CronJob): one pod per run; init containers dump each database over the stack's network
  with the engine's own tool (from the database's image) into a scratch volume, a failed dump fails
  the pod before restic runs; then restic backs up the disks (mounted read-only) and the dumps
  through the server, with the writer's credentials. It never holds a right to delete.
- `backup-drill` (CronJob, on `backups.verify`): the restore drill (flashdrive.backup_drill) with the
  writer's credentials: restores the latest run's disks into scratch space and loads its dumps into
  scratch servers inside the backup image (no pod may start another), then stores its report.
- `backup-prune` (CronJob): mounts the repository claim read-write, no network at all (a
  NetworkPolicy denies every packet), and forgets what the repository received more than
  `keep_days` ago, judged by the snapshot files' times, which the writer cannot set (see
  flashdrive.backup_scripts); then checks the repository.
With an s3 or rest target the repository is remote: the backup job and the prune job get their own
credentials (`prune:` in the target), and the prune keeps a ledger of when it first saw each
snapshot on a small claim only it mounts.

The repository password and the writer's URL live in the `backup` Secret; each pod reads only the
keys it needs. Apps never see them.
"""

from __future__ import annotations

import posixpath

import pulumi
import pulumi_kubernetes as k8s

from flashdrive.backup_drill import DRILL_SCRIPT, SCRATCH_UID, drill_script, kubernetes_items
from flashdrive.backup_scripts import LEDGER, PRUNE_SCHEDULE, prune_script, received_script
from flashdrive.credentials import REPOSITORY_PASSWORD, Credentials
from flashdrive.endpoints import config_value
from flashdrive.engines import ENGINES
from flashdrive.kubernetes.database import KubernetesDatabase
from flashdrive.kubernetes.disk import KubernetesDisk, claim_spec
from flashdrive.kubernetes.hardening import (
    DATABASE_UID,
    colocated_with,
    container_security,
    labels,
    pod_defaults,
    pod_labels,
    pod_security,
    resources,
    selector,
)
from flashdrive.model.stack import RepositoryRest, RepositoryS3, RepositoryVolume, ResolvedDatabase, ResolvedStack
from flashdrive.spec.sizes import SIZES

BACKUP_ROOT = "/backup"
DUMPS = f"{BACKUP_ROOT}/databases"
REPOSITORY = "/repository"


def repository_claim_name(stack: str, volume: str) -> str:
    return f"{stack}-backup-{volume}"


def repository_size_gb(stack: ResolvedStack) -> int:
    """Twice what is backed up: room for the history of files that change, before deduplication."""
    return 2 * (sum(d.size_gb for d in stack.disks) + sum(db.data_gb for db in stack.databases.values()))


def dump_command(db: ResolvedDatabase, directory: str = DUMPS) -> str:
    """A shell script that writes the database's dump to <directory>/<name>.<ext>, or exits non-zero.

    Each tool writes its file itself (no pipe whose status could hide the tool's), into a partial
    file renamed only once the tool succeeded.
    """
    dump = ENGINES[db.engine].job_dump
    target = f"{directory}/{db.name}.{dump.extension}"
    partial = f"{target}.partial"
    tool = dump.command.format(host=db.name, port=db.port, user=db.user, name=db.database, file=partial)
    return f"set -eu\n{tool}\nmv {partial} {target}"


def dump_env(db: ResolvedDatabase, secret: pulumi.Input[str]) -> list[dict]:
    variable = ENGINES[db.engine].job_password_env
    return [{"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": "password"}}}]


SERVER_PORT = 8000
# A run that has not ended long before the next is due is stuck (a hung dump, a lock): stopped, so
# the next run can start and the failure shows in the job's history.
BACKUP_DEADLINE_SECONDS = 20 * 3600
PRUNE_DEADLINE_SECONDS = 12 * 3600
DRILL_DEADLINE_SECONDS = 12 * 3600
# restic exits 3 when the snapshot was written but some files could not be read (removed or
# unreadable while it ran): the rest is stored, so a warning, not a failed run.
RESTIC_INCOMPLETE = 3


def restic_script(stack: str) -> str:
    # A fixed --host: pods get a new name every run, and restic groups snapshots (for the parent
    # snapshot) by host; per-pod hosts would also make every run a full read.
    return "\n".join(
        [
            "set -u",
            # A repository that cannot be opened is initialised; a wrong password makes init fail too.
            "restic cat config >/dev/null 2>&1 || restic init || exit 1",
            # lost+found is the file system's, not the app's: root-only, it would make every run incomplete.
            f"restic backup --host {stack} --tag flashdrive --exclude '{BACKUP_ROOT}/disks/*/lost+found' {BACKUP_ROOT}",
            "status=$?",
            f'if [ "$status" -eq {RESTIC_INCOMPLETE} ]; then',
            '  echo "flashdrive-backup: WARNING: some files could not be read (see above); the rest is stored" >&2',
            "  exit 0",
            "fi",
            'exit "$status"',
        ]
    )


def _secret_env(secret_name: pulumi.Input[str], keys: list[str]) -> list[dict]:
    return [{"name": key, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}} for key in keys]


class KubernetesBackups(pulumi.ComponentResource):
    def __init__(
        self,
        stack: ResolvedStack,
        namespace: pulumi.Input[str],
        disks: dict[str, KubernetesDisk],
        databases: dict[str, KubernetesDatabase],
        storage_class: str | None,
        pull_secrets: tuple[str, ...] = (),
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("flashdrive:kubernetes:Backups", f"{stack.name}-backups", None, opts)
        self.pull_secrets = pull_secrets
        backups = stack.backups
        # The password is the only key to the repository: deleting it would make every backup
        # unreadable, so the Secret stays when the stack goes, like the repository itself.
        kept = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        # From the stack's master key, so a retained repository opens again after `pulumi destroy`.
        secret_data: dict = {"RESTIC_PASSWORD": Credentials(stack.name).derive(REPOSITORY_PASSWORD, 48)}
        job_keys, prune_keys, server_keys = ["RESTIC_PASSWORD"], ["RESTIC_PASSWORD"], []
        job_env: list[dict] = []
        prune_env: list[dict] = []
        target = backups.target
        self.repository = self.server = self.ledger = None
        remote = not isinstance(target, RepositoryVolume)
        if isinstance(target, RepositoryVolume):
            self.repository = k8s.core.v1.PersistentVolumeClaim(
                repository_claim_name(stack.name, target.volume),
                metadata={
                    "name": repository_claim_name(stack.name, target.volume),
                    "namespace": namespace,
                    "labels": labels(stack.name, target.volume, "backup"),
                },
                spec=claim_spec(max(1, repository_size_gb(stack)), "ReadWriteOnce", storage_class),
                opts=kept,
            )
            writer = Credentials(stack.name).derive("backups/writer-password")
            secret_data["RCLONE_PASS"] = writer
            secret_data["RESTIC_REPOSITORY"] = pulumi.Output.concat(
                "rest:http://writer:", writer, f"@backup-server:{SERVER_PORT}/"
            )
            job_keys.append("RESTIC_REPOSITORY")
            server_keys.append("RCLONE_PASS")
            prune_env.append({"name": "RESTIC_REPOSITORY", "value": REPOSITORY})
        elif isinstance(target, RepositoryS3):
            s3 = target
            url = {"name": "RESTIC_REPOSITORY", "value": f"s3:{s3.endpoint.rstrip('/')}/{s3.bucket}"}
            job_env.append(url)
            prune_env.append(url)
            secret_data["AWS_ACCESS_KEY_ID"] = config_value(s3.access_key_config)
            secret_data["AWS_SECRET_ACCESS_KEY"] = config_value(s3.secret_key_config)
            job_keys += ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
            if s3.prune_keys is not None:
                secret_data["PRUNE_AWS_ACCESS_KEY_ID"] = config_value(s3.prune_keys[0])
                secret_data["PRUNE_AWS_SECRET_ACCESS_KEY"] = config_value(s3.prune_keys[1])
                prune_env += [
                    {"name": key.removeprefix("PRUNE_"), "valueFrom": {"secretKeyRef": {"name": "backup", "key": key}}}
                    for key in ("PRUNE_AWS_ACCESS_KEY_ID", "PRUNE_AWS_SECRET_ACCESS_KEY")
                ]
            else:
                prune_keys += ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
        elif isinstance(target, RepositoryRest):
            rest = target

            def rest_url(url: str, password_config: str) -> pulumi.Input[str]:
                # Older restic takes REST credentials only inside the URL, so the whole URL is secret.
                scheme, _, rest_of_url = url.partition("://")
                return pulumi.Output.concat(
                    f"rest:{scheme}://{stack.name}:", config_value(password_config), f"@{rest_of_url}"
                )

            if rest.password_config is not None:
                secret_data["RESTIC_REPOSITORY"] = rest_url(rest.url, rest.password_config)
                job_keys.append("RESTIC_REPOSITORY")
            else:
                job_env.append({"name": "RESTIC_REPOSITORY", "value": f"rest:{rest.url}"})
            if rest.prune is not None:
                secret_data["PRUNE_RESTIC_REPOSITORY"] = rest_url(*rest.prune)
                prune_env.append(
                    {
                        "name": "RESTIC_REPOSITORY",
                        "valueFrom": {"secretKeyRef": {"name": "backup", "key": "PRUNE_RESTIC_REPOSITORY"}},
                    }
                )
            elif rest.password_config is not None:
                prune_keys.append("RESTIC_REPOSITORY")
            else:
                prune_env.append({"name": "RESTIC_REPOSITORY", "value": f"rest:{rest.url}"})
        self.secret = k8s.core.v1.Secret(
            f"{stack.name}-backup",
            metadata={"name": "backup", "namespace": namespace, "labels": labels(stack.name, "backup", "backup")},
            type="Opaque",
            string_data=secret_data,
            opts=kept,
        )
        secret_name = self.secret.metadata.name
        cache = [{"name": "RESTIC_CACHE_DIR", "value": "/cache"}]
        job_env = _secret_env(secret_name, job_keys) + job_env + cache
        prune_env = _secret_env(secret_name, prune_keys) + prune_env + cache

        if self.repository is not None:
            self.server = self._server(stack, namespace, secret_name, server_keys, backups.server_image)

        volumes: list[dict] = [{"name": "dumps", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}]
        mounts: list[dict] = [{"name": "dumps", "mountPath": DUMPS}, {"name": "cache", "mountPath": "/cache"}]
        for disk in stack.disks:
            volumes.append(
                {
                    "name": f"disk-{disk.name}",
                    "persistentVolumeClaim": {"claimName": disks[disk.name].name, "readOnly": True},
                }
            )
            mounts.append(
                {"name": f"disk-{disk.name}", "mountPath": f"{BACKUP_ROOT}/disks/{disk.name}", "readOnly": True}
            )
        dumps = [
            {
                "name": f"dump-{db.name}",
                "image": db.image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", dump_command(db)],
                "env": dump_env(db, databases[db.name].secret_name),
                "resources": resources(SIZES["s"]),
                "securityContext": container_security(DATABASE_UID),
                "volumeMounts": [{"name": "dumps", "mountPath": DUMPS}],
            }
            for db in stack.databases.values()
        ]
        restic = {
            "name": "restic",
            "image": backups.image,
            "imagePullPolicy": "IfNotPresent",
            # The image's entrypoint is restic itself; the script runs several restic commands.
            "command": ["/bin/sh", "-c", restic_script(stack.name)],
            "env": job_env,
            "resources": resources(SIZES["s"]),
            "securityContext": container_security(stack.app_uid),
            "volumeMounts": mounts,
        }
        pod_spec: dict = {
            **pod_defaults(self.pull_secrets),
            "restartPolicy": "Never",
            # The apps' group: the disks' files are readable.
            "securityContext": pod_security(run_as_user=stack.app_uid, fs_group=stack.app_uid),
            "initContainers": dumps,
            "containers": [restic],
            "volumes": volumes,
        }
        pinned = [d.app for d in stack.disks if not disks[d.name].shared]
        affinity = colocated_with(sorted(set(pinned)))
        if affinity:
            pod_spec["affinity"] = affinity
        self.cron_job = k8s.batch.v1.CronJob(
            f"{stack.name}-backup",
            metadata={"name": "backup", "namespace": namespace, "labels": labels(stack.name, "backup", "backup")},
            spec={
                "schedule": backups.schedule,
                # A run still going when the next is due is left to finish; two would fight for restic's lock.
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {
                    "spec": {
                        "backoffLimit": 1,
                        "activeDeadlineSeconds": BACKUP_DEADLINE_SECONDS,
                        "template": {
                            "metadata": {"labels": pod_labels(stack.name, "backup", "backup", egress=remote)},
                            "spec": pod_spec,
                        },
                    }
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.server] if self.server else []),
        )
        self.prune = self._prune(stack, namespace, prune_env, remote, storage_class, kept)
        self.drill = self._drill(stack, namespace, job_env, remote)
        self.register_outputs(
            {
                "schedule": backups.schedule,
                "keep_days": backups.keep_days,
                "repository": self.repository.metadata.name if self.repository else None,
            }
        )

    def _server(self, stack: ResolvedStack, namespace, secret_name, keys: list[str], image: str):
        """The append-only server in front of the repository claim, reachable as backup-server:8000."""
        child = pulumi.ResourceOptions(parent=self)
        server_labels = pod_labels(stack.name, "backup-server", "backup", egress=False)
        assert self.repository is not None  # the server exists only in front of a repository claim
        container = {
            "name": "rclone",
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            # --user and --pass come from RCLONE_USER and RCLONE_PASS, never the command line.
            "command": ["rclone", "serve", "restic", "--append-only", "--addr", f"0.0.0.0:{SERVER_PORT}", REPOSITORY],
            "env": [
                {"name": "RCLONE_USER", "value": "writer"},
                *_secret_env(secret_name, keys),
                {"name": "RCLONE_CONFIG", "value": "/tmp/rclone.conf"},
            ],
            "ports": [{"containerPort": SERVER_PORT, "name": "restic"}],
            "readinessProbe": {"tcpSocket": {"port": SERVER_PORT}, "periodSeconds": 5},
            "resources": resources(SIZES["xs"]),
            "securityContext": {**container_security(stack.app_uid), "readOnlyRootFilesystem": True},
            "volumeMounts": [{"name": "repository", "mountPath": REPOSITORY}, {"name": "tmp", "mountPath": "/tmp"}],
        }
        deployment = k8s.apps.v1.Deployment(
            f"{stack.name}-backup-server",
            metadata={
                "name": "backup-server",
                "namespace": namespace,
                "labels": labels(stack.name, "backup-server", "backup"),
            },
            spec={
                "replicas": 1,
                # The claim is ReadWriteOnce: the old pod lets go before the new one mounts it.
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": selector("backup-server", "backup")},
                "template": {
                    "metadata": {"labels": server_labels},
                    "spec": {
                        **pod_defaults(self.pull_secrets),
                        "securityContext": pod_security(run_as_user=stack.app_uid, fs_group=stack.app_uid),
                        "containers": [container],
                        "volumes": [
                            {
                                "name": "repository",
                                "persistentVolumeClaim": {"claimName": self.repository.metadata.name},
                            },
                            {"name": "tmp", "emptyDir": {}},
                        ],
                    },
                },
            },
            opts=child,
        )
        k8s.core.v1.Service(
            f"{stack.name}-backup-server",
            metadata={
                "name": "backup-server",
                "namespace": namespace,
                "labels": labels(stack.name, "backup-server", "backup"),
            },
            spec={
                "selector": selector("backup-server", "backup"),
                "ports": [{"port": SERVER_PORT, "targetPort": SERVER_PORT, "name": "restic"}],
            },
            opts=child,
        )
        return deployment

    def _prune(self, stack: ResolvedStack, namespace, env: list[dict], remote: bool, storage_class, kept):
        """The only pod that may delete: forgets by received time, then checks the repository."""
        child = pulumi.ResourceOptions(parent=self)
        scripts = k8s.core.v1.ConfigMap(
            f"{stack.name}-backup-prune",
            metadata={
                "name": "backup-prune",
                "namespace": namespace,
                "labels": labels(stack.name, "backup-prune", "backup"),
            },
            data={"prune.sh": prune_script(stack), "received.sh": received_script(local=not remote)},
            opts=child,
        )
        volumes: list[dict] = [
            {"name": "scripts", "configMap": {"name": scripts.metadata.name, "defaultMode": 0o555}},
            {"name": "cache", "emptyDir": {}},
            {"name": "tmp", "emptyDir": {}},
        ]
        mounts: list[dict] = [
            {"name": "scripts", "mountPath": "/flashdrive", "readOnly": True},
            {"name": "cache", "mountPath": "/cache"},
            {"name": "tmp", "mountPath": "/tmp"},
        ]
        if remote:
            ledger = self.ledger = k8s.core.v1.PersistentVolumeClaim(
                f"{stack.name}-backup-ledger",
                metadata={
                    "name": "backup-ledger",
                    "namespace": namespace,
                    "labels": labels(stack.name, "backup-ledger", "backup"),
                },
                spec=claim_spec(1, "ReadWriteOnce", storage_class),
                opts=kept,
            )
            volumes.append({"name": "ledger", "persistentVolumeClaim": {"claimName": ledger.metadata.name}})
            mounts.append({"name": "ledger", "mountPath": posixpath.dirname(LEDGER)})
        else:
            assert self.repository is not None  # a volume target: its claim was made first
            volumes.append(
                {"name": "repository", "persistentVolumeClaim": {"claimName": self.repository.metadata.name}}
            )
            mounts.append({"name": "repository", "mountPath": REPOSITORY})
        pod_spec: dict = {
            **pod_defaults(self.pull_secrets),
            "restartPolicy": "Never",
            "securityContext": pod_security(run_as_user=stack.app_uid, fs_group=stack.app_uid),
            "containers": [
                {
                    "name": "prune",
                    "image": stack.backups.image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["/bin/sh", "/flashdrive/prune.sh"],
                    # The script has keep_days written in; this copy tells whoever reads the manifest.
                    "env": env + [{"name": "KEEP_DAYS", "value": str(stack.backups.keep_days)}],
                    "resources": resources(SIZES["s"]),
                    "securityContext": {**container_security(stack.app_uid), "readOnlyRootFilesystem": True},
                    "volumeMounts": mounts,
                }
            ],
            "volumes": volumes,
        }
        if not remote:
            # The claim is ReadWriteOnce: the prune runs on the server's node.
            pod_spec["affinity"] = colocated_with(["backup-server"])
            # No network at all: nothing the prune does needs one, and nothing can reach it.
            k8s.networking.v1.NetworkPolicy(
                f"{stack.name}-backup-prune-no-network",
                metadata={
                    "name": "backup-prune-no-network",
                    "namespace": namespace,
                    "labels": labels(stack.name, "backup-prune-no-network", "network"),
                },
                spec={
                    "podSelector": {"matchLabels": selector("backup-prune", "backup")},
                    "policyTypes": ["Ingress", "Egress"],
                },
                opts=child,
            )
        return self._after_backup_job(
            stack.name,
            "backup-prune",
            namespace,
            PRUNE_SCHEDULE,
            pod_spec,
            remote,
            backoff_limit=1,
            deadline_s=PRUNE_DEADLINE_SECONDS,
        )

    def _drill(self, stack: ResolvedStack, namespace, env: list[dict], remote: bool):
        """The restore drill: reads through the same server and credentials as the backup job."""
        child = pulumi.ResourceOptions(parent=self)
        disks, databases = kubernetes_items(stack, f"{BACKUP_ROOT}/disks", DUMPS)
        scripts = k8s.core.v1.ConfigMap(
            f"{stack.name}-backup-drill",
            metadata={
                "name": "backup-drill",
                "namespace": namespace,
                "labels": labels(stack.name, "backup-drill", "backup"),
            },
            data={"drill.sh": drill_script(stack.name, disks, databases)},
            opts=child,
        )
        pod_spec: dict = {
            **pod_defaults(self.pull_secrets),
            "restartPolicy": "Never",
            # nobody: the scratch servers need a user the image's /etc/passwd knows (initdb refuses
            # one it does not), and refuse root. The stack's group, as every pod's (it mounts no disk).
            "securityContext": pod_security(run_as_user=SCRATCH_UID, fs_group=stack.app_uid),
            "containers": [
                {
                    "name": "drill",
                    "image": stack.backups.image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["/bin/sh", DRILL_SCRIPT],
                    "env": env,
                    "resources": resources(SIZES["s"]),
                    # Restores, dumps and the scratch servers' data go to /tmp, nothing else is written.
                    "securityContext": {**container_security(SCRATCH_UID), "readOnlyRootFilesystem": True},
                    "volumeMounts": [
                        {"name": "scripts", "mountPath": posixpath.dirname(DRILL_SCRIPT), "readOnly": True},
                        {"name": "cache", "mountPath": "/cache"},
                        {"name": "tmp", "mountPath": "/tmp"},
                    ],
                }
            ],
            "volumes": [
                {"name": "scripts", "configMap": {"name": scripts.metadata.name, "defaultMode": 0o555}},
                {"name": "cache", "emptyDir": {}},
                {"name": "tmp", "emptyDir": {}},
            ],
        }
        # A failed drill is a finding, not a flake: never run again until the next schedule.
        return self._after_backup_job(
            stack.name,
            "backup-drill",
            namespace,
            stack.backups.verify,
            pod_spec,
            remote,
            backoff_limit=0,
            deadline_s=DRILL_DEADLINE_SECONDS,
        )

    def _after_backup_job(
        self,
        stack: str,
        name: str,
        namespace,
        schedule: str,
        pod_spec: dict,
        remote: bool,
        *,
        backoff_limit: int,
        deadline_s: int,
    ):
        """A CronJob of the backup component besides the backup itself (prune, drill): one run at a
        time, the last three runs kept, created after the backup job."""
        return k8s.batch.v1.CronJob(
            f"{stack}-{name}",
            metadata={"name": name, "namespace": namespace, "labels": labels(stack, name, "backup")},
            spec={
                "schedule": schedule,
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {
                    "spec": {
                        "backoffLimit": backoff_limit,
                        "activeDeadlineSeconds": deadline_s,
                        "template": {
                            "metadata": {"labels": pod_labels(stack, name, "backup", egress=remote)},
                            "spec": pod_spec,
                        },
                    }
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cron_job]),
        )
