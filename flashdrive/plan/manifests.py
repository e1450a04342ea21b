"""Plan → Kubernetes manifests (`plan --backend kubernetes --format yaml`): one YAML document per
object, as the cluster would receive it, secrets shown as [secret].

The manifests are the registered inputs of the kubernetes resources. A Secret's `stringData` is
secret as a whole, so the plan holds no key names for it; they are put back from what reads the
Secret (`secretKeyRef`s, the TLS keys), each with the value [secret].
"""

from __future__ import annotations

from typing import Any, Iterator

import yaml

from flashdrive.labels import DOCKER_IMAGE
from flashdrive.plan.plan import Plan, PlannedResource
from flashdrive.plan.preview import preview_lines
from flashdrive.plan.render import app_strategies
from flashdrive.plan.wire_values import SECRET
from flashdrive.problems import InputError, Problem

# The order `kubectl apply -f` needs: what others refer to first.
KIND_ORDER = (
    "Namespace",
    "NetworkPolicy",
    "Secret",
    "ConfigMap",
    "PersistentVolumeClaim",
    "Service",
    "StatefulSet",
    "Job",
    "Deployment",
    "PodDisruptionBudget",
    "CronJob",
    "Issuer",
    "Certificate",
    "Ingress",
)
HEAD = ("apiVersion", "kind", "metadata")
TLS_KEYS = ("tls.crt", "tls.key")


def manifests(plan: Plan) -> list[dict[str, Any]]:
    """The Kubernetes objects of a plan, in apply order, Secrets' keys restored."""
    objects = [_manifest(r) for r in plan.resources if r.custom and r.type.startswith("kubernetes:")]
    keys = _secret_keys(objects)
    for manifest in objects:
        if manifest.get("kind") == "Secret":
            _restore_keys(manifest, keys)
    return sorted(objects, key=_apply_order)


def render_manifests(plan: Plan) -> str:
    if plan.backend != "kubernetes":
        raise InputError(
            [
                Problem(
                    f"--format yaml prints Kubernetes manifests, and this plan is for the {plan.backend or 'docker'} backend",
                    hint="add --backend kubernetes, or use --format text or json",
                )
            ]
        )
    objects = manifests(plan)
    header = [f"# Kubernetes manifests of stack '{plan.stack}' planned by flashdrive; secrets show as {SECRET}."]
    header += [f"# {line}" for line in preview_lines(plan)]
    images = [str(r.inputs.get("imageName")) for r in plan.resources if r.type == DOCKER_IMAGE]
    if images:
        header.append("# Built from source and pushed before these are applied: " + ", ".join(sorted(images)))
    header += [f"# {app} deploys {strategy}: {why}." for app, (strategy, why) in sorted(app_strategies(plan).items())]
    documents = [
        "---\n"
        + yaml.dump(
            _ordered(m), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120, allow_unicode=True
        )
        for m in objects
    ]
    return "\n".join(header) + "\n" + "".join(documents)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (scripts) as literal blocks, readable as they run."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    if "\n" in text:
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", text)


_Dumper.add_representer(str, _represent_str)


def _manifest(resource: PlannedResource) -> dict[str, Any]:
    return {key: value for key, value in resource.inputs.items() if value is not None}


def _apply_order(manifest: dict) -> tuple:
    kind = manifest.get("kind", "")
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    metadata = manifest.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    return rank, kind, str(metadata.get("namespace", "")), str(metadata.get("name", ""))


def _ordered(manifest: dict) -> dict:
    """apiVersion, kind and metadata first, as people write manifests; every mapping below sorted."""
    head = {key: _sorted(manifest[key]) for key in HEAD if key in manifest}
    rest = {key: _sorted(manifest[key]) for key in sorted(manifest) if key not in HEAD}
    return {**head, **rest}


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def _walk(value: Any) -> Iterator[dict]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _secret_keys(objects: list[dict]) -> dict[tuple[str, str], set[str]]:
    """(namespace, secret name) → the keys something reads from it."""
    found: dict[tuple[str, str], set[str]] = {}
    for manifest in objects:
        namespace = str((manifest.get("metadata") or {}).get("namespace", ""))
        for node in _walk(manifest):
            ref = node.get("secretKeyRef")
            if isinstance(ref, dict) and "name" in ref and "key" in ref:
                found.setdefault((namespace, str(ref["name"])), set()).add(str(ref["key"]))
    return found


def _restore_keys(secret: dict, keys: dict[tuple[str, str], set[str]]) -> None:
    metadata = secret.get("metadata") or {}
    wanted = set(keys.get((str(metadata.get("namespace", "")), str(metadata.get("name", ""))), set()))
    if secret.get("type") == "kubernetes.io/tls":
        wanted.update(TLS_KEYS)
    for field in ("stringData", "data"):
        if secret.get(field) == SECRET:
            secret[field] = dict.fromkeys(sorted(wanted), SECRET)
