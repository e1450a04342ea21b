"""`flashdrive backup verify`: the restore drill of a stack deployed on this Docker host.

The drill script (flashdrive.backup_drill) runs in a one-off container of the backup image, with
the job's credentials and only the network to the repository (never the stack's own, where the
live databases are): it checks the repository and every disk, and leaves every database's latest
dump on a scratch volume. Each dump is then loaded into a scratch container of the live server's
own image (the same engine and version, by image id) on a network of its own, `--internal`, with
nothing else on it; the loaded server answers a count per table. Everything the drill creates is
named `<stack>-drill-<random>`, labelled, and removed when it ends, whatever happened. The report
is stored as a `drill` snapshot, where `flashdrive backup list` shows the last drill.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shlex
import time
from typing import Any

from flashdrive.backup_drill import (
    DUMPED,
    DrillDatabase,
    DrillDisk,
    DrillItem,
    check_settings,
    drill_script,
    parse_report,
)
from flashdrive.backup_scripts import DISKS_DIR, dump_file
from flashdrive.engines import DRILLS, ENGINES
from flashdrive.labels import LABEL_DATABASE, LABEL_ENGINE, LABEL_NETWORK, LABEL_ROLE, LABEL_STACK, ROLE_DRILL
from flashdrive.operations.backups import BackupError, DeployedStack, _client, _one_off

OUT = "/drill"  # the scratch volume, in the one-off (read-write) and in the scratch servers (read-only)
READY_SECONDS = 180


class Drill:
    """One run of `flashdrive backup verify`: its scratch names, and their removal."""

    def __init__(self, stack: str):
        self.deployed = DeployedStack(stack)
        self.stack = stack
        self.name = f"{stack}-drill-{secrets.token_hex(3)}"
        self.labels = {LABEL_STACK: stack, LABEL_ROLE: ROLE_DRILL}
        self.containers: list[str] = []
        self.network: Any = None
        self.volume: Any = None

    # --- what the stack backs up ---------------------------------------------------------------

    def disks(self) -> list[DrillDisk]:
        mounts = self.deployed.inspect.get("Mounts") or []
        names = sorted(
            m["Destination"].removeprefix(f"{DISKS_DIR}/")
            for m in mounts
            if m.get("Destination", "").startswith(f"{DISKS_DIR}/")
        )
        return [DrillDisk(name, f"disk={name}", f"{DISKS_DIR}/{name}") for name in names]

    def databases(self) -> list[tuple[DrillDatabase, dict]]:
        found = _client().containers.list(all=True, filters={"label": [f"{LABEL_STACK}={self.stack}", LABEL_DATABASE]})
        result = []
        for container in sorted(found, key=lambda c: c.name):
            labels = container.attrs["Config"]["Labels"] or {}
            name, engine = labels.get(LABEL_DATABASE), labels.get(LABEL_ENGINE)
            if not name or engine not in DRILLS:
                continue
            env = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"] or [] if "=" in item)
            database = env.get("POSTGRES_DB") or env.get("MYSQL_DATABASE") or env.get("MONGO_INITDB_DATABASE") or name
            result.append(
                (
                    DrillDatabase(name, engine, f"database={name}", f"/{dump_file(name, engine)}", database),
                    container.attrs,
                )
            )
        return result

    def _latest(self, items: list[str]) -> dict[str, str]:
        """Each item's newest snapshot by the time the repository received it (a claimed time can be
        forged); an item without one is left to the drill, which reports it."""
        snapshots = self.deployed.snapshots()  # newest last
        latest = {s.what: s.id for s in snapshots}  # restic takes a short id too
        return {what: latest[what] for what in items if what in latest}

    # --- scratch resources ------------------------------------------------------------------------

    def _repository_networks(self) -> list[str]:
        """The job's way to the repository (its backup network, or the way out to a remote one): never
        the stack's internal network, where the live databases listen."""
        client = _client()
        wanted = []
        for name in self.deployed.inspect["NetworkSettings"]["Networks"]:
            labels = client.networks.get(name).attrs.get("Labels") or {}
            if labels.get(LABEL_NETWORK) in ("backup", "egress"):
                wanted.append(name)
        return wanted

    def run(self) -> list[DrillItem]:
        client = _client()
        try:
            self.volume = client.volumes.create(self.name, labels=self.labels)
            disks = self.disks()
            databases = self.databases()
            pinned = self._latest([f"disk:{d.name}" for d in disks] + [f"database:{db.name}" for db, _ in databases])
            script = drill_script(self.stack, disks, [db for db, _ in databases], pinned)
            done = _one_off(
                self.deployed,
                script,
                volumes=[f"{self.name}:{OUT}"],
                networks=self._repository_networks(),
                env={"DRILL_OUT": OUT},
                name=f"{self.name}-restic",
                role=ROLE_DRILL,
            )
            items = parse_report(done.stdout.decode(errors="replace"))
            if not items:
                raise BackupError(f"the drill did not run: {done.stderr.decode(errors='replace').strip()[-1500:]}")
            dumped = {db.name: (db, attrs) for db, attrs in databases}
            for item in items:
                if item.status == DUMPED:
                    db, attrs = dumped[item.item.removeprefix("database:")]
                    self._check_database(item, db, attrs)
            return items
        finally:
            self.clean()

    def _check_database(self, item: DrillItem, db: DrillDatabase, live: dict) -> None:
        client = _client()
        if self.network is None:
            self.network = client.networks.create(
                self.name, driver="bridge", internal=True, labels={**self.labels, LABEL_NETWORK: ROLE_DRILL}
            )
        password = secrets.token_hex(24)
        facts = DRILLS[db.engine]
        file = db.path.rsplit("/", 1)[-1]
        dump = f"{OUT}/{shlex.quote(file)}"
        replaced = (
            {"entrypoint": ["/bin/sh", "-c"], "command": [facts.scratch_command.format(dump=dump)]}
            if facts.scratch_command
            else {}
        )
        name = f"{self.name}-{db.name}"
        self.containers.append(name)
        from flashdrive.docker.hardening import DATA_IMAGE_CAPABILITIES

        container = client.containers.create(
            live["Image"],
            name=name,
            labels=self.labels,
            environment={k: v.format(password=password) for k, v in facts.scratch_env.items()},
            network=self.network.name,
            volumes=[f"{self.volume.name}:{OUT}:ro"],
            # As the live server: what its image's entrypoint needs and nothing else.
            cap_drop=["ALL"],
            cap_add=list(DATA_IMAGE_CAPABILITIES),
            security_opt=["no-new-privileges:true"],
            pids_limit=512,
            mem_limit="1g",
            **replaced,
        )
        container.start()
        # The live container names its image by id (the deploy pins it): its tag reads better.
        image = next(iter(client.images.get(live["Image"]).tags), live["Config"]["Image"])
        reason = self._wait_ready(container, db.engine)
        if reason:
            item.status, item.reason = "failed", f"a fresh {db.engine} server of {image} did not start: {reason}"
            return
        version = container.exec_run(["sh", "-c", facts.version]).output.decode(errors="replace").strip()
        script = (
            f"exec < {dump}\nset -eu\nDRILL_DIR=/tmp\n"
            + check_settings(db.database or db.name, file.endswith(".gz"))
            + facts.load_and_count
        )
        connect = {k: v.format(password=password) for k, v in facts.connect_env.items()}
        result = container.exec_run(["sh", "-c", script], environment=connect, demux=True)
        out, err = (part.decode(errors="replace") if part else "" for part in result.output or (None, None))
        checked = f"loaded into a fresh {version or db.engine} ({image}, the live server's image)"
        if result.exit_code != 0:
            item.status, item.checked = "failed", checked
            item.reason = f"the dump does not load: {err.strip()[-600:] or f'exit {result.exit_code}'}"
            return
        counts = {}
        for line in out.splitlines():
            table, _, rows = line.strip().rpartition("=")
            if table and rows.isdigit():
                counts[table] = int(rows)
        item.status, item.tables = "ok", counts
        item.checked = f"{checked}, {len(counts)} {facts.counted.replace('ROWS', str(sum(counts.values())))}"

    def _wait_ready(self, container: Any, engine: str) -> str:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            container.reload()
            if container.status != "running":
                return f"it exited: {container.logs(tail=10).decode(errors='replace').strip()[-600:]}"
            if container.exec_run(["sh", "-c", ENGINES[engine].health]).exit_code == 0:
                return ""
            time.sleep(1)
        return f"not ready after {READY_SECONDS}s: {container.logs(tail=10).decode(errors='replace').strip()[-600:]}"

    def record(self, items: list[DrillItem]) -> bool:
        """The report as a `drill` snapshot, through the job's own (append-only) credentials."""
        status = "ok" if all(i.ok for i in items) else "failed"
        report = "".join(i.line() + "\n" for i in items)
        script = (
            f"printf %s {shlex.quote(report)} | restic backup --quiet --host {shlex.quote(self.stack)} "
            f"--tag drill={status} --stdin --stdin-filename drill"
        )
        return (
            _one_off(
                self.deployed, script, networks=self._repository_networks(), name=f"{self.name}-record", role=ROLE_DRILL
            ).returncode
            == 0
        )

    def clean(self) -> None:
        """Every scratch container, the volume and the network: live ones were never touched."""
        from docker.errors import NotFound

        client = _client()
        for name in self.containers:
            with contextlib.suppress(NotFound):
                client.containers.get(name).remove(force=True, v=True)
        if self.volume is not None:
            with contextlib.suppress(NotFound):
                self.volume.remove(force=True)
        if self.network is not None:
            with contextlib.suppress(NotFound):
                self.network.remove()


def verify(stack: str) -> tuple[list[DrillItem], dict]:
    """Run the drill; the items and the facts around them (seconds, whether the report was stored)."""
    started = time.monotonic()
    drill = Drill(stack)
    items = drill.run()
    recorded = drill.record(items)
    return items, {"stack": stack, "seconds": round(time.monotonic() - started, 1), "recorded": recorded}


def _size(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def render(items: list[DrillItem], facts: dict) -> str:
    failed = [i for i in items if not i.ok]
    lines = [
        f"Restore drill of stack '{facts['stack']}' ({facts['seconds']:.0f}s; scratch containers on an internal "
        "network, removed):",
        "",
    ]
    for item in items:
        lines.append(f"{item.item:<24} {'ok' if item.ok else 'FAILED'}")
        if item.snapshot:
            lines.append(
                f"  snapshot {item.snapshot[:8]}, taken {item.time[:19].replace('T', ' ')} UTC, {_size(item.size)}"
            )
        lines.append(f"  checked: {item.checked or '-'}")
        if item.tables:
            shown = " ".join(f"{name}={rows}" for name, rows in list(item.tables.items())[:12])
            lines.append(f"  rows: {shown}{' ...' if len(item.tables) > 12 else ''}")
        if item.reason:
            lines.append(f"  reason: {item.reason}")
    lines.append("")
    if failed:
        lines.append(f"{len(failed)} of {len(items)} FAILED: {', '.join(i.item for i in failed)}")
    else:
        lines.append(f"all {len(items)} passed")
    if not facts.get("recorded"):
        lines.append("(the report could not be stored in the repository: `backup list` will not show it)")
    return "\n".join(lines) + "\n"


def render_json(items: list[DrillItem], facts: dict) -> str:
    return json.dumps({**facts, "ok": all(i.ok for i in items), "items": [i.as_json() for i in items]}, indent=2) + "\n"
