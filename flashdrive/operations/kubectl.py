"""On a `backend: kubernetes` stack, the kubectl command that does what each operation does.

The objects carry the recommended labels (flashdrive/kubernetes/hardening.py): name = the app,
component = web/worker/release/database, part-of = the stack; an app's container is named like it.
"""

from __future__ import annotations

import shlex

from flashdrive.kubernetes.hardening import COMPONENT, NAME, PART_OF


def _ns(namespace: str) -> str:
    return f"--namespace {shlex.quote(namespace)}"


def _selector(stack: str, app: str | None = None) -> str:
    parts = [f"{PART_OF}={stack}"] + ([f"{NAME}={app}"] if app else [])
    return shlex.quote(",".join(parts))


def _command(command: list[str]) -> str:
    return " ".join(shlex.quote(word) for word in command)


def ps(stack: str, namespace: str) -> str:
    return f"kubectl get pods,jobs,cronjobs,statefulsets,deployments {_ns(namespace)} -l {_selector(stack)} -o wide"


def logs(stack: str, namespace: str, app: str | None, *, follow: bool, since: str | None, tail: int | None) -> str:
    which = f"{NAME}={app}" if app else f"{COMPONENT} in (web,worker,release)"
    words = [
        f"kubectl logs {_ns(namespace)} -l {shlex.quote(f'{PART_OF}={stack},{which}')}",
        "--prefix --timestamps --max-log-requests 20",
    ]
    if follow:
        words.append("--follow")
    if since:
        words.append(f"--since {shlex.quote(since)}")
    words.append(f"--tail {tail if tail is not None else -1}")
    return " ".join(words)


def _first_pod(stack: str, namespace: str, app: str, node: int | None) -> str:
    pick = f"sed -n {node}p" if node else "head -n 1"
    return (
        f"$(kubectl get pods {_ns(namespace)} -l {_selector(stack, app)},{COMPONENT}!=release "
        f"--field-selector status.phase=Running -o name | {pick})"
    )


def exec_(stack: str, namespace: str, app: str, node: int | None, command: list[str]) -> str:
    return (
        f"kubectl exec -it {_ns(namespace)} {_first_pod(stack, namespace, app, node)} "
        f"--container {shlex.quote(app)} -- {_command(command)}"
    )


def run(stack: str, namespace: str, app: str, command: list[str]) -> str:
    # A copy of a running pod with the app container's command replaced: the same image, env,
    # secrets, volumes and size. The copy drops the pod's labels, so no Service routes to it.
    name = f"{app}-run"
    return (
        f"kubectl debug {_ns(namespace)} {_first_pod(stack, namespace, app, None)} --copy-to {name} "
        f"--container {shlex.quote(app)} -it --attach -- {_command(command)}; "
        f"kubectl delete pod {_ns(namespace)} {name} --wait=false"
    )


def restart(stack: str, namespace: str, app: str) -> str:
    return (
        f"kubectl rollout restart deployment/{app} {_ns(namespace)} && "
        f"kubectl rollout status deployment/{app} {_ns(namespace)}"
    )
