"""The database engines flashdrive runs, and every fact about them, in one table.

Backends (ports, images, data paths, health checks), backups (dump and restore commands and the
clients they need) and the diff's data-loss guard (what a major version is, what a major upgrade
takes) read `ENGINES`; nothing else writes an engine's port, path or command. Pure data and pure
functions: no flashdrive import, so the spec, the plan and the guard can load it for free.

Command templates are shell text with `{host}`, `{port}`, `{user}`, `{name}` (the database),
`{file}` and `{pw}` (the variable holding the password) filled in by whoever runs them. No template
puts a password on a command line: each client reads it from its variable, mongodb's tools from a
file.

Majors and upgrades, per engine (the vendors' upgrade guides):
- postgres: the first number from 10 on (9.6 before). A server refuses a data directory of another
  major; it takes pg_upgrade (both versions' binaries) or a dump with the *new* version's pg_dump
  (pg_dump N refuses a server newer than N) restored into a fresh data directory. The official image
  keeps its data one level higher from 18 on (`/var/lib/postgresql`, PGDATA
  `/var/lib/postgresql/18/docker`), and that path has the major in it.
- mysql: the first two numbers (8.0, 8.4, 9.1). The new server upgrades the data directory in place
  on its first start, one LTS series at a time (5.7 → 8.0 → 8.4), never back down. flashdrive's
  deploy takes the same steps by a copy instead (a dump with the new major's mysqldump into a new
  server on a new data directory), so the old data directory stays as it was: the way back.
- mongodb: the first two numbers (7.0, 8.0). In place, one release series at a time, with
  featureCompatibilityVersion set to the old series before and to the new one after.
- redis: the first number. A newer server reads older RDB and AOF files as they are; an older server
  refuses a newer RDB.
"""

from __future__ import annotations

import re
from typing import Literal

from msgspec import Struct

Method = Literal["dump-restore", "in-place"]
UpgradeRule = Literal["any-newer", "lts-step", "next-series"]


class Dump(Struct, frozen=True):
    """How one job dumps a database: the command (a template, see the module doc) and the file's
    extension inside the backup."""

    extension: str
    command: str


class Upgrade(Struct, frozen=True):
    """A supported way from one major to the next."""

    engine: str
    old: str  # the old major, e.g. "16"
    new: str  # the new major, e.g. "17"
    method: Method  # dump-restore: a new server on a new data directory; in-place: the new server on the old files
    how: str  # what happens, a clause for plans and the guard ("the new server upgrades ...")


class CopyUpgrade(Struct, frozen=True):
    """How the deploy copies a database into a new major (flashdrive/major_upgrade.py): in a container
    of the new major's image, the new server and the old one (on `{old_port}`, 127.0.0.1) beside it.
    Templates: `{port}` the new server's, `{old_port}` the old one's, `{name}` the database."""

    initialised: str  # the file that says a data directory is initialised, in PGDATA
    server: tuple[str, ...]  # the arguments after the image's entrypoint that start the server
    old_server: tuple[str, ...]  # the same for the old server, on {old_port}, 127.0.0.1 only
    ready: str  # exits 0 once the server on {port} answers
    copy: str  # dumps the old server with the NEW client into the new one; exits non-zero on any loss
    credentials: tuple[str, ...]  # the variables of the image's contract the servers need (user, passwords)
    # The env that initialises the new server: before a copy without the database the restore
    # creates (no empty one first); with nothing to copy, with it.
    copy_target_env: str
    fresh_env: str
    stop_signal: str = "INT"  # the signal for a clean shutdown (mysqld ignores SIGINT)


# pg_dumpall of the old server piped into the new one. psql goes on past errors, as pg_dumpall's
# output expects (it creates every role, the one the new server was initialised with included);
# any other error, or a database missing after, fails the copy. Then statistics for the planner.
_PG_COPY = """\
export PGPASSWORD="$POSTGRES_PASSWORD"
{{ pg_dumpall --host 127.0.0.1 --port {old_port} --username "$POSTGRES_USER" --no-password 2>/tmp/dump.err
  echo $? > /tmp/dump.exit; }} |
  psql --host 127.0.0.1 --port {port} --username "$POSTGRES_USER" --dbname postgres --no-password --no-psqlrc \\
       --quiet >/dev/null 2>/tmp/restore.err
if [ "$(cat /tmp/dump.exit)" != 0 ]; then echo "pg_dumpall failed:"; cat /tmp/dump.err; exit 1; fi
if grep ERROR /tmp/restore.err | grep -v "ERROR:  role \\"$POSTGRES_USER\\" already exists" > /tmp/errors; then
  echo "the restore into the new server failed:"; head -n 20 /tmp/errors; exit 1
fi
databases='select datname from pg_database where not datistemplate order by 1'
old=$(psql -h 127.0.0.1 -p {old_port} -U "$POSTGRES_USER" -d postgres -w -X -At -c "$databases") || exit 1
new=$(psql -h 127.0.0.1 -p {port} -U "$POSTGRES_USER" -d postgres -w -X -At -c "$databases") || exit 1
if [ "$old" != "$new" ]; then echo "databases before: $old; after: $new"; exit 1; fi
vacuumdb --host 127.0.0.1 --port {port} --username "$POSTGRES_USER" --no-password --all --analyze-only --quiet
"""


# MySQL: the user's databases (not the server's own schemas, whose tables differ between majors)
# dumped with the NEW major's mysqldump into the new server, then every account but the server's own
# (root and the system accounts the new server made itself) with its password hash and grants:
# SHOW CREATE USER / SHOW GRANTS, which MySQL and MariaDB both answer (MySQL's hashes in hex, they
# hold bytes a terminal would mangle). The account the image's contract names (MYSQL_USER) exists
# already, made by the new server's entrypoint with the same password: IF NOT EXISTS. Any error
# stops the copy; then every database, table, row count and account must be on both servers.
_MYSQL_COPY = """\
export MYSQL_PWD="$MYSQL_ROOT_PASSWORD"
old() {{ mysql --host 127.0.0.1 --port {old_port} --user root -N -B "$@"; }}
new() {{ mysql --host 127.0.0.1 --port {port} --user root -N -B "$@"; }}
system="'mysql','information_schema','performance_schema','sys'"
accounts="select user, host from mysql.user where user not in ('root','mysql.sys','mysql.session','mysql.infoschema','mariadb.sys','') order by 1, 2"
tab=$(printf '\t')
old -e "select schema_name from information_schema.schemata where schema_name not in ($system) order by 1" > /tmp/databases || exit 1
if [ -s /tmp/databases ]; then
  {{ (set -f; IFS='
'; exec mysqldump --host 127.0.0.1 --port {old_port} --user root --single-transaction --routines --triggers --events \
      --hex-blob --loose-set-gtid-purged=OFF --databases $(cat /tmp/databases)) 2>/tmp/dump.err; echo $? > /tmp/dump.exit; }} |
    new 2>/tmp/restore.err
  restored=$?
  if [ "$(cat /tmp/dump.exit)" != 0 ]; then echo "mysqldump failed:"; cat /tmp/dump.err; exit 1; fi
  if [ "$restored" != 0 ]; then echo "the restore into the new server failed:"; head -n 20 /tmp/restore.err; exit 1; fi
fi
hex=""
old -e "select version()" | grep -q MariaDB || hex="SET SESSION print_identified_with_as_hex = ON;"
old -e "$accounts" > /tmp/accounts || exit 1
: > /tmp/accounts.sql
while IFS="$tab" read -r user host; do
  old -r -e "$hex SHOW CREATE USER '$user'@'$host'; SHOW GRANTS FOR '$user'@'$host'" > /tmp/account || exit 1
  sed 's/^CREATE USER /CREATE USER IF NOT EXISTS /; s/$/;/' /tmp/account >> /tmp/accounts.sql
done < /tmp/accounts
new < /tmp/accounts.sql 2>/tmp/accounts.err || {{ echo "the accounts did not copy:"; head -n 20 /tmp/accounts.err; exit 1; }}
counted() {{
  "$1" -e "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' and table_schema not in ($system) order by 1, 2" |
    while IFS="$tab" read -r schema table; do
      printf '%s.%s=%s\\n' "$schema" "$table" "$("$1" -e "select count(*) from \\`$schema\\`.\\`$table\\`" </dev/null)"
    done
  "$1" -e "$accounts"
}}
before=$(counted old) && after=$(counted new) || exit 1
if [ "$before" != "$after" ]; then echo "before the copy:"; echo "$before" | head -n 20; echo "after:"; echo "$after" | head -n 20; exit 1; fi
"""


class EngineFacts(Struct, frozen=True):
    name: str
    port: int
    default_version: str
    image: str  # Docker Hub's official image; `{version}` is the engine version
    # Where the official image keeps its data, by the first version that keeps it there (newest first).
    data_paths: tuple[tuple[int, str], ...]
    # Kubernetes: the engine writes one level below the claim's root, which may hold lost+found
    # (initdb and mysqld --initialize refuse a non-empty directory). None: the root itself.
    claim_subdir: str | None
    health: str  # a shell command in the server's container: exit 0 once it answers
    health_interval: str  # how often Docker runs it
    health_retries: int
    url: str  # the URL apps get: {user} {password} {host} {port} {name}
    # The user and database apps connect as; None: the database's name in the spec.
    user: str | None
    database: str | None
    # The server's options that turn TLS on with the stack CA's files (database_tls.py), `{ca}`, `{cert}`
    # and `{key}` filled in; plain connections stay allowed. Empty: the engine gets no TLS.
    tls_options: tuple[str, ...]
    server_user: str  # the image's entrypoint drops to this user: it must own the TLS key
    # A shell script that starts the server, `{data_dir}` filled in; None: the image's own command.
    start_script: str | None
    # Backups. `script_dump` is a line of the Docker backup job's script (backup_scripts.py, which
    # defines $DUMP, $WORK and mongo_config); `job_dump` the Kubernetes backup job's init container,
    # whose client reads the password from `job_password_env`.
    dump_tool: str
    script_dump: Dump
    job_dump: Dump
    job_password_env: str
    # `flashdrive backup restore`: the dump on standard input (None: the server's files are put back
    # instead), and a check that exits 0 when the database holds nothing (None: cannot tell).
    restore: str | None
    empty_check: str | None
    # Clients: a dump tool of major N dumps servers up to N (`client_any_from`: tools released
    # apart from the server, from this version on, dump every supported server).
    client_must_be_newer: bool
    client_any_from: int | None
    # Majors and upgrades (module doc).
    major_parts: int  # how many leading numbers name a major
    major_parts_before: tuple[int, int] | None  # (first number, parts) for older numbering
    upgrade_rule: UpgradeRule
    upgrade_method: Method
    upgrade_how: str
    # What a volume of a later major carries after the database's name: `-pg17`, `-mysql84` (no dot:
    # the name is a StatefulSet's too on Kubernetes, whose pods' host names allow none).
    volume_major_prefix: str
    series: tuple[str, ...] = ()  # lts-step: the LTS series; next-series: every release series, in order
    copy_upgrade: CopyUpgrade | None = None  # dump-restore engines whose deploy copies the data itself
    # What a server does itself with an older major's files when the deploy does not copy them (a
    # clause after "mysql 8.4"); None: it refuses them.
    own_upgrade: str | None = None
    # (first version, folder): from that version on, the image's own data directory is this folder
    # below the mount, `{major}` filled in. Docker leaves it to the image; Kubernetes sets it (claim_subdir).
    image_data_subdir: tuple[int, str] | None = None
    # With `restore` None: the shell that makes the snapshot `{file}` the data of the stopped server
    # whose directory is `{dir}` (both shell-safe paths), keeping the directory's owner.
    install_snapshot: str | None = None
    # The file a running server holds in its data directory and removes when it stops cleanly, when
    # only that file keeps a second server off the directory: postgres checks its owner by PID (and
    # shared memory), which another pod's PID namespace hides. None: the engine locks its files.
    lock_file: str | None = None

    def data_path(self, version: str) -> str:
        first = _numbers(version)[:1] or (0,)
        return next(path for since, path in self.data_paths if first[0] >= since)

    def volume_data_dir(self, version: str, backend: str) -> str:
        """Where on its volume the server looks for its data ("" for the root): a new major that looks
        elsewhere starts empty beside the old files instead of refusing them."""
        if backend == "kubernetes":
            return self.claim_subdir or ""
        first = _numbers(version)[:1] or (0,)
        if self.image_data_subdir and first[0] >= self.image_data_subdir[0]:
            return self.image_data_subdir[1].format(major=self.major(version) or first[0])
        return ""

    def major(self, version: str) -> str | None:
        """The major a version belongs to ("16.4" → "16", "8.0.36" → "8.0"); None when the version
        does not name one (mysql "8" is whatever 8.x the image tag points at)."""
        numbers = _numbers(version)
        parts = self.major_parts
        if self.major_parts_before and numbers and numbers[0] < self.major_parts_before[0]:
            parts = self.major_parts_before[1]
        if len(numbers) < parts:
            return None
        return ".".join(map(str, numbers[:parts]))

    def is_major_change(self, old: str, new: str) -> bool | None:
        """True for another major, False for a minor change; None when either version names no major."""
        before, after = self.major(old), self.major(new)
        if before is None or after is None:
            return None
        return before != after

    def upgrade(self, old: str, new: str) -> Upgrade | None:
        """The supported way from version `old` to `new` when they are different majors; None when
        there is none (a downgrade, a skipped step, a version that names no major)."""
        before, after = self.major(old), self.major(new)
        if before is None or after is None or before == after or _numbers(after) < _numbers(before):
            return None
        if self.upgrade_rule == "lts-step" and any(
            _numbers(before) < _numbers(lts) < _numbers(after) for lts in self.series
        ):
            return None
        if self.upgrade_rule == "next-series" and not _next_series(self.series, before, after):
            return None
        return Upgrade(self.name, before, after, self.upgrade_method, self.upgrade_how)

    def no_upgrade(self, old: str, new: str) -> str:
        """Why there is no upgrade from `old` to `new`, and what to do instead."""
        before, after = self.major(old) or old, self.major(new) or new
        if _numbers(after) < _numbers(before):
            return (
                f"{self.name} {after} cannot read the data files of {self.name} {before} (there is no "
                f"downgrade); keep version {old}, or dump the data and restore it into a new database"
            )
        if self.upgrade_rule == "lts-step":
            stops = [lts for lts in self.series if _numbers(before) < _numbers(lts) < _numbers(after)]
            return f"{self.name} upgrades one LTS series at a time: go to {stops[0]} first, deploy, then to {new}"
        if self.upgrade_rule == "next-series":
            later = [s for s in self.series if _numbers(before) < _numbers(s) <= _numbers(after)]
            if later and later[-1] == after:
                return (
                    f"{self.name} upgrades one release series at a time: go to {later[0]} first, deploy, "
                    f"then on to {new}"
                )
            return f"flashdrive knows no upgrade path from {self.name} {before} to {after}"
        return f"flashdrive knows no upgrade path from {self.name} {before} to {after}"

    def client_can_dump(self, client: str, server: str) -> bool:
        """Whether the dump tool of version `client` can dump a server of version `server`."""
        client_numbers = _numbers(client)
        if not self.client_must_be_newer:
            return True
        if self.client_any_from is not None and client_numbers[:1] >= (self.client_any_from,):
            return True
        client_major, server_major = self.major(client), self.major(server)
        if client_major is None or server_major is None:
            return False
        return _numbers(client_major) >= _numbers(server_major)


def _numbers(version: str) -> tuple[int, ...]:
    """The leading numbers of a version or image tag: "16.4-bookworm" → (16, 4)."""
    match = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(n) for n in match.group().split(".")) if match else ()


def _next_series(series: tuple[str, ...], before: str, after: str) -> bool:
    return before in series and after in series and series.index(after) == series.index(before) + 1


_PG_HEALTH = 'pg_isready -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'

POSTGRES = EngineFacts(
    name="postgres",
    port=5432,
    default_version="17",
    image="postgres:{version}",
    # docker-library/postgres 18+: PGDATA /var/lib/postgresql/<major>/docker, VOLUME /var/lib/postgresql.
    data_paths=((18, "/var/lib/postgresql"), (0, "/var/lib/postgresql/data")),
    claim_subdir="pgdata",
    health=_PG_HEALTH,
    health_interval="1s",
    health_retries=30,
    url="postgres://{user}:{password}@{host}:{port}/{name}",
    user=None,
    database=None,
    tls_options=("-c", "ssl=on", "-c", "ssl_cert_file={cert}", "-c", "ssl_key_file={key}", "-c", "ssl_ca_file={ca}"),
    server_user="postgres",
    start_script=None,
    dump_tool="pg_dump",
    script_dump=Dump(
        "pgdump",
        'PGPASSWORD={pw} pg_dump --host {host} --port {port} --username {user} --format custom --file "$DUMP" {name}',
    ),
    job_dump=Dump("pgdump", "pg_dump -h {host} -p {port} -U {user} -d {name} --format=custom --file={file}"),
    job_password_env="PGPASSWORD",
    restore=(
        'PGPASSWORD="${pw}" pg_restore --clean --if-exists --no-owner --host {host} --username {user} --dbname {name}'
    ),
    empty_check=(
        'test "$(PGPASSWORD="${pw}" psql -tA --host {host} --username {user} --dbname {name} -c '
        '"select count(*) from information_schema.tables where table_schema = current_schema()")" = 0'
    ),
    client_must_be_newer=True,
    client_any_from=None,
    major_parts=1,
    major_parts_before=(10, 2),
    image_data_subdir=(18, "{major}/docker"),
    lock_file="postmaster.pid",
    upgrade_rule="any-newer",
    upgrade_method="dump-restore",
    volume_major_prefix="pg",
    upgrade_how=(
        "a server of the new version starts on a new data directory and gets the data by a dump made "
        "with the new version's pg_dump (an older pg_dump refuses a newer server) and pg_restore, or by "
        "pg_upgrade with both versions' binaries"
    ),
    copy_upgrade=CopyUpgrade(
        initialised="PG_VERSION",
        server=("postgres",),
        old_server=("postgres", "-p", "{old_port}", "-c", "listen_addresses=127.0.0.1"),
        ready="pg_isready -q -h 127.0.0.1 -p {port}",
        copy=_PG_COPY,
        credentials=("POSTGRES_USER", "POSTGRES_PASSWORD"),
        copy_target_env="POSTGRES_DB=postgres",
        fresh_env="POSTGRES_DB={name}",
    ),
)

MYSQL = EngineFacts(
    name="mysql",
    port=3306,
    default_version="8.4",
    image="mysql:{version}",
    data_paths=((0, "/var/lib/mysql"),),
    claim_subdir="data",
    # The client reads MYSQL_PWD: the password is on no command line, every second.
    health='MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysqladmin ping -h 127.0.0.1 -u root --silent',
    health_interval="1s",
    health_retries=30,
    url="mysql://{user}:{password}@{host}:{port}/{name}",
    user=None,
    database=None,
    tls_options=("--ssl-ca={ca}", "--ssl-cert={cert}", "--ssl-key={key}"),
    server_user="mysql",
    start_script=None,
    dump_tool="mysqldump",
    script_dump=Dump(
        "sql",
        "MYSQL_PWD={pw} mysqldump --single-transaction --routines --host {host} --port {port} "
        '--user {user} {name} > "$DUMP"',
    ),
    job_dump=Dump(
        "sql",
        "mysqldump --single-transaction --routines --triggers --no-tablespaces -h {host} "
        "-P {port} -u {user} --result-file={file} {name}",
    ),
    job_password_env="MYSQL_PWD",
    restore='MYSQL_PWD="${pw}" mysql --host {host} --user {user} {name}',
    empty_check=(
        'test "$(MYSQL_PWD="${pw}" mysql -N --host {host} --user {user} {name} -e '
        '"select count(*) from information_schema.tables where table_schema = database()")" = 0'
    ),
    client_must_be_newer=True,
    client_any_from=None,
    major_parts=2,
    major_parts_before=None,
    # MySQL's own way is in place (module doc); flashdrive's deploy copies instead, so the old data
    # directory stays untouched as the way back. The steps allowed are MySQL's all the same.
    upgrade_rule="lts-step",
    upgrade_method="dump-restore",
    series=("5.7", "8.0", "8.4"),
    volume_major_prefix="mysql",
    upgrade_how=(
        "a server of the new version starts on a new data directory and gets the databases and accounts "
        "by the new version's mysqldump; one LTS series at a time (5.7 → 8.0 → 8.4), never back down"
    ),
    copy_upgrade=CopyUpgrade(
        initialised="ibdata1",
        server=(),
        # Options only: the image's entrypoint puts its server (mysqld, mariadbd) in front. No X
        # Protocol port: the new server beside it has it (`loose-`: MariaDB has no such option).
        old_server=("--port={old_port}", "--bind-address=127.0.0.1", "--loose-mysqlx=OFF"),
        ready="mysqladmin ping -h 127.0.0.1 -P {port} --silent",
        copy=_MYSQL_COPY,
        credentials=("MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD"),
        copy_target_env="MYSQL_DATABASE={name}",
        fresh_env="MYSQL_DATABASE={name}",
        stop_signal="TERM",
    ),
    own_upgrade="upgrades the old data directory in place on its first start, and no server goes back down",
)

MONGODB = EngineFacts(
    name="mongodb",
    port=27017,
    default_version="8.0",
    image="mongo:{version}",
    data_paths=((0, "/data/db"),),
    claim_subdir=None,
    # mongosh starts a JavaScript runtime each time: checked less often. Old images have `mongo`.
    health="mongosh --quiet --eval 'db.adminCommand({ping: 1}).ok' || mongo --quiet --eval 'db.adminCommand({ping: 1}).ok'",
    health_interval="10s",
    health_retries=3,
    url="mongodb://{user}:{password}@{host}:{port}/{name}?authSource=admin",
    user=None,
    database=None,
    tls_options=(),
    server_user="mongodb",
    start_script=None,
    dump_tool="mongodump",
    # mongodump takes no password variable: it reads it from a file, so it is on no command line
    # (any process of the host can read those).
    script_dump=Dump(
        "archive",
        'mongo_config {pw} && mongodump --config="$WORK/mongo.yaml" --host {host} '
        "--port {port} --username {user} --authenticationDatabase admin --db {name} "
        '--archive="$DUMP"',
    ),
    job_dump=Dump(
        "archive.gz",
        'umask 077 && printf \'password: "%s"\\n\' "$DB_PASSWORD" > /tmp/mongodump.yaml && '
        "mongodump --config=/tmp/mongodump.yaml --host={host} --port={port} "
        "--username={user} --authenticationDatabase=admin --db={name} --gzip "
        "--archive={file}",
    ),
    job_password_env="DB_PASSWORD",
    restore=(
        'umask 077 && printf \'password: "%s"\\n\' "${pw}" > /tmp/mongo.yaml && mongorestore '
        "--config=/tmp/mongo.yaml --drop --archive --host {host} --port {port} --username {user} "
        '--authenticationDatabase admin --nsInclude "{name}.*"'
    ),
    empty_check=None,
    # The MongoDB Database Tools are versioned apart from the server since 100.0 and dump every
    # supported server; the tools bundled with older servers dump their own series and older.
    client_must_be_newer=True,
    client_any_from=100,
    major_parts=2,
    major_parts_before=None,
    upgrade_rule="next-series",
    upgrade_method="in-place",
    series=("3.6", "4.0", "4.2", "4.4", "5.0", "6.0", "7.0", "8.0", "8.2"),
    volume_major_prefix="mongo",
    upgrade_how=(
        "the new server starts on the same files once featureCompatibilityVersion is the old series, "
        "one release series at a time, and featureCompatibilityVersion goes to the new series after"
    ),
)

# The server runs `--appendonly yes`, and then loads only its append-only files: a lone dump.rdb is
# ignored and the server starts empty. So the snapshot becomes the base of a fresh AOF, as redis 7's
# own rewrite leaves it (src/aof.c: a manifest line per file, `file NAME seq N type b|h|i`; a base
# starting with "REDIS" is read as an RDB; with no incr file the server opens a new one). Files only,
# no redis-server needed where it runs, and the same on 7.0-7.4. Built beside the old files and
# swapped in last, so a failed copy leaves the data as it was.
REDIS_AOF_DIR = "appendonlydir"
REDIS_AOF_BASE = "appendonly.aof.1.base.rdb"
REDIS_AOF_MANIFEST = f"file {REDIS_AOF_BASE} seq 1 type b"
REDIS_INSTALL_RDB = (
    f"rm -rf {{dir}}/{REDIS_AOF_DIR}.new && mkdir {{dir}}/{REDIS_AOF_DIR}.new && "
    f"cp {{file}} {{dir}}/{REDIS_AOF_DIR}.new/{REDIS_AOF_BASE} && "
    f"printf '%s\\n' '{REDIS_AOF_MANIFEST}' > {{dir}}/{REDIS_AOF_DIR}.new/appendonly.aof.manifest && "
    f'chown -R "$(stat -c %u:%g {{dir}})" {{dir}}/{REDIS_AOF_DIR}.new && '
    f"rm -rf {{dir}}/{REDIS_AOF_DIR} {{dir}}/appendonly.aof {{dir}}/dump.rdb && "
    f"mv {{dir}}/{REDIS_AOF_DIR}.new {{dir}}/{REDIS_AOF_DIR}"
)

REDIS = EngineFacts(
    name="redis",
    port=6379,
    default_version="7.4",
    image="redis:{version}",
    data_paths=((0, "/data"),),
    claim_subdir=None,
    # redis-cli reads REDISCLI_AUTH, so the check never puts the password on a command line.
    health="redis-cli ping | grep -q PONG",
    health_interval="1s",
    health_retries=30,
    url="redis://:{password}@{host}:{port}/{name}",
    user="default",
    database="0",
    tls_options=(),
    server_user="redis",
    # The official image has no password variable. The shell writes it into the server's standard
    # input (`-`: configuration from stdin): on no command line that `ps` shows, not in the pod spec.
    start_script="exec redis-server - --appendonly yes --dir {data_dir} <<EOF\nrequirepass $REDIS_PASSWORD\nEOF",
    dump_tool="redis-cli",
    # --rdb makes the server write a fresh RDB (its BGSAVE) and streams it here.
    script_dump=Dump("rdb", 'REDISCLI_AUTH={pw} redis-cli -h {host} -p {port} --rdb "$DUMP"'),
    job_dump=Dump("rdb", "redis-cli -h {host} -p {port} --rdb {file}"),
    job_password_env="REDISCLI_AUTH",
    restore=None,
    empty_check='test "$(REDISCLI_AUTH="${pw}" redis-cli -h {host} dbsize)" = 0',
    # redis-cli --rdb streams the server's own file: any client version works.
    client_must_be_newer=False,
    client_any_from=None,
    major_parts=1,
    major_parts_before=None,
    upgrade_rule="any-newer",
    upgrade_method="in-place",
    volume_major_prefix="redis",
    upgrade_how="the new server reads the old RDB and AOF files as they are (an older one would refuse them)",
    install_snapshot=REDIS_INSTALL_RDB,
)

ENGINES: dict[str, EngineFacts] = {facts.name: facts for facts in (POSTGRES, MYSQL, MONGODB, REDIS)}
DEFAULT_VERSIONS = {name: facts.default_version for name, facts in ENGINES.items()}
PORTS = {name: facts.port for name, facts in ENGINES.items()}

# Engine → the backends whose deploy carries out a supported major upgrade itself (a new server on
# a new volume, the data copied across, the old volume kept). The upgrades work adds a backend here
# when its deploy does the upgrade; until then the guard stops a major bump as data loss.
# postgres, mysql: `upgraded_from` in the spec (flashdrive/docker/upgrade.py, kubernetes/upgrade.py); redis:
# the new server on the same volume reads the old files.
DEPLOY_UPGRADES: dict[str, frozenset[str]] = {
    **{name: frozenset() for name in ENGINES},
    "postgres": frozenset({"docker", "kubernetes"}),
    "mysql": frozenset({"docker", "kubernetes"}),
    "redis": frozenset({"docker", "kubernetes"}),
}


def upgrade_path(engine_name: str, old: str, new: str) -> Upgrade | None:
    """The supported upgrade between two versions of an engine, whoever carries it out."""
    return ENGINES[engine_name].upgrade(old, new)


def major_upgrade_supported(engine_name: str, old: str, new: str, backend: str) -> Upgrade | None:
    """The upgrade from `old` to `new` that a deploy on `backend` carries out itself, or None when the
    deploy would start the new major on the old data (the guard stops that)."""
    if backend not in DEPLOY_UPGRADES.get(engine_name, frozenset()):
        return None
    return upgrade_path(engine_name, old, new)


# --- Restore drills (flashdrive/backup_drill.py, flashdrive/operations/backup_verify.py) ---------
#
# How a drill proves a dump loads: into a fresh, empty server of the engine, which then counts what
# it holds. The shell texts read the dump on standard input, the connection from their environment
# (`connect_env` in a scratch container of the live image; `start`'s exports in the backup image),
# and print `name=count` lines.


class DrillFacts(Struct, frozen=True):
    load_and_count: str
    counted: str  # what the counts are, after "N ": ROWS is their sum
    # The scheduled drill's server inside the backup image (no container may be started there), in
    # $DRILL_DIR, run as an unprivileged user: how it starts and stops, its binaries, its version.
    start: str
    stop: str
    servers: str
    version: str
    # `flashdrive backup verify`'s scratch container of the live image: its env (throwaway
    # `{password}`), the env a check runs with in it, and a command replacing the image's
    # (`{dump}`: the dump's path in it), when the dump must be in place before the server starts.
    scratch_env: dict[str, str]
    connect_env: dict[str, str]
    scratch_command: str | None = None


def _restore_into_drill(facts: EngineFacts, host: str, user: str) -> str:
    """The engine's own restore command (`flashdrive backup restore` runs it too), into `drill`."""
    assert facts.restore is not None, facts.name
    return facts.restore.format(pw="DRILL_PASSWORD", host=host, port=facts.port, user=user, name="drill")


_DRILL_LOAD_AND_COUNT = {
    # Into a database of its own, with the restore's own command; grants to roles a fresh server
    # lacks are left out (the live server has them). A dump that does not load fully fails.
    "postgres": """\
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE drill' >/dev/null
"""
    + _restore_into_drill(POSTGRES, '"$PGHOST"', '"$PGUSER"')
    + """ --no-privileges
psql -X -tA -F= -v ON_ERROR_STOP=1 -d drill <<'SQL'
SELECT format('SELECT %L, count(*) FROM %I.%I', schemaname || '.' || tablename, schemaname, tablename)
FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 \\gexec
SQL
""",
    "mysql": """\
MYSQL_CONNECT="--host $MYSQL_HOST --user root"
MYSQL_PWD=$DRILL_PASSWORD mysql $MYSQL_CONNECT -e 'CREATE DATABASE drill'
"""
    + _restore_into_drill(MYSQL, '"$MYSQL_HOST"', "root")
    + """
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
_DRILL_START = {
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

_DRILL_STOP = {
    "postgres": 'pg_ctl -D "$DRILL_DIR/data" -m immediate stop >/dev/null 2>&1',
    "mysql": "mysqladmin -h 127.0.0.1 -uroot shutdown >/dev/null 2>&1",
    "mongodb": 'mongod --dbpath "$DRILL_DIR/data" --shutdown >/dev/null 2>&1',
    "redis": "redis-cli $REDIS_CONNECT shutdown nosave >/dev/null 2>&1",
}

# The server binary each engine's in-image check needs, and how it names its version.
_DRILL_SERVER = {"postgres": "postgres", "mysql": "mariadbd mysqld", "mongodb": "mongod", "redis": "redis-server"}
_DRILL_VERSION = {
    "postgres": "postgres --version | awk '{ print \"postgres \" $3 }'",
    "mysql": "$(command -v mariadbd || command -v mysqld) --version | sed -n 's/.* Ver \\([^ ]*\\).*/mysql \\1/p'",
    "mongodb": "mongod --version | sed -n 's/^db version v/mongodb /p'",
    "redis": "redis-server --version | sed -n 's/.* v=\\([^ ]*\\).*/redis \\1/p'",
}
# What the counts are, after "N ": ROWS is their sum.
_DRILL_COUNTED = {
    "postgres": "tables answered count(*): ROWS rows",
    "mysql": "tables answered COUNT(*): ROWS rows",
    "mongodb": "collections answered countDocuments(): ROWS documents",
    "redis": "databases with keys in INFO keyspace: ROWS keys",
}


DRILLS: dict[str, DrillFacts] = {
    "postgres": DrillFacts(
        _DRILL_LOAD_AND_COUNT["postgres"],
        _DRILL_COUNTED["postgres"],
        _DRILL_START["postgres"],
        _DRILL_STOP["postgres"],
        _DRILL_SERVER["postgres"],
        _DRILL_VERSION["postgres"],
        # The image's entrypoint makes the superuser `drill`; the check creates the database.
        scratch_env={"POSTGRES_USER": "drill", "POSTGRES_PASSWORD": "{password}", "POSTGRES_DB": "postgres"},
        connect_env={"PGHOST": "/var/run/postgresql", "PGUSER": "drill"},
    ),
    "mysql": DrillFacts(
        _DRILL_LOAD_AND_COUNT["mysql"],
        _DRILL_COUNTED["mysql"],
        _DRILL_START["mysql"],
        _DRILL_STOP["mysql"],
        _DRILL_SERVER["mysql"],
        _DRILL_VERSION["mysql"],
        scratch_env={"MYSQL_ROOT_PASSWORD": "{password}"},
        connect_env={"MYSQL_HOST": "127.0.0.1", "DRILL_PASSWORD": "{password}"},
    ),
    "mongodb": DrillFacts(
        _DRILL_LOAD_AND_COUNT["mongodb"],
        _DRILL_COUNTED["mongodb"],
        _DRILL_START["mongodb"],
        _DRILL_STOP["mongodb"],
        _DRILL_SERVER["mongodb"],
        _DRILL_VERSION["mongodb"],
        scratch_env={},
        connect_env={"MONGO_CONNECT": "--host 127.0.0.1"},
    ),
    "redis": DrillFacts(
        _DRILL_LOAD_AND_COUNT["redis"],
        _DRILL_COUNTED["redis"],
        _DRILL_START["redis"],
        _DRILL_STOP["redis"],
        _DRILL_SERVER["redis"],
        _DRILL_VERSION["redis"],
        scratch_env={},
        connect_env={"REDIS_CONNECT": "-h 127.0.0.1"},
        # Redis reads its data only at start: the dump, copied where the server may write, is it.
        scratch_command=(
            "mkdir -p /tmp/drill && cp {dump} /tmp/drill/dump.rdb && "
            "exec redis-server --dir /tmp/drill --dbfilename dump.rdb --appendonly no --save ''"
        ),
    ),
}
