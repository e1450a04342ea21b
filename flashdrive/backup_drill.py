"""The restore drill: proof that the latest snapshot of every disk and database can be restored.

One shell script, generated per stack (any backend), run where the repository's credentials are:
- the repository: `restic check --read-data` reads every pack and checks its hash, so a damaged
  pack fails the drill even when no item's restore touches it;
- a disk: its latest snapshot restored into scratch space with `restic restore --verify` (every
  restored file's content read back and compared with the snapshot's blob hashes), then every file
  `restic ls` lists for it present with its size;
- a database: its latest dump (`restic dump`, which checks each blob it reads) loaded into a fresh,
  empty server of its engine, which then answers a `count(*)` per table (collection, Redis
  database). The scheduled drill (`backups.verify`) starts that server inside the backup image: the
  job has no Docker socket and may start no container. `flashdrive backup verify` instead leaves the
  dumps in DRILL_OUT and loads each into a scratch container of the live server's own image
  (flashdrive.operations.backup_verify).

Every item ends as one tab-separated report line on stdout (REPORT_FIELDS); the scheduled drill
stores the report as a `drill=ok|failed` snapshot, which `flashdrive backup list` shows.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from flashdrive.backup_scripts import DISKS_DIR, dump_file
from flashdrive.engines import ENGINES
from flashdrive.model.stack import ResolvedStack

# The report: one line per item, these fields, tab-separated; `tables` is `name=rows` words.
REPORT_FIELDS = ("item", "status", "snapshot", "time", "size", "checked", "reason", "tables")
DUMPED = "dumped"  # a database's status in a report that left its check to a scratch container
REPOSITORY_ITEM = "repository"
DRILL_SCRIPT = "/flashdrive/drill.sh"  # where the backup job (Docker) and the drill job (Kubernetes) have it
# The unprivileged user the scratch servers run as (servers refuse root): nobody, on Debian and Alpine.
SCRATCH_UID = 65534


@dataclass
class DrillItem:
    item: str
    status: str
    snapshot: str = ""
    time: str = ""
    size: int | None = None
    checked: str = ""
    reason: str = ""
    tables: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def line(self) -> str:
        values = [self.item, self.status, self.snapshot or "-", self.time or "-",
                  "-" if self.size is None else str(self.size), self.checked or "-", self.reason or "-",
                  " ".join(f"{name}={rows}" for name, rows in self.tables.items()) or "-"]
        return "\t".join(v.replace("\t", " ").replace("\n", " ") for v in values)

    def as_json(self) -> dict:
        return {"item": self.item, "ok": self.ok, "snapshot": self.snapshot or None, "time": self.time or None,
                "size_bytes": self.size, "checked": self.checked, "reason": self.reason or None,
                "tables": self.tables}


def parse_report(text: str) -> list[DrillItem]:
    """The items of a drill's report; lines that are not report lines (progress) are skipped."""
    items = []
    for line in text.splitlines():
        parts = line.rstrip("\r").split("\t")
        if len(parts) != len(REPORT_FIELDS):
            continue
        item, status, snapshot, time, size, checked, reason, tables = (p if p != "-" else "" for p in parts)
        counts = {}
        for word in tables.split():
            name, _, rows = word.rpartition("=")
            if name and rows.isdigit():
                counts[name] = int(rows)
        items.append(DrillItem(item, status, snapshot, time, int(size) if size.isdigit() else None, checked, reason,
                               counts))
    return items


# --- Per engine: load a dump read from stdin into an empty server, then count its rows ----------
#
# Each runs with the connection in the environment (CONNECT below for the in-image server; the
# scratch container's own for `flashdrive backup verify`) and prints `name=rows` lines.

def _restore(engine: str, host: str, user: str) -> str:
    """The engine's own restore command (`flashdrive backup restore` runs it too), into `drill`."""
    command = ENGINES[engine].restore
    assert command is not None, engine
    return command.format(pw="DRILL_PASSWORD", host=host, port=ENGINES[engine].port, user=user, name="drill")


LOAD_AND_COUNT = {
    # Into a database of its own, with the restore's own command; grants to roles a fresh server
    # lacks are left out (the live server has them). A dump that does not load fully fails.
    "postgres": """\
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE drill' >/dev/null
""" + _restore("postgres", '"$PGHOST"', '"$PGUSER"') + """ --no-privileges
psql -X -tA -F= -v ON_ERROR_STOP=1 -d drill <<'SQL'
SELECT format('SELECT %L, count(*) FROM %I.%I', schemaname || '.' || tablename, schemaname, tablename)
FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 \\gexec
SQL
""",
    "mysql": """\
MYSQL_CONNECT="--host $MYSQL_HOST --user root"
MYSQL_PWD=$DRILL_PASSWORD mysql $MYSQL_CONNECT -e 'CREATE DATABASE drill'
""" + _restore("mysql", '"$MYSQL_HOST"', "root") + """
export MYSQL_PWD="$DRILL_PASSWORD"
mysql $MYSQL_CONNECT -N -B -e "SELECT table_name FROM information_schema.tables WHERE table_schema = 'drill' AND table_type = 'BASE TABLE' ORDER BY 1" > "$DRILL_DIR/tables"
while read -r table; do
  printf '%s=%s\\n' "$table" "$(mysql $MYSQL_CONNECT -N -B drill -e "SELECT COUNT(*) FROM \\`$table\\`" </dev/null)"
done < "$DRILL_DIR/tables"
""",
    # Not the restore's command: that one logs in, and the scratch server has no users.
    "mongodb": """\
mongorestore $MONGO_CONNECT --quiet --archive $MONGO_GZIP --nsFrom "$DRILL_DB.*" --nsTo 'drill.*'
mongosh $MONGO_CONNECT --quiet drill --eval 'db.getCollectionNames().sort().forEach(c => print(c + "=" + db.getCollection(c).countDocuments({})))'
""",
    # The server read the dump at its start (see START): a key count per database.
    "redis": """\
redis-cli $REDIS_CONNECT info keyspace | tr -d '\\r' | sed -n 's/^\\(db[0-9]*\\):keys=\\([0-9]*\\).*/\\1=\\2/p'
""",
}

# The in-image server: started in $DRILL_DIR (the scratch user's own), on a socket only (no port,
# nothing else can connect; MySQL on the loopback), stopped by STOP. Small buffers: the job's memory is the job's size.
START = {
    "postgres": """\
initdb -D "$DRILL_DIR/data" -U drill --auth=trust -E UTF8 --no-sync >"$DRILL_DIR/log" 2>&1 || { tail -c 600 "$DRILL_DIR/log" >&2; exit 1; }
pg_ctl -D "$DRILL_DIR/data" -w -t 120 -l "$DRILL_DIR/log" -o "-c listen_addresses='' -k $DRILL_DIR -c fsync=off -c shared_buffers=16MB" start >/dev/null || { tail -c 600 "$DRILL_DIR/log" >&2; exit 1; }
export PGHOST="$DRILL_DIR" PGUSER=drill
""",
    "mysql": """\
server=$(command -v mariadbd || command -v mysqld)
if command -v mariadb-install-db >/dev/null; then
  mariadb-install-db --no-defaults --datadir="$DRILL_DIR/data" --auth-root-authentication-method=normal --skip-test-db >"$DRILL_DIR/log" 2>&1
else
  "$server" --no-defaults --initialize-insecure --datadir="$DRILL_DIR/data" >"$DRILL_DIR/log" 2>&1
fi || { tail -c 600 "$DRILL_DIR/log" >&2; exit 1; }
# The loopback of the job's own container (pod), where nothing else listens: the restore's
# command takes a host, and MariaDB's client ignores MYSQL_UNIX_PORT.
"$server" --no-defaults --datadir="$DRILL_DIR/data" --socket="$DRILL_DIR/sock" --bind-address=127.0.0.1 --port=3306 --pid-file="$DRILL_DIR/pid" --log-error="$DRILL_DIR/log" --innodb-buffer-pool-size=32M &
export MYSQL_HOST=127.0.0.1
for _ in $(seq 120); do mysqladmin -h 127.0.0.1 -uroot ping --silent >/dev/null 2>&1 && break; sleep 1; done
mysqladmin -h 127.0.0.1 -uroot ping --silent >/dev/null 2>&1 || { tail -c 600 "$DRILL_DIR/log" >&2; exit 1; }
""",
    "mongodb": """\
mkdir "$DRILL_DIR/data"
mongod --dbpath "$DRILL_DIR/data" --bind_ip 127.0.0.1 --port 27099 --unixSocketPrefix "$DRILL_DIR" --wiredTigerCacheSizeGB 0.25 --fork --logpath "$DRILL_DIR/log" >/dev/null || { tail -c 600 "$DRILL_DIR/log" >&2; exit 1; }
export MONGO_CONNECT="--host 127.0.0.1 --port 27099"
""",
    # Redis reads its data only at start: the dump is put in place first.
    "redis": """\
cat > "$DRILL_DIR/dump.rdb"
redis-server --port 0 --unixsocket "$DRILL_DIR/sock" --dir "$DRILL_DIR" --dbfilename dump.rdb --appendonly no --save '' --daemonize yes --logfile "$DRILL_DIR/log" --pidfile "$DRILL_DIR/pid"
export REDIS_CONNECT="-s $DRILL_DIR/sock"
for _ in $(seq 120); do [ "$(redis-cli $REDIS_CONNECT ping 2>/dev/null)" = PONG ] && break; sleep 1; done
[ "$(redis-cli $REDIS_CONNECT ping 2>/dev/null)" = PONG ] || { tail -c 600 "$DRILL_DIR/log" >&2; exit 1; }
""",
}

STOP = {
    "postgres": 'pg_ctl -D "$DRILL_DIR/data" -m immediate stop >/dev/null 2>&1',
    "mysql": 'mysqladmin -h 127.0.0.1 -uroot shutdown >/dev/null 2>&1',
    "mongodb": 'mongod --dbpath "$DRILL_DIR/data" --shutdown >/dev/null 2>&1',
    "redis": 'redis-cli $REDIS_CONNECT shutdown nosave >/dev/null 2>&1',
}

# The server binary each engine's in-image check needs, and how it names its version.
SERVER = {"postgres": "postgres", "mysql": "mariadbd mysqld", "mongodb": "mongod", "redis": "redis-server"}
VERSION = {
    "postgres": "postgres --version | awk '{ print \"postgres \" $3 }'",
    "mysql": "$(command -v mariadbd || command -v mysqld) --version | sed -n 's/.* Ver \\([^ ]*\\).*/mysql \\1/p'",
    "mongodb": "mongod --version | sed -n 's/^db version v/mongodb /p'",
    "redis": "redis-server --version | sed -n 's/.* v=\\([^ ]*\\).*/redis \\1/p'",
}
# What the counts are, after "N ": ROWS is their sum.
COUNTED = {
    "postgres": "tables answered count(*): ROWS rows",
    "mysql": "tables answered COUNT(*): ROWS rows",
    "mongodb": "collections answered countDocuments(): ROWS documents",
    "redis": "databases with keys in INFO keyspace: ROWS keys",
}


def check_settings(database: str, gzip: bool) -> str:
    """What LOAD_AND_COUNT reads besides the connection: the dump's database name, its compression,
    the scratch server's password (none in the image: its socket is the scratch user's)."""
    return (f"DRILL_DB={shlex.quote(database)}; MONGO_GZIP={'--gzip' if gzip else ''}; "
            'DRILL_PASSWORD=${DRILL_PASSWORD:-}\n')


def in_image_check(engine: str, database: str, gzip: bool) -> str:
    """The scratch user's script: start a server, load stdin into it, print counts, stop it."""
    return "set -eu\n" + check_settings(database, gzip) + START[engine] + f"trap '{STOP[engine]}' EXIT\n" + LOAD_AND_COUNT[engine]


# --- The script ---------------------------------------------------------------------------------

PRELUDE = """\
#!/bin/sh
# Generated by flashdrive for stack {stack}: the restore drill (see flashdrive/backup_drill.py).
# Prints one report line per item; exits 1 when any item failed.
set -u
umask 077
STACK={stack}
RUN=$(date -u +%Y%m%dT%H%M%SZ)
WORK=$(mktemp -d)
export RESTIC_CACHE_DIR="${{RESTIC_CACHE_DIR:-$WORK/cache}}"
DRILL_OUT=${{DRILL_OUT:-}}
failed=""
note() {{ echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) flashdrive-drill[$RUN]: $*" >&2; }}
clean() {{ [ -z "${{DRILL_DIR:-}}" ] || as_scratch 'rm -rf "$DRILL_DIR"' 2>/dev/null; rm -rf "$WORK"; }}
trap clean EXIT
# ITEM STATUS SNAPSHOT TIME SIZE CHECKED REASON [TABLES]
item() {{
  reason=$(printf '%s' "$7" | tr '\\t\\n' '  ' | cut -c 1-600)
  printf '%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n' "$1" "$2" "${{3:--}}" "${{4:--}}" "${{5:--}}" "${{6:--}}" "${{reason:--}}" "${{8:--}}" \\
    | tee -a "$WORK/report"
  case "$2" in ok|{dumped}) ;; *) failed="$failed $1" ;; esac
}}
# TAG [ID]: "ID TIME" of the given snapshot, or of the newest carrying TAG (by the time it claims).
pick() {{
  restic snapshots --no-lock --json --host "$STACK" --tag "$1" ${{2:+"$2"}} 2>"$WORK/error" \\
    | grep -oE '"(time|id)":"[^"]*"' \\
    | awk -F'"' '$2 == "time" {{ t = $4 }} $2 == "id" {{ i = $4 }} t != "" && i != "" {{ print t " " i; t = i = "" }}' \\
    | sort | tail -n 1 | awk '{{ print $2 " " $1 }}'
}}
tail_of() {{ tail -c 400 "$1" | tr '\\n' ' '; }}
# SCRIPT: run as the scratch user (servers refuse root), with nothing of the job's environment
# (its credentials) but PATH and DRILL_DIR.
as_scratch() {{
  set -- env -i PATH="$PATH" HOME=/tmp LANG=C.UTF-8 DRILL_DIR="${{DRILL_DIR:-}}" sh -c "$1"
  if [ "$(id -u)" != 0 ]; then "$@"; else setpriv --reuid={uid} --regid={uid} --clear-groups "$@"; fi
}}

# A pack whose bytes changed fails here, whichever item it belongs to.
note "repository: restic check --read-data"
if restic check --no-lock --read-data >"$WORK/log" 2>&1; then
  item {repository} ok - - - "restic check --read-data: every pack read and its hash checked" ""
else
  item {repository} failed - - - "restic check --read-data" "$(grep -iE 'error|not match|fatal|damaged|invalid' "$WORK/log" | head -n 5 | tr '\\n' ' ')"
fi

drill_disk() {{  # NAME TAG PATH [ID]
  what="disk:$1"
  note "$what"
  found=$(pick "$2" "${{4:-}}")
  if [ -z "$found" ]; then item "$what" failed - - - - "no snapshot of it in the repository: $(tail_of "$WORK/error")"; return; fi
  id=${{found%% *}}; time=${{found#* }}
  target="$WORK/restore"
  rm -rf "$target"
  # Owners cannot be set without CAP_CHOWN (the scheduled job has none): that alone is no failure.
  restic restore --no-lock "$id" --target "$target" --include "$3" --verify >"$WORK/log" 2>&1
  status=$?
  grep 'ignoring error' "$WORK/log" | grep -v 'lchown.*operation not permitted' > "$WORK/errors"
  if [ "$status" -ne 0 ] && {{ [ -s "$WORK/errors" ] || ! grep -q 'There were [0-9]* errors' "$WORK/log"; }}; then
    [ -s "$WORK/errors" ] || tail -n 3 "$WORK/log" > "$WORK/errors"
    item "$what" failed "$id" "$time" - "restic restore --verify" "restore failed: $(sort -u "$WORK/errors" | head -c 400)"
    rm -rf "$target"; return
  fi
  # The whole snapshot: restic 0.14's ls given a folder lists its direct children only.
  if ! restic ls --no-lock -l "$id" >"$WORK/ls" 2>"$WORK/error"; then
    item "$what" failed "$id" "$time" - "restic ls" "$(tail_of "$WORK/error")"; rm -rf "$target"; return
  fi
  # Regular files: mode, uid, gid, size, date, time, then the path (which may hold spaces).
  awk -v under="$3/" '/^-/ {{ size = $4; line = $0; for (i = 0; i < 6; i++) sub(/^[^ ]+ +/, "", line)
                             if (index(line, under) == 1) print size " " line }}' "$WORK/ls" > "$WORK/expected"
  files=0; bytes=0; bad=""
  while read -r size path; do
    files=$((files + 1)); bytes=$((bytes + size))
    actual=$(stat -c %s "$target$path" 2>/dev/null) || {{ bad="$path is missing from the restored files"; break; }}
    [ "$actual" = "$size" ] || {{ bad="$path restored with $actual bytes, the snapshot lists $size"; break; }}
  done < "$WORK/expected"
  rm -rf "$target"
  if [ -n "$bad" ]; then
    item "$what" failed "$id" "$time" "$bytes" "restic restore --verify, sizes against restic ls" "$bad"
  else
    item "$what" ok "$id" "$time" "$bytes" "restored $files files with restic restore --verify (content against the snapshot's hashes), every file restic ls lists present with its size" ""
  fi
}}
"""

DRILL_DATABASE = """\
drill_database() {{  # NAME ENGINE TAG PATH CHECK SERVERS VERSION COUNTED [ID]
  what="database:$1"
  note "$what ($2)"
  found=$(pick "$3" "${{9:-}}")
  if [ -z "$found" ]; then item "$what" failed - - - - "no snapshot of it in the repository: $(tail_of "$WORK/error")"; return; fi
  id=${{found%% *}}; time=${{found#* }}
  dump="${{DRILL_OUT:-$WORK}}/${{4##*/}}"
  if ! restic dump --no-lock "$id" "$4" > "$dump" 2>"$WORK/error"; then
    item "$what" failed "$id" "$time" - "restic dump" "the dump cannot be read from the repository: $(tail_of "$WORK/error")"; rm -f "$dump"; return
  fi
  size=$(wc -c < "$dump" | tr -d ' ')
  if [ "$size" -eq 0 ]; then item "$what" failed "$id" "$time" 0 "restic dump" "the dump is empty"; rm -f "$dump"; return; fi
  if [ -n "$DRILL_OUT" ]; then  # flashdrive backup verify loads it into a scratch container
    item "$what" {dumped} "$id" "$time" "$size" "restic dump" ""; return
  fi
  server=""
  for binary in $6; do command -v "$binary" >/dev/null && server=$binary && break; done
  if [ -z "$server" ]; then
    item "$what" failed "$id" "$time" "$size" - "the backup image has no $2 server ($6) to load the dump into: use an image that carries it (README, Restore drills)"
    rm -f "$dump"; return
  fi
  if [ "$(id -u)" = 0 ] && ! command -v setpriv >/dev/null; then
    item "$what" failed "$id" "$time" "$size" - "the backup image has no setpriv to run the $2 server unprivileged (README, Restore drills)"
    rm -f "$dump"; return
  fi
  DRILL_DIR=$(as_scratch 'mktemp -d')
  version=$(as_scratch "$7" 2>/dev/null | head -n 1)
  if as_scratch "$5" < "$dump" > "$WORK/counts" 2>"$WORK/error"; then
    tables=$(grep -c . "$WORK/counts"); rows=$(awk -F= '{{ n += $NF }} END {{ print n + 0 }}' "$WORK/counts")
    item "$what" ok "$id" "$time" "$size" "loaded into a fresh $version, $tables $(printf '%s' "$8" | sed "s/ROWS/$rows/")" "" "$(tr '\\n' ' ' < "$WORK/counts")"
  else
    item "$what" failed "$id" "$time" "$size" "loaded into a fresh $version" "the dump does not load: $(tail_of "$WORK/error")"
  fi
  as_scratch 'rm -rf "$DRILL_DIR"'; DRILL_DIR=""
  rm -f "$dump"
}}
"""

EPILOGUE = """\
if [ -z "$DRILL_OUT" ]; then  # the scheduled drill: its report, where `flashdrive backup list` finds it
  status=ok; [ -z "$failed" ] || status=failed
  # Not tagged `flashdrive`: on Kubernetes that tag picks the backup runs' snapshots.
  restic backup --quiet --host "$STACK" --tag "drill=$status" --stdin --stdin-filename drill \\
    < "$WORK/report" || note "the drill's report could not be stored"
fi
if [ -n "$failed" ]; then note "FAILED:$failed"; exit 1; fi
note ok
"""


@dataclass(frozen=True)
class DrillDisk:
    name: str
    tag: str   # the tag its snapshots carry
    path: str  # its files' path inside them


@dataclass(frozen=True)
class DrillDatabase:
    name: str
    engine: str
    tag: str
    path: str  # its dump's path inside the snapshot
    database: str = ""  # the engine's database name the dump holds (MongoDB's archive names it), default name


def drill_script(stack: str, disks: list[DrillDisk], databases: list[DrillDatabase],
                 snapshots: dict[str, str] | None = None) -> str:
    """The drill for these items; `snapshots` pins an item ("disk:media") to a snapshot id."""
    chosen = snapshots or {}
    lines = [PRELUDE.format(stack=shlex.quote(stack), dumped=DUMPED, repository=REPOSITORY_ITEM, uid=SCRATCH_UID)]
    if databases:
        lines.append(DRILL_DATABASE.format(dumped=DUMPED))
    for disk in disks:
        lines.append("drill_disk " + shlex.join([disk.name, disk.tag, disk.path, chosen.get(f"disk:{disk.name}", "")]))
    for db in databases:
        lines.append("drill_database " + shlex.join([
            db.name, db.engine, db.tag, db.path, in_image_check(db.engine, db.database or db.name, db.path.endswith(".gz")),
            SERVER[db.engine], VERSION[db.engine], COUNTED[db.engine], chosen.get(f"database:{db.name}", "")]))
    lines.append(EPILOGUE.format())
    return "\n".join(lines) + "\n"


def kubernetes_items(stack: ResolvedStack, disks_root: str, dumps: str) -> tuple[list[DrillDisk], list[DrillDatabase]]:
    """What a Kubernetes backup run stores: one snapshot (tag flashdrive) of the disks and the dumps."""
    return ([DrillDisk(d.name, "flashdrive", f"{disks_root}/{d.name}") for d in sorted(stack.disks, key=lambda d: d.name)],
            [DrillDatabase(db.name, db.engine, "flashdrive",
                           f"{dumps}/{db.name}.{ENGINES[db.engine].job_dump.extension}", db.database)
             for db in sorted(stack.databases.values(), key=lambda d: d.name)])


def docker_items(stack: ResolvedStack) -> tuple[list[DrillDisk], list[DrillDatabase]]:
    """What a Docker stack's backup job stores: a snapshot per disk and per database dump."""
    return ([DrillDisk(d.name, f"disk={d.name}", f"{DISKS_DIR}/{d.name}") for d in sorted(stack.disks, key=lambda d: d.name)],
            [DrillDatabase(db.name, db.engine, f"database={db.name}", f"/{dump_file(db.name, db.engine)}", db.database)
             for db in sorted(stack.databases.values(), key=lambda d: d.name)])


def scheduled_drill_script(stack: ResolvedStack) -> str:
    """The Docker backup job's drill (backups.verify), on what its backup script stores."""
    disks, databases = docker_items(stack)
    return drill_script(stack.name, disks, databases)


def drill_schedule(stack: ResolvedStack) -> str:
    """backups.verify for a crontab: busybox crond knows no @weekly-style macros."""
    from flashdrive.spec.rules import CRON_MACROS

    return CRON_MACROS.get(stack.backups.verify, stack.backups.verify)
