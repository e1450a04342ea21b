"""Write cert_manager.schema.json: the strict JSON schemas of the cert-manager kinds flashdrive
generates (Issuer, Certificate), taken from cert-manager's published CRDs.

    python tests/kubernetes/crds/extract.py PATH/TO/cert-manager/checkout v1.21.1

Kubernetes reads a CRD's `openAPIV3Schema` as a structural schema: an unknown field is pruned
silently (or refused by `kubectl apply --validate=strict`). To refuse it here too, every object
that lists its properties gets `additionalProperties: false`, as kubernetes-validate's strict mode
does for built-in kinds. Descriptions are dropped, and so are the branches flashdrive never writes
(other issuer types, DNS-01, the solver's pod and ingress templates...): each becomes `false`, so
a manifest that starts using one fails the test until the branch is extracted too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

OUT = Path(__file__).with_name("cert_manager.schema.json")
KINDS = {"Issuer": "deploy/crds/cert-manager.io_issuers.yaml",
         "Certificate": "deploy/crds/cert-manager.io_certificates.yaml"}
# Paths (property names from the kind's root) whose schema is replaced by `false`.
NEVER_WRITTEN = {
    "Issuer": ["status", "spec.vault", "spec.venafi",
               "spec.acme.solvers.items.dns01", "spec.acme.solvers.items.http01.gatewayHTTPRoute",
               "spec.acme.solvers.items.http01.ingress.podTemplate",
               "spec.acme.solvers.items.http01.ingress.ingressTemplate",
               "spec.acme.externalAccountBinding"],
    "Certificate": ["status", "spec.keystores", "spec.additionalOutputFormats", "spec.nameConstraints"],
}
# ObjectMeta as the API server accepts it on any kind (the CRD schema leaves metadata open).
METADATA = {"type": "object", "additionalProperties": False, "required": ["name"], "properties": {
    "name": {"type": "string"}, "namespace": {"type": "string"},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "annotations": {"type": "object", "additionalProperties": {"type": "string"}}}}


def strict(schema: dict, path: str, never: set[str]) -> dict | bool:
    if path in never:
        return False
    out = {k: v for k, v in schema.items() if k not in ("description", "properties", "items")}
    if "properties" in schema:
        out["properties"] = {}
        for name, sub in schema["properties"].items():
            pruned = strict(sub, f"{path}.{name}" if path else name, never)
            out["properties"][name] = pruned
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if "items" in schema:
        out["items"] = strict(schema["items"], f"{path}.items", never)
    if isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = strict(schema["additionalProperties"], f"{path}.*", never)
    return out


def kind_schema(checkout: Path, ref: str, kind: str) -> dict:
    text = subprocess.run(["git", "-C", str(checkout), "show", f"{ref}:{KINDS[kind]}"], check=True,
                          capture_output=True, text=True).stdout
    crd = yaml.safe_load(text)
    [version] = [v for v in crd["spec"]["versions"] if v.get("storage")]
    schema = strict(version["schema"]["openAPIV3Schema"], "", set(NEVER_WRITTEN[kind]))
    assert isinstance(schema, dict)
    schema["properties"]["metadata"] = METADATA
    schema["properties"]["apiVersion"] = {"const": f"{crd['spec']['group']}/{version['name']}"}
    schema["properties"]["kind"] = {"const": kind}
    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata", "spec"})
    return schema


def main(checkout: str, ref: str) -> None:
    schemas = {kind: kind_schema(Path(checkout), ref, kind) for kind in KINDS}
    document = {"source": f"cert-manager/cert-manager {ref} {', '.join(KINDS.values())}",
                "generator": "tests/kubernetes/crds/extract.py", "kinds": schemas}
    OUT.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
