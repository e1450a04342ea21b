"""Plans and manifests of the kubernetes backend, read the way a cluster would read them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml

from flashdrive.plan import Plan, plan_spec
from flashdrive.plan.manifests import manifests
from flashdrive.spec.loader import load_document
from flashdrive.spec.contract import KubernetesSpec

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
MARKET = HERE / "specs/market/flashdrive.yaml"
PREVIEWED = HERE / "specs/preview/flashdrive.yaml"  # a stack whose previews are seeded from its backups

# The overlay a team adds to run the example on a cluster (registry, storage class, issuer).
ON_A_CLUSTER = HERE / "specs/on_a_cluster.yaml"
CLUSTER = KubernetesSpec.model_validate(yaml.safe_load(ON_A_CLUSTER.read_text())["kubernetes"])


def example_cases() -> list[tuple[str, str | None]]:
    """(spec, overlay) for every example, alone and with each of its overlays, relative to ROOT."""
    cases: list[tuple[str, str | None]] = []
    for spec in sorted((ROOT / "examples").glob("*/flashdrive.yaml")):
        base = spec.relative_to(ROOT).as_posix()
        cases.append((base, None))
        cases += [(base, overlay.relative_to(ROOT).as_posix())
                  for overlay in sorted(spec.parent.glob("flashdrive.*.yaml"))]
    return cases


def on_a_cluster(spec: str | Path, overlay: str | Path | None) -> list[Path | str]:
    """The overlays that put the spec on a cluster: CLUSTER's settings, unless it has `kubernetes:` settings of its own."""
    overlays: list[Path | str] = [overlay] if overlay else []
    if "kubernetes" in load_document(Path(spec), overlays).data:
        return overlays
    return [*overlays, ON_A_CLUSTER]


def plan_for(spec: str | Path, overlay: str | Path | None = None, *, backend: str = "kubernetes",
             config: dict[str, str] | None = None, preview: int | None = None) -> Plan:
    overlays = on_a_cluster(spec, overlay) if backend == "kubernetes" else overlay
    return plan_spec(spec, overlays, backend=backend, config=config, preview=preview)


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
