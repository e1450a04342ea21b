"""Plans and manifests of the kubernetes backend, read the way a cluster would read them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

from flashdrive.plan import Plan, plan_loaded
from flashdrive.plan.manifests import manifests
from flashdrive.spec import load_spec
from flashdrive.spec.contract import KubernetesSpec

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
MARKET = HERE / "specs/market/flashdrive.yaml"
PREVIEWED = HERE / "specs/preview/flashdrive.yaml"  # a stack whose previews are seeded from its backups

# What a team adds to run the example on a cluster: a registry for the image built from source,
# a storage class that offers ReadWriteMany (two copies share a disk), a cert-manager issuer.
CLUSTER = KubernetesSpec(registry="registry.example.com/shop", storage_class="standard-rwx", cluster_issuer="letsencrypt")


def example_cases() -> list[tuple[str, str | None]]:
    """(spec, overlay) for every example, alone and with each of its overlays, relative to ROOT."""
    cases: list[tuple[str, str | None]] = []
    for spec in sorted((ROOT / "examples").glob("*/flashdrive.yaml")):
        base = spec.relative_to(ROOT).as_posix()
        cases.append((base, None))
        cases += [(base, overlay.relative_to(ROOT).as_posix())
                  for overlay in sorted(spec.parent.glob("flashdrive.*.yaml"))]
    return cases


def on_a_cluster(loaded):
    """The spec with CLUSTER's settings, unless it has `kubernetes:` settings of its own."""
    if "kubernetes" in loaded.spec.model_fields_set:
        return loaded
    return dataclasses.replace(loaded, spec=loaded.spec.model_copy(update={"kubernetes": CLUSTER}))


def plan_for(spec: str | Path, overlay: str | Path | None = None, *, backend: str = "kubernetes",
             config: dict[str, str] | None = None, preview: int | None = None) -> Plan:
    loaded = load_spec(spec, overlay)
    if backend == "kubernetes":
        loaded = on_a_cluster(loaded)
    return plan_loaded(loaded, backend=backend, config=config, preview=preview)


def objects(plan: Plan) -> dict[tuple[str, str], dict]:
    """(kind, name) → manifest."""
    return {(m["kind"], m["metadata"]["name"]): m for m in manifests(plan)}


def pod_templates(manifest: dict) -> Iterator[dict]:
    """The pod template(s) a workload runs: {"metadata": ..., "spec": ...}."""
    spec = manifest.get("spec") or {}
    if manifest["kind"] in ("Deployment", "StatefulSet", "Job"):
        yield spec["template"]
    elif manifest["kind"] == "CronJob":
        yield spec["jobTemplate"]["spec"]["template"]


def containers(pod_spec: dict) -> list[dict]:
    return list(pod_spec.get("initContainers", [])) + list(pod_spec["containers"])


def env_of(container: dict) -> dict[str, dict]:
    return {item["name"]: item for item in container.get("env", [])}
