"""A database's major upgrade on Docker, run by `pulumi up` before the new server replaces the old.

`upgraded_from: ["15"]` with `version: "17"`: the new major runs on a new volume
(`<stack>-db-<name>-pg17`), the old volume keeps its name and stays, retained, as the way back. A
`command:local:Command` (like the release, flashdrive/docker/release.py) fills the new volume before
the database's container is replaced; the container depends on it, so a failed copy stops the deploy
with the old server running again, untouched. The script drives the Docker CLI:

1. Looks at both volumes (one throwaway container mounting them, the old one read-only): the new
   volume already holds a finished copy (its marker file) and the old one has not changed since →
   nothing to do; the old one changed after the copy (the database ran on the old major again) →
   stop, both hold data the other lacks; the old volume holds no data → the new one is only
   initialised; else the copy goes ahead, over whatever an interrupted copy left on the new volume.
2. Stops the running server (the old major, on the old volume) with its clean-shutdown grace. From
   here no app, scheduled job, release or session can write to the data being copied: rolling copies
   of the apps keep running but reach no server until the new one answers (so no write is lost).
3. Starts the new major on the new volume (network none) and the old major on the old volume in the
   same network namespace, on 127.0.0.1 only; the new one's client dumps the old server (the dump
   a client dumps older servers, never newer ones) and pipes it into the new one, then analyses it.
4. Stops both cleanly, writes the marker (after the old server's last write, for step 1), exits 0.
   On any failure: the temporary servers are removed and the old server started again.

Secrets: the password reaches the script through the Command's environment and the containers by
name (`--env NAME`), never on a command line. Which engines, and their steps: engines.CopyUpgrade (postgres,
mysql).
"""

from __future__ import annotations

import shlex

import pulumi
import pulumi_command as command

from flashdrive.docker.hardening import DATA_IMAGE_CAPABILITIES, one_off_flags
from flashdrive.labels import LABEL_ROLE, LABEL_STACK, ROLE_UPGRADE
from flashdrive.major_upgrade import (
    MARKER,
    OLD_PORT,
    READY_TIMEOUT_S,
    copy_script,
    foreign_error,
    initialised_path,
    look_script,
    old_server,
    ready,
    steps,
    supported,
    target_env,
)
from flashdrive.model.stack import ResolvedDatabase


def in_progress_volume(db: ResolvedDatabase) -> str:
    return f"{db.volume_name}.upgrade-in-progress"


def upgrade_script(stack: str, db: ResolvedDatabase, grace: int) -> str:
    """The shell script the Command runs: names, images and flags; never a password. `grace`:
    the seconds a server gets to shut down cleanly, as the database's container has."""
    earlier = db.upgraded_from
    assert earlier is not None and supported(db.engine)
    q = shlex.quote
    size = db.size
    labels = f"--label={LABEL_STACK}={stack} --label={LABEL_ROLE}={ROLE_UPGRADE}"
    harden = " ".join(
        [*one_off_flags(memory=f"{size.memory_mib}m", cpus=size.cpus, add_capabilities=DATA_IMAGE_CAPABILITIES), labels]
    )
    old_mount = f"--mount=type=volume,source={earlier.volume_name},target={earlier.data_dir}"
    new_mount = f"--mount=type=volume,source={db.volume_name},target={db.data_dir}"
    both = (
        f"--mount=type=volume,source={earlier.volume_name},target=/old,readonly "
        f"--mount=type=volume,source={db.volume_name},target=/new"
    )
    look = look_script(
        "/old", "/new", initialised_path(db.engine, earlier.version, "docker"), '[ "$FLASHDRIVE_INTERRUPTED" = yes ]'
    )
    # Exists from before the new volume is emptied until the copy's marker is on: what the new
    # volume holds meanwhile is the copy's own (a file in it would make initdb refuse the volume).
    in_progress = in_progress_volume(db)
    what = f"{db.engine} {earlier.major} to {db.major}"
    kept = (
        f"the old server runs again on volume {earlier.volume_name}, unchanged; the next `up` copies again "
        f"into {db.volume_name}"
    )
    credentials = " ".join(f"--env={name}" for name in steps(db.engine).credentials)
    ready_new, ready_old = ready(db, db.port), ready(db, OLD_PORT)
    lines = [
        "set -u",
        f"server={q(f'{stack}-{db.name}')}",
        f"work_new={q(f'{stack}-{db.name}-upgrade')}",
        f"work_old={q(f'{stack}-{db.name}-upgrade-from')}",
        f"harden={q(harden)}",
        'note() { echo "flashdrive-upgrade: $*"; }',
        'cleanup() { docker rm -f "$work_new" "$work_old" >/dev/null 2>&1; }',
        "fail() {",
        '  cleanup; echo "error: $1" >&2',
        f'  if [ "$was_running" = true ]; then docker start "$server" >/dev/null && echo {q(kept)} >&2; fi',
        "  exit 1",
        "}",
        "was_running=false",
        "cleanup  # what an interrupted upgrade left behind",
        "started=$(date +%s)",
        f"in_progress={q(in_progress)}",
        'if docker volume inspect "$in_progress" >/dev/null 2>&1; then interrupted=yes; else interrupted=no; fi',
        f"state=$(docker run --rm $harden --network=none --env=FLASHDRIVE_INTERRUPTED=$interrupted --entrypoint=sh "
        f'{both} "$NEW_IMAGE" -c {q(look)}) '
        "|| { echo 'error: cannot read the volumes' >&2; exit 1; }",
        'case "$state" in',
        f"  copied) note {q(f'{db.volume_name} already holds the copy from {earlier.volume_name}, which has not changed since: nothing to do')}; exit 0 ;;",
        f"  diverged) echo {q(f'error: volume {earlier.volume_name} ({db.engine} {earlier.major}) was written to after its data was copied to {db.volume_name}: the database ran on the old major again, so each volume holds data the other lacks, and flashdrive will not choose. To copy the {earlier.major} data again: save what you need from {db.volume_name}, `docker volume rm {db.volume_name}`, and deploy again. Nothing was changed.')} >&2; exit 1 ;;",
        f"  foreign) echo {q(foreign_error(db.volume_name, 'volume', f'`docker volume rm {db.volume_name}`'))} >&2; exit 1 ;;",
        "esac",
        'was_running=$(docker inspect --format "{{.State.Running}}" "$server" 2>/dev/null || echo false)',
        'if [ "$was_running" = true ]; then',
        f"  note {q(f'stopping the {earlier.major} server: nothing can write to the data while it is copied')}",
        f'  docker stop --time {grace} "$server" >/dev/null || fail "cannot stop $server"',
        "fi",
        # An interrupted copy's files go (the look allowed only those or nothing): nothing else writes
        # this volume before the marker.
        f'docker volume create --label={LABEL_STACK}={stack} --label={LABEL_ROLE}={ROLE_UPGRADE} "$in_progress" '
        f">/dev/null || fail 'cannot mark {db.volume_name} as being filled'",
        f'docker run --rm $harden --network=none --entrypoint=sh {both} "$NEW_IMAGE" '
        f"-c 'find /new -mindepth 1 -delete' || fail 'cannot empty {db.volume_name}'",
        'if [ "$state" = copy ]; then init_env='
        + q(f"--env={target_env(db, copy=True)}")
        + "; else init_env="
        + q(f"--env={target_env(db, copy=False)}")
        + "; fi",
        f'docker run -d --name "$work_new" $harden --network=none {new_mount} {credentials} $init_env '
        f"\"$NEW_IMAGE\" >/dev/null || fail 'cannot start the {db.major} server'",
        'if [ "$state" = copy ]; then',
        f'  docker run -d --name "$work_old" $harden --network=container:"$work_new" {old_mount} '
        f'"$OLD_IMAGE" {" ".join(q(a) for a in old_server(db))} >/dev/null '
        f"|| fail 'cannot start the {earlier.major} server on {earlier.volume_name}'",
        "fi",
        "waited=0",
        f'until docker exec "$work_new" {ready_new} && {{ [ "$state" != copy ] || docker exec "$work_new" {ready_old}; }}; do',
        '  for c in "$work_new" $([ "$state" = copy ] && echo "$work_old"); do',
        '    if [ "$(docker inspect --format "{{.State.Running}}" "$c")" != true ]; then',
        '      docker logs --tail 30 "$c" >&2; fail "$c stopped before it answered"',
        "    fi",
        "  done",
        f'  [ "$waited" -ge {READY_TIMEOUT_S} ] && fail "the servers did not answer within {READY_TIMEOUT_S} s"',
        "  sleep 1; waited=$((waited + 1))",
        "done",
        'if [ "$state" = copy ]; then',
        f"  note {q(f'copying {earlier.volume_name} into {db.volume_name} ({what})')}",
        f'  docker exec "$work_new" sh -c {q(copy_script(db))} >&2 || fail {q(f"the copy ({what}) failed")}',
        f'  docker stop --time {grace} "$work_old" >/dev/null || fail "cannot stop the old server"',
        "fi",
        f'docker stop --time {grace} "$work_new" >/dev/null || fail "cannot stop the new server"',
        f'docker run --rm $harden --network=none --entrypoint=sh {both} "$NEW_IMAGE" '
        f"-c {q(f'echo {what} > /new/{MARKER}')} || fail 'cannot mark the copy finished'",
        'docker volume rm "$in_progress" >/dev/null || note "volume $in_progress is left: remove it"',
        "cleanup",
        f'note "{what}: done in $(( $(date +%s) - started )) s; volume {earlier.volume_name} is kept as it was"',
    ]
    return "\n".join(lines) + "\n"


def upgrade_command(
    resource_name: str,
    stack: str,
    db: ResolvedDatabase,
    host: str,
    variables: dict[str, pulumi.Input[str]],
    grace: int,
    opts: pulumi.ResourceOptions,
) -> command.local.Command:
    """The upgrade as a pulumi-command local Command; replaced (run again) when what it copies from
    or to changes. `variables`: the database container's credentials env, by name (the ones the
    engine's steps name reach the servers). Inputs used: create, environment, triggers, logging."""
    earlier = db.upgraded_from
    assert earlier is not None
    return command.local.Command(
        resource_name,
        create=upgrade_script(stack, db, grace),
        environment={
            "DOCKER_HOST": host,
            "OLD_IMAGE": earlier.image,
            "NEW_IMAGE": db.image,
            **{name: variables[name] for name in steps(db.engine).credentials},
        },
        triggers=[earlier.image, earlier.volume_name, db.image, db.volume_name],
        # Progress lines only on stdout; the engine's messages (which may quote data) on stderr.
        logging=command.local.Logging.STDOUT,
        add_previous_output_in_env=False,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["stderr"])),
    )
