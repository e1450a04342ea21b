"""The data-loss guard on Kubernetes plans: claims, stateful sets and the namespace hold data."""

from __future__ import annotations

import copy

import pytest
import yaml

import _diff_specs as specs
from flashdrive.diff import check, diff_plans, load_side

KUBERNETES = {"backend": "kubernetes",
              "kubernetes": {"storage_class": "standard-rwx", "cluster_issuer": "letsencrypt"}}


def write(folder, name, mutation=None):
    spec = copy.deepcopy(specs.BASE)
    spec.update(copy.deepcopy(KUBERNETES))
    if mutation is not None:
        mutation(spec)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("k8s-base")
    return load_side(str(write(folder, "base"))).plan


@pytest.fixture
def report(base, tmp_path):
    def run(mutation):
        head = load_side(str(write(tmp_path, mutation.__name__, mutation))).plan
        diff = diff_plans(base, head)
        return diff.verdicts(), check(diff)
    return run


@pytest.fixture
def changes(base, tmp_path):
    def run(mutation):
        head = load_side(str(write(tmp_path, mutation.__name__, mutation))).plan
        return {(c.type.rsplit(":", 1)[-1], c.name): c.verdict for c in diff_plans(base, head).changed}
    return run


@pytest.fixture
def guard(report):
    def run(mutation):
        verdicts, found = report(mutation)
        return verdicts, [f.holder.label for f in found.findings]
    return run


def resize_database(spec):
    spec["databases"]["main"]["disk_gb"] = 20


def test_removing_a_disk_loses_its_claim(guard):
    verdicts, findings = guard(specs.remove_disk)
    assert verdicts["shop-disk-media"] == "delete"
    assert findings == ["disk 'media'"]


def test_resizing_a_disk_grows_its_claim_in_place(guard):
    verdicts, findings = guard(specs.resize_disk)
    assert verdicts["shop-disk-media"] == "update"
    assert findings == []


def test_renaming_a_database_loses_its_data(guard):
    _, findings = guard(specs.rename_database)
    assert "database 'main'" in findings


def drop_database(spec):
    del spec["databases"]["cache"]
    spec["apps"]["worker"]["env"].pop("REDIS_URL")
    spec["apps"]["web"]["env"].pop("REDIS_URL", None)


def test_removing_a_database_is_one_finding_its_claim(report):
    _, found = report(drop_database)
    assert [(f.holder.label, f.holder.noun, f.holder.physical) for f in found.findings] == [
        ("database 'cache'", "volume claim", "shop-db-cache")]


def test_resizing_a_database_grows_its_claim_in_place_and_leaves_the_stateful_set_alone(report, changes):
    # The backup repository is sized from what it backs up: it grows too.
    assert changes(resize_database) == {("PersistentVolumeClaim", "shop-db-main"): "update",
                                        ("PersistentVolumeClaim", "shop-backup-backups"): "update"}
    _, found = report(resize_database)
    assert found.findings == []
    assert ("database 'main' (claim shop-db-main) grows from 10G to 20G: the claim grows in place, on a storage "
            "class with allowVolumeExpansion (else the cluster refuses the change and the deploy stops)") in found.cautions


def shrink_disk(spec):
    spec["apps"]["web"]["disks"][0]["size_gb"] = 1


def test_shrinking_a_disk_is_a_change_the_cluster_refuses(report):
    verdicts, found = report(shrink_disk)
    assert verdicts["shop-disk-media"] == "update"
    assert ("disk 'media' (claim shop-disk-media) shrinks from 2G to 1G: a claim never shrinks; the cluster "
            "refuses the change and the deploy stops") in found.cautions


def one_copy(spec):
    spec["apps"]["web"]["nodes"] = 1


def test_a_change_of_access_mode_is_data_loss_for_the_claim_and_says_how_to_move_the_data(report):
    # 2 copies share the disk as ReadWriteMany; one copy has it ReadWriteOnce.
    verdicts, found = report(one_copy)
    assert verdicts["shop-disk-media"] == "replace"
    [finding] = found.findings
    assert finding.message == (
        "disk 'media' (volume claim shop-disk-media) would be replaced: its access mode changes from ReadWriteMany "
        "to ReadWriteOnce (copies on several nodes share a disk as ReadWriteMany, a single copy has it "
        "ReadWriteOnce), and a claim's access mode never changes. The old claim is retained under the same name, "
        "so `pulumi up` stops with AlreadyExists. To go ahead: copy the data out, `kubectl delete pvc "
        "shop-disk-media -n shop`, deploy, copy the data into the new, empty claim; or keep the number of copies")


def test_renaming_an_app_or_adding_nodes_loses_nothing(guard):
    for mutation in (specs.rename_app, specs.more_nodes, specs.change_env):
        assert guard(mutation)[1] == [], mutation.__name__


def test_renaming_the_stack_takes_the_namespace_and_every_claim(guard):
    _, findings = guard(specs.rename_stack)
    assert "namespace 'shop' (and every claim in it)" in findings
    assert "disk 'media'" in findings


def test_a_database_stateful_set_that_drops_its_claim_template_strands_the_data():
    from flashdrive.diff import check, diff_plans
    from flashdrive.plan.plan import Plan, PlannedResource

    def stateful_set(templates: list[str]) -> PlannedResource:
        spec = {"serviceName": "main", "replicas": 1}
        if templates:
            spec["volumeClaimTemplates"] = [{"metadata": {"name": t}, "spec": {}} for t in templates]
        return PlannedResource(
            urn="urn:pulumi:dev::flashdrive::flashdrive:kubernetes:Database$kubernetes:apps/v1:StatefulSet::shop-db-main",
            type="kubernetes:apps/v1:StatefulSet", name="shop-db-main", parent=None, custom=True,
            inputs={"metadata": {"name": "shop-db-main", "labels": {"app.kubernetes.io/name": "main"}}, "spec": spec})

    def plan(resource):
        return Plan(resources=[resource], outputs={}, project="flashdrive", pulumi_stack="dev", stack="shop",
                    backend="kubernetes")

    report = check(diff_plans(plan(stateful_set(["data"])), plan(stateful_set([]))))
    [finding] = report.findings
    assert finding.message.startswith("database 'main' (claim data-shop-db-main-0) would be replaced")
    assert check(diff_plans(plan(stateful_set(["data"])), plan(stateful_set(["data"])))).findings == []
