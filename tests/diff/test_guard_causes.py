"""The guard names the true cause, through `flashdrive diff` of a deployed plan (JSON) and a changed
spec: a namespace change strands every claim and database of the old namespace, a backend switch is
the backend's doing, and more copies on Kubernetes change a disk's access mode."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

BASE = {
    "version": 1,
    "stack": "shop",
    "backend": "kubernetes",
    "kubernetes": {"storage_class": "standard-rwx"},
    "apps": {"web": {"image": "ghcr.io/acme/shop:1.4", "port": 8000,
                     "env": {"DATABASE_URL": "${databases.main.url}"},
                     "disks": [{"name": "media", "mount": "/app/media", "size_gb": 2}]}},
    "databases": {"main": {"engine": "postgres", "version": "16"}},
}


def _write(folder, name: str, change=None):
    spec = copy.deepcopy(BASE)
    if change is not None:
        change(spec)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture
def plan(cli, tmp_path):
    """The plan JSON of the base spec changed by `change`, as `flashdrive plan --format json` writes it."""

    def run(change=None, name="base"):
        planned = cli("plan", _write(tmp_path, name, change), "--format", "json")
        assert planned.code == 0, planned.err
        return json.loads(planned.out)

    return run


@pytest.fixture
def diff(cli, tmp_path):
    def run(base: dict, change) -> tuple[int, list[str]]:
        path = tmp_path / "deployed.plan.json"
        path.write_text(json.dumps(base))
        result = cli("diff", path, _write(tmp_path, "head", change))
        return result.code, [" ".join(line.split()) for line in result.out.splitlines() if line.startswith("  ! ")]

    return run


def other_namespace(spec):
    spec["kubernetes"]["namespace"] = "shop-prod"


def to_docker(spec):
    spec["backend"] = "docker"
    del spec["kubernetes"]


def two_copies(spec):
    spec["apps"]["web"]["nodes"] = 2


def test_a_namespace_change_lists_every_claim_and_database_it_strands(plan, diff):
    code, findings = diff(plan(), other_namespace)
    assert code == 3
    [namespace] = [f for f in findings if f.startswith("! namespace")]
    assert namespace.startswith(
        "! namespace 'shop' (and every claim in it) would be replaced: the stack's namespace changes from 'shop' to "
        "'shop-prod' (kubernetes.namespace), and every object of the stack moves to the new one. The old namespace "
        "stays in the cluster (retain on delete) with its claims and their data, detached from the stack: database "
        "'main' (claim shop-db-main), disk 'media' (claim shop-disk-media), the backup repository (claim "
        "shop-backup-backups); nothing mounts them or backs them up any more, and the new namespace gets new, empty "
        "claims.")
    claims = [f for f in findings if not f.startswith("! namespace")]
    assert len(claims) == 3
    assert all("the stack's namespace changes from 'shop' to 'shop-prod' (kubernetes.namespace), and a claim cannot "
               "move between namespaces. The old claim stays in 'shop' with the data" in f for f in claims)


def test_a_namespace_change_names_the_claim_of_a_database_kept_in_a_claim_template(plan, diff):
    # A stack deployed before databases had a claim of their own: its stateful set made `data-<set>-0`.
    deployed = plan()
    resources = []
    for resource in deployed["resources"]:
        inputs = resource["inputs"]
        if resource["type"] == "kubernetes:core/v1:PersistentVolumeClaim" and inputs["metadata"]["name"] == "shop-db-main":
            continue
        if resource["type"] == "kubernetes:apps/v1:StatefulSet":
            inputs["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {}}]
        resources.append(resource)
    deployed["resources"] = resources
    code, findings = diff(deployed, other_namespace)
    assert code == 3
    [namespace] = [f for f in findings if f.startswith("! namespace")]
    assert "database 'main' (claim data-shop-db-main-0), disk 'media' (claim shop-disk-media)" in namespace


@pytest.mark.parametrize("direction", ["kubernetes to docker", "docker to kubernetes"])
def test_a_backend_switch_says_the_backend_changed(plan, diff, direction):
    if direction == "kubernetes to docker":
        code, findings = diff(plan(), to_docker)
    else:
        code, findings = diff(plan(to_docker), lambda spec: None)
    assert code == 3
    assert len(findings) == 4  # disk, database, backup repository, and the namespace or the edge's volume
    for finding in findings:
        assert f"the backend changes from {direction}, and nothing that holds data carries over" in finding
        assert "without an alias" not in finding
    assert all(f.endswith(f"or keep backend {direction.split()[0]}.") for f in findings
               if not f.startswith("! namespace"))


def test_two_copies_on_kubernetes_change_the_disk_access_mode_which_is_data_loss_for_its_claim(plan, diff):
    code, findings = diff(plan(), two_copies)
    assert code == 3
    assert findings == [
        "! disk 'media' (volume claim shop-disk-media) would be replaced: its access mode changes from ReadWriteOnce "
        "to ReadWriteMany (copies on several nodes share a disk as ReadWriteMany, a single copy has it "
        "ReadWriteOnce), and a claim's access mode never changes. The old claim is retained under the same name, so "
        "`pulumi up` stops with AlreadyExists. To go ahead: copy the data out, `kubectl delete pvc shop-disk-media "
        "-n shop`, deploy, copy the data into the new, empty claim; or keep the number of copies."]


def test_two_copies_on_docker_share_the_same_volume(plan, diff):
    code, findings = diff(plan(to_docker), lambda spec: (to_docker(spec), two_copies(spec)))
    assert (code, findings) == (0, [])


def test_a_kubernetes_plan_broken_by_hand_gets_an_answer_never_a_traceback(plan, cli, tmp_path):
    # Shapes a fuzzer found: a claim's access modes, storage request and labels, and a container's
    # volumes, each of another type than the provider's.
    deployed = plan()
    broken = copy.deepcopy(deployed)
    for resource in broken["resources"]:
        inputs = resource["inputs"]
        if resource["type"] == "kubernetes:core/v1:PersistentVolumeClaim":
            inputs["spec"]["accessModes"] = True
            inputs["spec"]["resources"] = "10Gi"
            inputs["metadata"]["labels"]["app.kubernetes.io/component"] = ["disk"]
        if resource["type"] == "kubernetes:apps/v1:StatefulSet":
            inputs["spec"]["template"]["spec"]["containers"] = 3
    for name, document in (("deployed", deployed), ("broken", broken)):
        (tmp_path / f"{name}.plan.json").write_text(json.dumps(document))
    for base, head in (("deployed", "broken"), ("broken", "deployed")):
        result = cli("diff", tmp_path / f"{base}.plan.json", tmp_path / f"{head}.plan.json")
        assert result.code in (0, 1, 3)
