"""`flashdrive backup list|run|restore` for a stack deployed on this Docker host.

Talks to the Docker Engine through the Docker SDK, the client `flashdrive ps|logs|run|exec|restart`
use too (DOCKER_HOST honoured), and runs restic inside the stack's backup containers, with the
credentials the deploy gave them — the operator never handles the repository password.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from msgspec import Struct

from flashdrive.backup_scripts import (
    CLAIM_AHEAD_SECONDS,
    CLAIM_BEHIND_SECONDS,
    DISKS_DIR,
    dump_file,
    password_env,
    restic_found_no_repository,
)
from flashdrive.engines import ENGINES
from flashdrive.labels import LABEL_APP, LABEL_DATABASE, LABEL_ENGINE, LABEL_ROLE, LABEL_STACK
from flashdrive.operations.engine import OperationError, connect
from flashdrive.problems import FlashdriveError, InputError, Problem


class BackupError(FlashdriveError):
    """A one-line explanation for the operator; the CLI prints it and exits 1."""


@functools.cache
def _client() -> Any:
    try:
        return connect()
    except OperationError as exc:
        raise BackupError(str(exc)) from None


def _container(name: str) -> Any | None:
    from docker.errors import NotFound

    try:
        return _client().containers.get(name)
    except NotFound:
        return None


def _exec(container: str, *command: str, check: bool = True) -> subprocess.CompletedProcess:
    """`command` in a running container: its exit code and output, as a finished process.

    A container that is missing or stopped fails like `docker exec` does (125), for `check` to judge.
    """
    from docker.errors import APIError

    try:
        result = _client().containers.get(container).exec_run(list(command), demux=True)
        out, err = result.output or (None, None)
        done = subprocess.CompletedProcess(list(command), result.exit_code, out or b"", err or b"")
    except APIError as exc:  # NotFound included
        done = subprocess.CompletedProcess(list(command), 125, b"", str(exc.explanation or exc).encode())
    if check and done.returncode != 0:
        raise BackupError(f"{command[0]} in {container} failed: {done.stderr.decode(errors='replace').strip()[-1500:]}")
    return done


class Snapshot(Struct):
    id: str
    time: str
    tags: dict[str, str]
    received: datetime.datetime | None = None  # when the repository received it (trusted)
    claimed: datetime.datetime | None = None  # the time written into it by the client (not trusted)

    @property
    def forged(self) -> bool:
        """The claimed time is far from the received one: someone wrote it with restic --time."""
        if self.received is None or self.claimed is None:
            return False
        ahead = (self.claimed - self.received).total_seconds()
        return ahead > CLAIM_AHEAD_SECONDS or -ahead > CLAIM_BEHIND_SECONDS

    @property
    def what(self) -> str:
        for kind in ("disk", "database", "status", "drill"):
            if kind in self.tags:
                return f"{kind}:{self.tags[kind]}"
        return "?"


class DeployedStack:
    """The backup containers of one deployed stack."""

    def __init__(self, stack: str):
        self.stack = stack
        self.job = f"{stack}-backup"
        found = _container(self.job)
        if found is None:
            raise BackupError(
                f"stack '{stack}' has no backup job on this Docker host (no container {self.job}): "
                "deploy it with `pulumi up`, check the stack name, or enable backups in the spec"
            )
        self.inspect = found.attrs
        if not self.inspect["State"]["Running"]:
            raise BackupError(f"the backup job {self.job} is not running: start it with `docker start {self.job}`")
        self.env = dict(item.split("=", 1) for item in self.inspect["Config"]["Env"])

    def restic(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return _exec(self.job, "restic", *args, check=check)

    def snapshots(self) -> list[Snapshot]:
        result = self.restic("snapshots", "--json", "--host", self.stack, check=False)
        if result.returncode != 0:
            message = result.stderr.decode(errors="replace")
            if restic_found_no_repository(result.returncode, message):
                return []
            raise BackupError(f"restic could not list snapshots: {message.strip()[-800:]}")
        received = self.received()
        found = []
        for item in json.loads(result.stdout or b"[]") or []:
            tags = dict(tag.split("=", 1) for tag in item.get("tags") or [] if "=" in tag)
            found.append(
                Snapshot(
                    item["short_id"] if "short_id" in item else item["id"][:8],
                    item["time"][:19],
                    tags,
                    received.get(item["id"]),
                    _claimed_time(item["time"]),
                )
            )
        # Newest last by the time the repository received them: a claimed time can be forged.
        return sorted(
            found, key=lambda s: (s.received or datetime.datetime.max.replace(tzinfo=datetime.timezone.utc), s.time)
        )

    def received(self) -> dict[str, datetime.datetime]:
        """When the repository received each snapshot, from the prune job (the only one that can tell)."""
        result = _exec(f"{self.stack}-backup-prune", "/flashdrive/received.sh", check=False)
        if result.returncode != 0:
            return {}
        times = {}
        for line in result.stdout.decode(errors="replace").splitlines():
            snapshot, _, seconds = line.partition(" ")
            if seconds.strip().isdigit():
                times[snapshot] = datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc)
        return times

    def latest(self, what: str) -> Snapshot:
        matching = [s for s in self.snapshots() if s.what == what]
        if not matching:
            raise BackupError(f"no snapshot of {what} yet: run `flashdrive backup run --deployed {self.stack}` first")
        return matching[-1]


def _claimed_time(text: str) -> datetime.datetime | None:
    """restic's RFC 3339 time, with up to nanoseconds, which fromisoformat does not take."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)$", text)
    if not match:
        return None
    moment = datetime.datetime.fromisoformat(match.group(1) + match.group(2).replace("Z", "+00:00"))
    return moment.astimezone(datetime.timezone.utc)


def list_backups(stack: str) -> str:
    deployed = DeployedStack(stack)
    snapshots = deployed.snapshots()
    if not snapshots:
        return f"stack '{stack}': no backups yet (schedule in the spec; `flashdrive backup run` makes one now)\n"
    runs: dict[str, list[Snapshot]] = {}
    for snapshot in snapshots:
        if "drill" not in snapshot.tags:  # a drill's report: shown below, not a backup run
            runs.setdefault(snapshot.tags.get("run", "?"), []).append(snapshot)
    lines = [
        f"Backups of stack '{stack}' (newest last):",
        "",
        f"{'run':<18} {'status':<8} {'snapshot':<10} {'received':<17} what",
    ]
    for run, items in runs.items():
        status = next((s.tags["status"] for s in items if "status" in s.tags), "running?")
        for item in items:
            if "status" in item.tags:
                continue
            received = f"{item.received:%Y-%m-%d %H:%M}" if item.received else "?"
            flag = f"  FORGED? claims {item.claimed:%Y-%m-%d %H:%M}" if item.forged else ""
            lines.append(
                f"{run:<18} {status.upper() if status == 'failed' else status:<8} {item.id:<10} "
                f"{received:<17} {item.what}{flag}"
            )
        if all("status" in item.tags for item in items):
            lines.append(f"{run:<18} {status.upper() if status == 'failed' else status:<8} {'-':<10} (nothing stored)")
    lines += ["", last_drill(deployed, [s for s in snapshots if "drill" in s.tags])]
    failed = [run for run, items in runs.items() if any(s.tags.get("status") == "failed" for s in items)]
    if failed:
        lines += ["", f"{len(failed)} run(s) FAILED: see `docker logs {deployed.job}` for why."]
    forged = [s for s in snapshots if s.forged]
    if forged:
        lines += [
            "",
            f"{len(forged)} snapshot(s) claim a time far from when the repository received them "
            f"({', '.join(s.id for s in forged[:10])}{'...' if len(forged) > 10 else ''}): someone holding the "
            "backup job's credentials wrote them with a chosen time. The prune judges by the received time, "
            "so they push no real snapshot out; rotate the stack's credentials and look for who wrote them.",
        ]
    return "\n".join(lines) + "\n"


def last_drill(deployed: DeployedStack, drills: list[Snapshot]) -> str:
    """The last restore drill's result, from the report it stored (flashdrive.backup_drill)."""
    from flashdrive.backup_drill import parse_report

    if not drills:
        return (
            "Last restore drill: none yet (the backup job runs one on backups.verify, weekly by default; "
            f"`flashdrive backup verify --deployed {deployed.stack}` runs one now)"
        )
    drill = drills[-1]
    when = f"{drill.received:%Y-%m-%d %H:%M}" if drill.received else drill.time.replace("T", " ")[:16]
    report = deployed.restic("dump", drill.id, "/drill", check=False)
    items = parse_report(report.stdout.decode(errors="replace")) if report.returncode == 0 else []
    if not items:
        return f"Last restore drill: {when} ({drill.id}): {drill.tags['drill'].upper()}, its report cannot be read"
    failed = [i for i in items if not i.ok]
    if not failed:
        return f"Last restore drill: {when} ({drill.id}): ok, {len(items)} items restored and checked"
    lines = [f"Last restore drill: {when} ({drill.id}): FAILED, {len(failed)} of {len(items)} items:"]
    lines += [f"  {i.item}: {i.reason}" for i in failed]
    return "\n".join(lines)


def run_backup(stack: str) -> int:
    deployed = DeployedStack(stack)
    from flashdrive.operations.runner import copy_demuxed

    api = _client().api
    exec_id = api.exec_create(deployed.job, ["/flashdrive/backup.sh"], stdout=True, stderr=True)["Id"]
    copy_demuxed(api.exec_start(exec_id, stream=True, demux=True), None, None)  # its progress, as it runs
    return api.exec_inspect(exec_id)["ExitCode"]


def _app_containers(stack: str, volume: str | None = None) -> list[str]:
    filters: dict = {"label": [f"{LABEL_STACK}={stack}", LABEL_APP]}
    if volume:
        filters["volume"] = volume
    return [c.name for c in _client().containers.list(filters=filters)]


@contextlib.contextmanager
def _stopped(containers: list[str]):
    """The app copies stay stopped while a restore writes, and start again whatever happens."""
    for name in containers:
        _client().containers.get(name).stop()
    try:
        yield containers
    finally:
        for name in containers:
            _client().containers.get(name).start()


RESTORE_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID")


def _one_off(
    deployed: DeployedStack,
    script: str,
    *,
    volumes: Sequence[str] = (),
    networks: Sequence[str] = (),
    env: dict[str, str] | None = None,
    name: str = "",
    role: str = "backup-restore",
) -> subprocess.CompletedProcess:
    """Run `script` in a throwaway container of the backup image, with the job's credentials."""
    name = name or f"{deployed.stack}-backup-restore"
    client = _client()
    _remove(name)
    environment = {
        **{k: v for k, v in deployed.env.items() if k.startswith(("RESTIC_", "AWS_", "FLASHDRIVE_"))},
        **(env or {}),
    }
    container = client.containers.create(
        deployed.inspect["Config"]["Image"],
        ["-c", script],
        name=name,
        entrypoint="/bin/sh",
        labels={LABEL_STACK: deployed.stack, LABEL_ROLE: role},
        environment=environment,
        volumes=list(volumes),
        network=networks[0] if networks else None,
        # Least privilege, as the stack's own containers: restoring files with their owners and
        # modes needs these capabilities and nothing else.
        cap_drop=["ALL"],
        cap_add=list(RESTORE_CAPABILITIES),
        security_opt=["no-new-privileges:true"],
        pids_limit=512,
        mem_limit="1g",
    )
    try:
        for network in networks[1:]:
            client.networks.get(network).connect(container)
        container.start()
        code = container.wait()["StatusCode"]
        out = container.logs(stdout=True, stderr=False)
        err = container.logs(stdout=False, stderr=True)
        return subprocess.CompletedProcess(["/bin/sh", "-c", script], code, out, err)
    finally:
        _remove(name)


def _remove(name: str) -> None:
    found = _container(name)
    if found is not None:
        with contextlib.suppress(Exception):
            found.remove(force=True, v=True)  # anonymous volumes only; named ones stay


def _job_networks(deployed: DeployedStack) -> list[str]:
    return list(deployed.inspect["NetworkSettings"]["Networks"])


def restore(stack: str, target: str, snapshot: str | None, force: bool, out=None) -> None:
    out = out or sys.stdout  # looked up at call time: a caller may have replaced it
    deployed = DeployedStack(stack)
    kind, _, name = target.partition(":") if ":" in target else ("", "", target)
    if not kind:
        kind = "database" if f"{stack}-db-{name}" in _volumes(stack) else "disk"
    if kind not in ("disk", "database"):
        raise BackupError(f"'{target}' is not a disk or database: write disk:NAME or database:NAME")
    chosen = deployed.latest(f"{kind}:{name}") if snapshot in (None, "latest") else Snapshot(snapshot, "", {})
    if kind == "disk":
        _restore_disk(deployed, name, chosen, force, out)
    else:
        _restore_database(deployed, name, chosen, force, out)


def _volumes(stack: str) -> set[str]:
    return {v.name for v in _client().volumes.list(filters={"label": f"{LABEL_STACK}={stack}"})}


def _restore_disk(deployed: DeployedStack, name: str, snapshot: Snapshot, force: bool, out) -> None:
    volume = f"{deployed.stack}-disk-{name}"
    if volume not in _volumes(deployed.stack):
        raise BackupError(f"disk '{name}' has no volume {volume} on this host")
    check = _one_off(deployed, 'test -z "$(ls -A /target)"', volumes=[f"{volume}:/target"])
    if check.returncode != 0 and not force:
        raise BackupError(
            f"disk '{name}' holds data; restoring would overwrite it: add --force to replace it "
            f"with snapshot {snapshot.id}"
        )
    with _stopped(_app_containers(deployed.stack, volume)) as stopped:
        source = f"{DISKS_DIR}/{name}"
        script = (
            f"set -e; restic restore {shlex.quote(snapshot.id)} --target /restore --include {source}; "
            f"find /target -mindepth 1 -delete; cp -a /restore{source}/. /target/"
        )
        result = _one_off(deployed, script, volumes=[f"{volume}:/target"], networks=_job_networks(deployed))
        if result.returncode != 0:
            raise BackupError(f"restore of disk '{name}' failed: {result.stderr.decode(errors='replace')[-1500:]}")
    print(
        f"restored disk '{name}' (volume {volume}) from snapshot {snapshot.id}"
        + (f"; stopped and restarted {len(stopped)} app container(s)" if stopped else ""),
        file=out,
    )


def _database_engine(deployed: DeployedStack, name: str) -> tuple[str, dict]:
    container = f"{deployed.stack}-{name}"
    found = _container(container)
    if found is None:
        raise BackupError(f"database '{name}' has no container {container} on this host")
    details = found.attrs
    labels = details["Config"]["Labels"] or {}
    if labels.get(LABEL_DATABASE) != name:
        raise BackupError(f"{container} is not a flashdrive database")
    return labels[LABEL_ENGINE], details


def _restore_database(deployed: DeployedStack, name: str, snapshot: Snapshot, force: bool, out) -> None:
    engine, details = _database_engine(deployed, name)
    env = dict(item.split("=", 1) for item in details["Config"]["Env"])
    user = env.get("POSTGRES_USER") or env.get("MYSQL_USER") or env.get("MONGO_INITDB_ROOT_USERNAME") or name
    database = env.get("POSTGRES_DB") or env.get("MYSQL_DATABASE") or env.get("MONGO_INITDB_DATABASE") or name
    facts = ENGINES[engine]
    fields = {"pw": password_env(name), "host": name, "port": facts.port, "user": user, "name": database}
    networks = _job_networks(deployed)
    empty = facts.empty_check
    if not force:
        if empty is None:
            raise BackupError(
                f"database '{name}' ({engine}) may hold data; add --force to replace it with snapshot {snapshot.id}"
            )
        if _one_off(deployed, empty.format(**fields), networks=networks).returncode != 0:
            raise BackupError(
                f"database '{name}' holds data; restoring would overwrite it: add --force to replace "
                f"it with snapshot {snapshot.id}"
            )
    with _stopped(_app_containers(deployed.stack)) as stopped:
        if facts.restore is None:  # no dump to load: the server's own files go back in place
            _restore_redis(deployed, name, snapshot)
        else:
            script = (
                f"set -e; restic dump {shlex.quote(snapshot.id)} /{dump_file(name, engine)} > /tmp/dump; "
                + facts.restore.format(**fields)
                + " < /tmp/dump"
            )
            result = _one_off(deployed, script, networks=networks)
            if result.returncode != 0:
                raise BackupError(
                    f"restore of database '{name}' failed: {result.stderr.decode(errors='replace')[-1500:]}"
                )
    print(
        f"restored database '{name}' ({engine}) from snapshot {snapshot.id}"
        + (f"; stopped and restarted {len(stopped)} app container(s)" if stopped else ""),
        file=out,
    )


def _restore_redis(deployed: DeployedStack, name: str, snapshot: Snapshot) -> None:
    # Redis reads its files only at start: stop the server, make the snapshot its data, start it again.
    container, volume = f"{deployed.stack}-{name}", f"{deployed.stack}-db-{name}"
    install = ENGINES["redis"].install_snapshot
    assert install is not None
    _client().containers.get(container).stop()
    try:
        script = (
            f"set -e; restic dump {shlex.quote(snapshot.id)} /{dump_file(name, 'redis')} > /tmp/dump.rdb; "
            + install.format(dir="/data", file="/tmp/dump.rdb")
        )
        result = _one_off(deployed, script, volumes=[f"{volume}:/data"], networks=_job_networks(deployed))
        if result.returncode != 0:
            raise BackupError(f"restore of database '{name}' failed: {result.stderr.decode(errors='replace')[-1500:]}")
    finally:
        _client().containers.get(container).start()


def deployed_stack(spec: str | None, stack: str | None) -> str:
    """--deployed wins; else the stack named by the spec file."""
    if stack:
        return stack
    from flashdrive.spec import load_spec

    try:
        return load_spec(spec or "flashdrive.yaml").spec.stack
    except InputError as exc:
        raise InputError(exc.problems + [Problem("or name the deployed stack with --deployed NAME")]) from None
