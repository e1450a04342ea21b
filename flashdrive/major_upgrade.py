"""What a database's major upgrade does, whichever backend runs it (docker/upgrade.py: a Command
driving the Docker CLI; kubernetes/upgrade.py: a Job between the two StatefulSets).

The copy runs in a container of the NEW major's image: its client dumps the old server (a client
dumps older servers, never newer ones) and restores into the new one beside it. Before copying, a
look at both data directories decides (`look_script`): a finished copy whose old data has not
changed since is not made again; old data written after the copy (the old major ran again) stops
the upgrade, as each side then holds data the other lacks; no old data: the new server is only
initialised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flashdrive.model.stack import ResolvedDatabase

MARKER = ".flashdrive-upgrade"  # in the new volume's root: the copy finished
OLD_PORT = 5433  # the temporary old server's port, beside the new one in one network namespace
READY_TIMEOUT_S = 300  # a server's start (crash recovery included) before the copy gives up


def _postgres_copy(db: ResolvedDatabase) -> str:
    """In the new server's container: pg_dumpall of the old server piped into the new one. psql
    goes on past errors, as pg_dumpall's output expects (it creates every role, the one the new
    server was initialised with included); any other error fails the copy."""
    port = db.port
    return f"""\
export PGPASSWORD="$POSTGRES_PASSWORD"
{{ pg_dumpall --host 127.0.0.1 --port {OLD_PORT} --username "$POSTGRES_USER" --no-password 2>/tmp/dump.err
  echo $? > /tmp/dump.exit; }} |
  psql --host 127.0.0.1 --port {port} --username "$POSTGRES_USER" --dbname postgres --no-password --no-psqlrc \\
       --quiet >/dev/null 2>/tmp/restore.err
if [ "$(cat /tmp/dump.exit)" != 0 ]; then echo "pg_dumpall failed:"; cat /tmp/dump.err; exit 1; fi
if grep ERROR /tmp/restore.err | grep -v "ERROR:  role \\"$POSTGRES_USER\\" already exists" > /tmp/errors; then
  echo "the restore into the new server failed:"; head -n 20 /tmp/errors; exit 1
fi
databases='select datname from pg_database where not datistemplate order by 1'
old=$(psql -h 127.0.0.1 -p {OLD_PORT} -U "$POSTGRES_USER" -d postgres -w -X -At -c "$databases") || exit 1
new=$(psql -h 127.0.0.1 -p {port} -U "$POSTGRES_USER" -d postgres -w -X -At -c "$databases") || exit 1
if [ "$old" != "$new" ]; then echo "databases before: $old; after: $new"; exit 1; fi
vacuumdb --host 127.0.0.1 --port {port} --username "$POSTGRES_USER" --no-password --all --analyze-only --quiet
"""


@dataclass(frozen=True)
class EngineSteps:
    """What the script needs to know of an engine."""

    initialised: str  # the file that says a data directory is initialised, below PGDATA
    old_server: tuple[str, ...]  # the old server's arguments after the entrypoint, on OLD_PORT, 127.0.0.1
    ready: str  # a readiness check of a port ({port}), run in the new server's container
    copy: Callable[[ResolvedDatabase], str]  # the copy, run in the new server's container
    credentials: tuple[str, str]  # the user's and the password's variables of the image's contract
    # The env that initialises the new server: before a copy without the database the restore
    # creates (no empty one first); with nothing to copy, with it.
    copy_target_env: Callable[[ResolvedDatabase], str]
    fresh_env: Callable[[ResolvedDatabase], str]


ENGINE_STEPS = {
    "postgres": EngineSteps(
        initialised="PG_VERSION",
        old_server=("postgres", "-p", str(OLD_PORT), "-c", "listen_addresses=127.0.0.1"),
        ready="pg_isready -q -h 127.0.0.1 -p {port}",
        copy=_postgres_copy,
        credentials=("POSTGRES_USER", "POSTGRES_PASSWORD"),
        copy_target_env=lambda db: "POSTGRES_DB=postgres",
        fresh_env=lambda db: f"POSTGRES_DB={db.database}",
    ),
}


def supported(engine: str) -> bool:
    return engine in ENGINE_STEPS


def initialised_path(db: ResolvedDatabase, major: str, data_below_mount: str | None) -> str:
    """Where the engine's file that marks an initialised data directory is, below the volume's
    root: the official postgres 18+ image keeps PGDATA in `<major>/docker` below its mount point;
    on Kubernetes the data sits one level down (`data_below_mount`, ENGINES' claim_subdir)."""
    steps = ENGINE_STEPS[db.engine]
    if data_below_mount:
        return f"{data_below_mount}/{steps.initialised}"
    if db.engine == "postgres" and major.isdigit() and int(major) >= 18:
        return f"{major}/docker/{steps.initialised}"
    return steps.initialised


def look_script(old_root: str, new_root: str, initialised: str) -> str:
    """Prints what to do: copied (nothing), diverged (stop), copy, or empty (initialise only)."""
    return (f"if [ -f {new_root}/{MARKER} ]; then "
            f"if [ -n \"$(find {old_root} -newer {new_root}/{MARKER} -type f | head -n 1)\" ]; then echo diverged; "
            f"else echo copied; fi; elif [ -s {old_root}/{initialised} ]; then echo copy; else echo empty; fi")
