"""flashdrive:kubernetes:Backups — a CronJob that backs up every disk and database of the stack with
restic, on the spec's schedule, keeping `keep_days` days of history.

Isolation: the repository (its own retained claim for a volume target) and its password Secret are
mounted and read by the backup pods only; apps never see them, so a compromised app can neither
read nor delete history. Disks are mounted read-only.

One pod per run: init containers dump each database over the stack's network with the engine's
own tool (from the database's image) into a scratch volume; a failed dump fails the pod before
restic runs, so a run never records a half dump as a success. Then restic backs up the disks and
the dumps, and forgets snapshots older than `keep_days`.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from flashdrive.buildpack.dockerfile import APP_UID
from flashdrive.endpoints import config_value
from flashdrive.kubernetes.database import Database
from flashdrive.kubernetes.disk import Disk, claim_spec
from flashdrive.kubernetes.hardening import (DATABASE_UID, colocated_with, container_security, labels, pod_defaults,
                                             pod_labels, pod_security, resources)
from flashdrive.model.stack import ResolvedDatabase, ResolvedStack
from flashdrive.spec.model import RestTarget, S3Target, VolumeTarget
from flashdrive.spec.sizes import SIZES

BACKUP_ROOT = "/backup"
DUMPS = f"{BACKUP_ROOT}/databases"
REPOSITORY = "/repository"
DUMP_EXTENSIONS = {"postgres": "pgdump", "mysql": "sql", "mongodb": "archive.gz", "redis": "rdb"}


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
    target = f"{directory}/{db.name}.{DUMP_EXTENSIONS[db.engine]}"
    partial = f"{target}.partial"
    tool = {
        "postgres": f"pg_dump -h {db.name} -p {db.port} -U {db.user} -d {db.database} --format=custom "
                    f"--file={partial}",
        "mysql": f"mysqldump --single-transaction --routines --triggers --no-tablespaces -h {db.name} "
                 f"-P {db.port} -u {db.user} --result-file={partial} {db.database}",
        # mongodump reads the password from a config file, so it is on no command line.
        "mongodb": f"umask 077 && printf 'password: \"%s\"\\n' \"$DB_PASSWORD\" > /tmp/mongodump.yaml && "
                   f"mongodump --config=/tmp/mongodump.yaml --host={db.name} --port={db.port} "
                   f"--username={db.user} --authenticationDatabase=admin --db={db.database} --gzip "
                   f"--archive={partial}",
        # --rdb makes the server write a snapshot in the background (as BGSAVE does) and streams it here.
        "redis": f"redis-cli -h {db.name} -p {db.port} --rdb {partial}",
    }[db.engine]
    return f"set -eu\n{tool}\nmv {partial} {target}"


def _dump_env(db: ResolvedDatabase, secret: pulumi.Input[str]) -> list[dict]:
    variable = {"postgres": "PGPASSWORD", "mysql": "MYSQL_PWD", "mongodb": "DB_PASSWORD",
                "redis": "REDISCLI_AUTH"}[db.engine]
    return [{"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": "password"}}}]


def restic_script(stack: str, keep_days: int) -> str:
    # A fixed --host: pods get a new name every run, and restic groups snapshots (for the parent
    # snapshot and for forget) by host; per-pod hosts would keep every snapshot forever.
    return "\n".join([
        "set -eu",
        # A repository that cannot be opened is initialised; a wrong password makes init fail too.
        "restic cat config >/dev/null 2>&1 || restic init",
        f"restic backup --host {stack} --tag flashdrive {BACKUP_ROOT}",
        f"restic forget --host {stack} --tag flashdrive --keep-within-daily {keep_days}d --prune",
    ])


class Backups(pulumi.ComponentResource):
    def __init__(self, stack: ResolvedStack, namespace: pulumi.Input[str], disks: dict[str, Disk],
                 databases: dict[str, Database], storage_class: str | None,
                 pull_secrets: tuple[str, ...] = (), opts: pulumi.ResourceOptions | None = None):
        super().__init__("flashdrive:kubernetes:Backups", f"{stack.name}-backups", None, opts)
        backups = stack.backups
        # The password is the only key to the repository: deleting it would make every backup
        # unreadable, so the Secret stays when the stack goes, like the repository itself.
        kept = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        child = pulumi.ResourceOptions(parent=self)
        password = random.RandomPassword(f"{stack.name}-backup-password", length=48, special=False, opts=child)
        secret_data: dict = {"RESTIC_PASSWORD": password.result}
        env: list[dict] = []
        volumes: list[dict] = [{"name": "dumps", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}]
        mounts: list[dict] = [{"name": "dumps", "mountPath": DUMPS}, {"name": "cache", "mountPath": "/cache"}]
        target = backups.settings.target
        self.repository = None
        if isinstance(target, VolumeTarget):
            self.repository = k8s.core.v1.PersistentVolumeClaim(
                repository_claim_name(stack.name, target.volume),
                metadata={"name": repository_claim_name(stack.name, target.volume), "namespace": namespace,
                          "labels": labels(stack.name, target.volume, "backup")},
                spec=claim_spec(max(1, repository_size_gb(stack)), "ReadWriteOnce", storage_class),
                opts=kept)
            env.append({"name": "RESTIC_REPOSITORY", "value": REPOSITORY})
            volumes.append({"name": "repository",
                            "persistentVolumeClaim": {"claimName": self.repository.metadata.name}})
            mounts.append({"name": "repository", "mountPath": REPOSITORY})
        elif isinstance(target, S3Target):
            s3 = target.s3
            env.append({"name": "RESTIC_REPOSITORY", "value": f"s3:{s3.endpoint.rstrip('/')}/{s3.bucket}"})
            secret_data["AWS_ACCESS_KEY_ID"] = config_value(s3.access_key.config)
            secret_data["AWS_SECRET_ACCESS_KEY"] = config_value(s3.secret_key.config)
        elif isinstance(target, RestTarget):
            rest = target.rest
            if rest.password is not None:
                # Older restic takes REST credentials only inside the URL, so the whole URL is secret.
                scheme, _, rest_of_url = rest.url.partition("://")
                secret_data["RESTIC_REPOSITORY"] = pulumi.Output.concat(
                    f"rest:{scheme}://{stack.name}:", config_value(rest.password.config), f"@{rest_of_url}")
            else:
                env.append({"name": "RESTIC_REPOSITORY", "value": f"rest:{rest.url}"})
        self.secret = k8s.core.v1.Secret(
            f"{stack.name}-backup",
            metadata={"name": "backup", "namespace": namespace, "labels": labels(stack.name, "backup", "backup")},
            type="Opaque", string_data=secret_data, opts=kept)
        secret_name = self.secret.metadata.name
        env += [{"name": key, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}
                for key in sorted(secret_data)]
        env += [{"name": "RESTIC_CACHE_DIR", "value": "/cache"}]

        for disk in stack.disks:
            volumes.append({"name": f"disk-{disk.name}", "persistentVolumeClaim": {
                "claimName": disks[disk.name].name, "readOnly": True}})
            mounts.append({"name": f"disk-{disk.name}", "mountPath": f"{BACKUP_ROOT}/disks/{disk.name}",
                           "readOnly": True})
        dumps = [{
            "name": f"dump-{db.name}",
            "image": db.image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["sh", "-c", dump_command(db)],
            "env": _dump_env(db, databases[db.name].secret_name),
            "resources": resources(SIZES["s"]),
            "securityContext": container_security(DATABASE_UID),
            "volumeMounts": [{"name": "dumps", "mountPath": DUMPS}],
        } for db in stack.databases.values()]
        restic = {
            "name": "restic",
            "image": backups.image,
            "imagePullPolicy": "IfNotPresent",
            # The image's entrypoint is restic itself; the script runs several restic commands.
            "command": ["/bin/sh", "-c", restic_script(stack.name, backups.keep_days)],
            "env": env,
            "resources": resources(SIZES["s"]),
            "securityContext": container_security(APP_UID),
            "volumeMounts": mounts,
        }
        pod_spec: dict = {
            **pod_defaults(pull_secrets),
            "restartPolicy": "Never",
            # The apps' group: the disks' files are readable, the repository claim writable.
            "securityContext": pod_security(run_as_user=APP_UID, fs_group=APP_UID),
            "initContainers": dumps,
            "containers": [restic],
            "volumes": volumes,
        }
        pinned = [d.app for d in stack.disks if not disks[d.name].shared]
        affinity = colocated_with(sorted(set(pinned)))
        if affinity:
            pod_spec["affinity"] = affinity
        remote = not isinstance(target, VolumeTarget)
        self.cron_job = k8s.batch.v1.CronJob(
            f"{stack.name}-backup",
            metadata={"name": "backup", "namespace": namespace, "labels": labels(stack.name, "backup", "backup")},
            spec={
                "schedule": backups.schedule,
                # A run still going when the next is due is left to finish; two would fight for restic's lock.
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {"spec": {
                    "backoffLimit": 1,
                    "template": {"metadata": {"labels": pod_labels(stack.name, "backup", "backup", egress=remote)},
                                 "spec": pod_spec}}},
            },
            opts=child)
        self.register_outputs({"schedule": backups.schedule, "keep_days": backups.keep_days,
                               "repository": self.repository.metadata.name if self.repository else None})
