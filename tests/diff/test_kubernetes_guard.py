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
def guard(base, tmp_path):
    def run(mutation):
        head = load_side(str(write(tmp_path, mutation.__name__, mutation))).plan
        diff = diff_plans(base, head)
        return diff.verdicts(), [f.holder.label for f in check(diff).findings]
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


def test_a_database_recreated_under_its_name_keeps_its_claims(guard):
    verdicts, findings = guard(resize_database)
    assert verdicts["shop-db-main"] == "replace"  # volumeClaimTemplates cannot be updated in place
    assert findings == []


def test_renaming_an_app_or_adding_nodes_loses_nothing(guard):
    for mutation in (specs.rename_app, specs.more_nodes, specs.change_env):
        assert guard(mutation)[1] == [], mutation.__name__


def test_renaming_the_stack_takes_the_namespace_and_every_claim(guard):
    _, findings = guard(specs.rename_stack)
    assert "namespace 'shop' (and every claim in it)" in findings
    assert "disk 'media'" in findings
