"""A database's major upgrade on Kubernetes: a Job between the two StatefulSets.

`upgraded_from: ["15"]` with `version: "17"`: the old major's StatefulSet stays declared with 0
replicas (its pod stops cleanly; its claim keeps the data, retained: to go back, scale the new
set to 0 first and only then the old one to 1, as both sets' pods answer behind one Service; and
take `upgraded_from` and the version back in the spec, as a later `up` scales them again), the Job copies the data, and the new major's StatefulSet, on a claim of its own
(`<stack>-db-<name>-pg17`), starts only after the Job completed. The Service selects both sets'
pods; only one ever runs. While the Job copies, no server answers on the database's name, so no
app, job or session writes to data being copied.

The Job's pod mounts both claims: a container of the old image runs the old server on its claim
(127.0.0.1 only), a container of the new image decides what to do (flashdrive/major_upgrade.py:
nothing, stop, initialise, or copy), starts the new server on the new claim and copies with the
new major's client; they meet through files on a shared scratch volume. A failed Job fails the
deploy before the new StatefulSet; the next `pulumi up` replaces it (replaceUnready) and copies
again from the unchanged old claim.
"""

from __future__ import annotations

import shlex

import pulumi
import pulumi_kubernetes as k8s

from flashdrive.engines import ENGINES
from flashdrive.kubernetes.hardening import (
    DATABASE_UID,
    container_security,
    labels,
    pod_defaults,
    pod_labels,
    pod_security,
    resources,
)
from flashdrive.major_upgrade import (
    IN_PROGRESS,
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
    target_env,
)
from flashdrive.model.stack import ResolvedDatabase

SHARED = "/flashdrive-upgrade"  # scratch volume: the decision, "copy done", "old server stopped"
OLD_ROOT = "/old"  # the old claim, read-only, in the copy container
# pulumi-kubernetes: a Job that failed is replaced by the next `up` instead of waited on forever.
REPLACE_UNREADY = "pulumi.com/replaceUnready"
# How long `pulumi up` waits for the copy; a large database takes its time.
TIMEOUT = "6h"


def _data_dir(db: ResolvedDatabase) -> str:
    """Where the server keeps its data on the claim (one level below its root: lost+found)."""
    below = ENGINES[db.engine].claim_subdir
    return f"{db.data_dir}/{below}" if below else db.data_dir


def _server_args(db: ResolvedDatabase, args: tuple[str, ...]) -> str:
    """The server's arguments after the image's entrypoint; mysql is told its data directory
    (postgres reads PGDATA from its env)."""
    extra = (f"--datadir={_data_dir(db)}",) if db.engine == "mysql" else ()
    return " ".join(shlex.quote(a) for a in (*args, *extra))


def _old_pod_gone(old: ResolvedDatabase) -> str:
    """Waits while the old set's pod may still run its server on the claim: scaled to 0, it gets its
    grace period to stop, and the Job may start meanwhile (on the same node a ReadWriteOnce claim
    mounts twice). A second postgres there would take the other's postmaster.pid for stale (its
    PID is in another namespace) and both would write the data. A clean stop removes the file; past
    the grace period the kubelet has killed the server, and the file left is stale indeed."""
    from flashdrive.kubernetes.database import SHUTDOWN_SECONDS  # that module builds this one's Job

    lock = ENGINES[old.engine].lock_file
    if lock is None:
        return ""
    path = shlex.quote(f"{_data_dir(old)}/{lock}")
    limit = SHUTDOWN_SECONDS + 30
    return f'  waited=0\n  while [ -e {path} ] && [ "$waited" -lt {limit} ]; do sleep 1; waited=$((waited + 1)); done\n'


def _old_script(old: ResolvedDatabase) -> str:
    """The old server, started only when the copy container decided to copy; stopped cleanly when
    the copy is done (or the copy container gave up)."""
    start = _server_args(old, old_server(old))
    return f"""\
until [ -s {SHARED}/state ] || [ -e {SHARED}/done ]; do sleep 1; done
code=0
if [ "$(cat {SHARED}/state 2>/dev/null)" = copy ]; then
{_old_pod_gone(old)}  docker-entrypoint.sh {start} &
  pid=$!
  until [ -e {SHARED}/done ]; do
    kill -0 "$pid" 2>/dev/null || {{ echo "the old server stopped"; touch {SHARED}/old-stopped; exit 1; }}
    sleep 1
  done
  kill -{steps(old.engine).stop_signal} "$pid"; wait "$pid"; code=$?
fi
touch {SHARED}/old-stopped
exit "$code"
"""


def _copy_script(db: ResolvedDatabase, old: ResolvedDatabase, new_root: str) -> str:
    look = look_script(
        OLD_ROOT, new_root, initialised_path(old.engine, old.version, "kubernetes"), f"[ -e {new_root}/{IN_PROGRESS} ]"
    )
    what = f"{db.engine} {old.major} to {db.major}"
    target_name, target_value = target_env(db, copy=True).split("=", 1)
    ready_new, ready_old = ready(db, db.port), ready(db, OLD_PORT)
    server = _server_args(db, steps(db.engine).server)
    return f"""\
set -u
trap 'touch {SHARED}/done' EXIT
state=$(sh -c {shlex.quote(look)}) || exit 1
echo "$state" > {SHARED}/state
case "$state" in
  copied) echo {shlex.quote(f"{db.volume_name} already holds the copy from {old.volume_name}: nothing to do")}; exit 0 ;;
  diverged) echo {shlex.quote(f"error: claim {old.volume_name} was written to after its data was copied to {db.volume_name}: each holds data the other lacks, and flashdrive will not choose. To copy the {old.major} data again: save what you need from {db.volume_name}, delete that claim, and deploy again.")} >&2; exit 1 ;;
  foreign) echo {shlex.quote(foreign_error(db.volume_name, "claim", "delete that claim"))} >&2; exit 1 ;;
  *) touch {new_root}/{IN_PROGRESS} || exit 1 ;;  # from here the claim's files are the copy's own
esac
rm -rf {shlex.quote(_data_dir(db))} {new_root}/{MARKER} || exit 1
[ "$state" = copy ] && export {target_name}={shlex.quote(target_value)}
docker-entrypoint.sh {server} &
server=$!
waited=0
until {ready_new} && {{ [ "$state" != copy ] || {ready_old}; }}; do
  kill -0 "$server" 2>/dev/null || {{ echo "the {db.major} server stopped before it answered" >&2; exit 1; }}
  [ "$waited" -ge {READY_TIMEOUT_S} ] && {{ echo "the servers did not answer within {READY_TIMEOUT_S} s" >&2; exit 1; }}
  sleep 1; waited=$((waited + 1))
done
if [ "$state" = copy ]; then
  echo {shlex.quote(f"copying {old.volume_name} into {db.volume_name} ({what})")}
  sh -c {shlex.quote(copy_script(db))} >&2 || {{ echo {shlex.quote(f"error: the copy ({what}) failed")} >&2; exit 1; }}
  touch {SHARED}/done
  until [ -e {SHARED}/old-stopped ]; do sleep 1; done
fi
kill -{steps(db.engine).stop_signal} "$server"; wait "$server" || exit 1
echo {shlex.quote(what)} > {new_root}/{MARKER}
rm -f {new_root}/{IN_PROGRESS}
echo {shlex.quote(f"{what}: done; claim {old.volume_name} is kept as it was")}
"""


def upgrade_job(
    stack: str,
    db: ResolvedDatabase,
    old: ResolvedDatabase,
    namespace: pulumi.Input[str],
    env: dict[str, list[dict]],
    claims: tuple[pulumi.Input[str], pulumi.Input[str]],
    pull_secrets: tuple[str, ...],
    opts: pulumi.ResourceOptions,
) -> k8s.batch.v1.Job:
    """`env`: each server's credentials env ("old", "new"), as its StatefulSet has them; `claims`:
    the old and the new claim's names."""
    old_claim, new_claim = claims

    def container(name: str, image: str, script: str, mounts: list[dict], variables: list[dict]) -> dict:
        return {
            "name": name,
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["sh", "-c", script],
            "env": variables,
            "resources": resources(db.size),
            "securityContext": container_security(DATABASE_UID),
            "volumeMounts": [*mounts, {"name": "shared", "mountPath": SHARED}],
        }

    return k8s.batch.v1.Job(
        # Keyed by both majors, as its name is: with the spec ignored after create, a change of
        # `upgraded_from` must make a new Job, not replace this one with its old spec.
        f"{db.volume_name}-upgrade-from-{old.major}",
        metadata={
            "name": f"{db.name}-upgrade-{old.major}-{db.major}".replace(".", "-"),
            "namespace": namespace,
            "labels": labels(stack, db.name, "upgrade"),
            "annotations": {REPLACE_UNREADY: "true"},
        },
        spec={
            # One attempt: a failure stops the deploy with the old claim unchanged.
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": pod_labels(stack, db.name, "upgrade", egress=False)},
                "spec": {
                    **pod_defaults(pull_secrets),
                    "restartPolicy": "Never",
                    "securityContext": pod_security(run_as_user=DATABASE_UID, fs_group=DATABASE_UID),
                    "containers": [
                        container(
                            "old", old.image, _old_script(old), [{"name": "old", "mountPath": old.data_dir}], env["old"]
                        ),
                        container(
                            "copy",
                            db.image,
                            _copy_script(db, old, db.data_dir),
                            [
                                {"name": "new", "mountPath": db.data_dir},
                                {"name": "old", "mountPath": OLD_ROOT, "readOnly": True},
                            ],
                            env["new"],
                        ),
                    ],
                    "volumes": [
                        {"name": "old", "persistentVolumeClaim": {"claimName": old_claim}},
                        {"name": "new", "persistentVolumeClaim": {"claimName": new_claim}},
                        {"name": "shared", "emptyDir": {"sizeLimit": "1Mi"}},
                    ],
                },
            },
        },
        opts=pulumi.ResourceOptions.merge(
            opts,
            pulumi.ResourceOptions(
                custom_timeouts=pulumi.CustomTimeouts(create=TIMEOUT, update=TIMEOUT),
                # The copy runs once per (old major, new major), which the Job's name holds: a later change
                # of size, image tag or pull secrets must not replace it (a Job's template is immutable),
                # which would run a second copy container on the live claim.
                ignore_changes=["spec"],
            ),
        ),
    )
