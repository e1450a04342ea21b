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

from flashdrive.engines import ENGINES, CopyUpgrade
from flashdrive.model.stack import ResolvedDatabase

MARKER = ".flashdrive-upgrade"  # in the new volume's root: the copy finished
# In the claim's root on Kubernetes: a copy started filling the new claim and has not finished, so
# what it holds is the copy's own and may go. (Docker keeps this fact in a volume beside the new
# one instead: postgres up to 17 keeps its data in the volume's root, where initdb refuses any file.)
IN_PROGRESS = ".flashdrive-upgrade-in-progress"
OLD_PORT = 5433  # the temporary old server's port, beside the new one in one network namespace
READY_TIMEOUT_S = 300  # a server's start (crash recovery included) before the copy gives up


def steps(engine: str) -> CopyUpgrade:
    found = ENGINES[engine].copy_upgrade
    assert found is not None, f"no copy upgrade for {engine}"
    return found


def supported(engine: str) -> bool:
    return ENGINES[engine].copy_upgrade is not None


def copy_script(db: ResolvedDatabase) -> str:
    """The copy, run in the new major's container with both servers up."""
    return steps(db.engine).copy.format(port=db.port, old_port=OLD_PORT)


def ready(db: ResolvedDatabase, port: int) -> str:
    return steps(db.engine).ready.format(port=port)


def old_server(db: ResolvedDatabase) -> tuple[str, ...]:
    return tuple(a.format(old_port=OLD_PORT) for a in steps(db.engine).old_server)


def target_env(db: ResolvedDatabase, copy: bool) -> str:
    """NAME=value that initialises the new server: for a copy, or with nothing to copy."""
    chosen = steps(db.engine).copy_target_env if copy else steps(db.engine).fresh_env
    return chosen.format(name=db.database)


def initialised_path(engine: str, version: str, backend: str) -> str:
    """Where the engine's file that marks an initialised data directory is, below the volume's root
    (engines: the official postgres 18+ image keeps PGDATA in `18/docker`; Kubernetes one level down)."""
    below = ENGINES[engine].volume_data_dir(version, backend)
    initialised = steps(engine).initialised
    return f"{below}/{initialised}" if below else initialised


def look_script(old_root: str, new_root: str, initialised: str, interrupted: str) -> str:
    """Prints what to do: copied (nothing), diverged (stop), copy, or empty (initialise only); or
    foreign (stop): the new volume holds files but neither marker, and `interrupted` (a shell test)
    says no copy of ours left them. Such a volume may be a live database (restored by hand, or the
    copy's marker lost): only an empty new volume or our interrupted copy's leftovers get emptied."""
    holds = f"ls -A {new_root} | grep -q -v -x -e lost+found -e {IN_PROGRESS}"
    return (
        f"if [ -f {new_root}/{MARKER} ]; then "
        f'if [ -n "$(find {old_root} -newer {new_root}/{MARKER} -type f | head -n 1)" ]; then echo diverged; '
        f"else echo copied; fi; elif {holds} && ! {interrupted}; then echo foreign; "
        f"elif [ -s {old_root}/{initialised} ]; then echo copy; else echo empty; fi"
    )


def foreign_error(volume: str, kind: str, remove: str) -> str:
    """The error of the `foreign` state: names the volume and the ways on."""
    return (
        f"error: {kind} {volume} holds data but no mark of flashdrive's copy (none finished, none interrupted): "
        f"it may be a database that serves, so flashdrive will not empty it. Nothing was changed. If its data is "
        f"what the new major should serve, add the copy's marker: echo done > {MARKER} in its root; if it is "
        f"not needed, {remove} and deploy again."
    )
