"""What every object and pod of a stack gets: recommended labels, the Pod Security Standards
"restricted" profile, resources from the sizes table.

The namespace enforces "restricted" too, so a pod that drifts from it is refused by the cluster
instead of running with more privilege than the spec asked for.
"""

from __future__ import annotations

from flashdrive.labels import K8S_COMPONENT as COMPONENT
from flashdrive.labels import K8S_MANAGED_BY
from flashdrive.labels import K8S_NAME as NAME
from flashdrive.labels import K8S_PART_OF as PART_OF
from flashdrive.spec.sizes import Size

MANAGED_BY = "flashdrive"
# NetworkPolicies select pods that must not reach the internet by this label.
EGRESS = "flashdrive.dev/egress"

# The uid/gid the official postgres, mysql, mongo and redis images run their server as; running
# as it from the start means the images never need root to chown their data directory.
DATABASE_UID = 999


def labels(stack: str, name: str, component: str) -> dict[str, str]:
    return {NAME: name, COMPONENT: component, PART_OF: stack, K8S_MANAGED_BY: MANAGED_BY}


def selector(name: str, component: str) -> dict[str, str]:
    """Selectors are immutable on Deployments and StatefulSets: only labels that never change."""
    return {NAME: name, COMPONENT: component}


def pod_labels(stack: str, name: str, component: str, egress: bool) -> dict[str, str]:
    return {**labels(stack, name, component), EGRESS: "true" if egress else "false"}


def pod_security(*, run_as_user: int | None = None, fs_group: int | None = None) -> dict:
    """The pod-level part of "restricted": never root, the runtime's default seccomp profile.

    `fs_group`: the group volumes are given, changed only where a volume's root does not have it
    yet (OnRootMismatch): a recursive change of a large disk at every start delays each pod by
    minutes, and databases refuse to start once it has made their data directory group-writable.
    """
    context: dict = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    if run_as_user is not None:
        context["runAsUser"] = run_as_user
        context["runAsGroup"] = run_as_user
    if fs_group is not None:
        context["fsGroup"] = fs_group
        context["fsGroupChangePolicy"] = "OnRootMismatch"
    return context


def pod_defaults(pull_secrets: tuple[str, ...] = ()) -> dict:
    """Pod spec fields every pod of a stack shares; `pull_secrets`: kubernetes.image_pull_secrets."""
    return {
        **({"imagePullSecrets": [{"name": name} for name in pull_secrets]} if pull_secrets else {}),
        # No pod talks to the Kubernetes API: no token to steal.
        "automountServiceAccountToken": False,
        # Service links would inject variables like REDIS_PORT=tcp://10.0.0.7:6379 into every pod,
        # clobbering what apps read from their own env; Docker sets nothing of the kind.
        "enableServiceLinks": False,
    }


def container_security(run_as_user: int | None = None) -> dict:
    """The container-level part of "restricted", on every container and init container."""
    context: dict = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if run_as_user is not None:
        context["runAsUser"] = run_as_user
        context["runAsGroup"] = run_as_user
    return context


def resources(size: Size) -> dict:
    """Requests equal limits: the size is what a copy gets, never less (Guaranteed QoS), never more."""
    amounts = {"cpu": f"{round(size.cpus * 1000)}m", "memory": f"{size.memory_mib}Mi"}
    return {"requests": dict(amounts), "limits": dict(amounts)}


def colocated_with(app_names: list[str]) -> dict | None:
    """Affinity that puts a pod on the node of these apps' copies.

    A ReadWriteOnce disk attaches to one node at a time: every pod that mounts it (the app's
    copies, including the surge copy of a rolling update, its release job, the backup job) must
    run there. The first copy matches its own term, which the scheduler accepts when nothing
    else matches yet.
    """
    if not app_names:
        return None
    return {
        "podAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {NAME: name}}, "topologyKey": "kubernetes.io/hostname"}
                for name in sorted(app_names)
            ]
        }
    }


def quantity_gb(size_gb: int) -> str:
    """GB as the spec writes it (storage providers round up to their own unit)."""
    return f"{size_gb}G"
