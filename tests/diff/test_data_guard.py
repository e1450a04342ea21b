"""The data-loss guard on hand-made plans: what counts as holding data, replacement by a new
physical name, moves declared with aliases, a volume that is not retained."""

from __future__ import annotations

from flashdrive.diff import check, diff_plans
from flashdrive.diff.holders import holder_of
from flashdrive.plan.plan import Plan, PlannedResource

PREFIX = "urn:pulumi:dev::flashdrive::"


def volume(name: str, labels: dict[str, str], *, parent: str = "flashdrive:docker:Disk", retain: bool = True,
           physical: str | None = None, aliases: tuple = ()) -> PlannedResource:
    return PlannedResource(
        urn=f"{PREFIX}{parent}$docker:index/volume:Volume::{name}", type="docker:index/volume:Volume", name=name,
        parent=f"{PREFIX}pulumi:pulumi:Stack${parent}::{name}", custom=True,
        inputs={"driver": "local", "name": physical or name,
                "labels": [{"label": k, "value": v} for k, v in sorted(labels.items())]},
        retain_on_delete=retain, aliases=aliases)


def plan(*resources: PlannedResource, stack: str = "shop") -> Plan:
    return Plan(resources=sorted(resources, key=lambda r: r.urn), outputs={}, project="flashdrive",
                pulumi_stack="dev", stack=stack, backend="docker")


def test_deleting_the_backup_repository_is_data_loss():
    repository = volume("shop-backups", {"flashdrive.stack": "shop", "flashdrive.role": "backups"},
                        parent="flashdrive:docker:Backups")
    report = check(diff_plans(plan(repository), plan()))
    assert [f.message for f in report.findings] == [
        "the backup repository (volume shop-backups) would be deleted: the stack no longer declares the backup "
        "repository (backups disabled, or their target changed). Pulumi leaves the old volume on the host (retain on "
        "delete), detached from the stack: nothing mounts it or backs it up any more"]


def test_a_new_physical_name_replaces_the_volume_and_says_so():
    before = volume("media", {"flashdrive.disk": "media"}, physical="shop-disk-media")
    after = volume("media", {"flashdrive.disk": "media"}, physical="shop-media")
    diff = diff_plans(plan(before), plan(after))
    assert diff.verdicts() == {"media": "replace"}
    [finding] = check(diff).findings
    assert finding.message == (
        "disk 'media' (volume shop-disk-media) would be replaced: its physical name changes from 'shop-disk-media' "
        "to 'shop-media'. A new, empty volume takes its place; the old one is left on the host, detached from the "
        "stack")


def test_a_volume_that_is_not_retained_is_said_to_lose_its_data_outright():
    before = volume("media", {"flashdrive.disk": "media"}, retain=False)
    [finding] = check(diff_plans(plan(before), plan())).findings
    assert finding.consequence == "Pulumi deletes the volume and the data on it"


def test_a_volume_moved_with_an_alias_is_neither_deleted_nor_created():
    before = volume("shop-disk-media", {"flashdrive.disk": "media"})
    moved = PlannedResource(
        urn=f"{PREFIX}flashdrive:docker:Storage$docker:index/volume:Volume::shop-disk-media",
        type=before.type, name=before.name, parent=None, custom=True, inputs=before.inputs, retain_on_delete=True,
        aliases=(before.urn,))
    diff = diff_plans(plan(before), plan(moved))
    assert diff.verdicts() == {}
    assert not check(diff).loses_data


def test_the_same_volume_under_a_new_identity_without_an_alias_is_flagged_with_that_reason():
    before = volume("shop-disk-media", {"flashdrive.disk": "media"})
    after = volume("shop-disk-media", {"flashdrive.disk": "media"}, parent="flashdrive:docker:Storage")
    [finding] = check(diff_plans(plan(before), plan(after))).findings
    assert "disk 'media' is still in the spec, but its resource gets a new identity in the stack" in finding.cause


def test_a_volume_without_flashdrive_labels_holds_nothing_the_guard_knows():
    scratch = volume("scratch", {"flashdrive.stack": "shop"})
    assert holder_of(scratch) is None
    assert not check(diff_plans(plan(scratch), plan())).loses_data


def test_dropping_retain_on_delete_from_a_data_holder_is_a_caution_not_a_stop():
    before = volume("shop-disk-media", {"flashdrive.disk": "media"})
    after = volume("shop-disk-media", {"flashdrive.disk": "media"}, retain=False)
    diff = diff_plans(plan(before), plan(after))
    report = check(diff)
    assert diff.verdicts() == {"shop-disk-media": "update"}
    assert not report.loses_data
    assert report.cautions == ["disk 'media' (shop-disk-media) is no longer retained on delete: removing it later "
                               "would delete its data"]


def component(kind: str, name: str) -> PlannedResource:
    return PlannedResource(urn=f"{PREFIX}flashdrive:docker:{kind}::{name}", type=f"flashdrive:docker:{kind}", name=name,
                           parent=f"{PREFIX}pulumi:pulumi:Stack::dev", custom=False, inputs={})


def password(name: str, owner: PlannedResource) -> PlannedResource:
    return PlannedResource(urn=f"{PREFIX}{owner.type}$random:index/randomPassword:RandomPassword::{name}",
                           type="random:index/randomPassword:RandomPassword", name=name, parent=owner.urn,
                           custom=True, inputs={"length": 32, "special": False})


def test_a_database_or_backup_password_no_longer_generated_is_data_loss_for_what_it_opens():
    # A stack deployed with generated passwords, planned again after credentials moved to the
    # master key: the data stays, the key to it would not.
    database, backups = component("Database", "shop-main"), component("Backups", "shop-backups")
    base = plan(database, backups, password("shop-main-password", database),
                password("shop-backup-password", backups))
    report = check(diff_plans(base, plan(database, backups)))
    assert [(f.holder.kind, f.holder.name, f.verdict) for f in report.findings] == [
        ("backups", None, "delete"), ("database", "main", "delete")]
    message = next(f.message for f in report.findings if f.holder.kind == "database")
    assert message.startswith("database 'main' (password shop-main-password) would be deleted")
    assert "cannot log in" in message and "pulumi stack export --show-secrets" in message


def test_an_apps_generated_secret_is_not_a_data_holder():
    app = component("App", "shop-web")
    report = check(diff_plans(plan(app, password("shop-web-secret-key", app)), plan(app)))
    assert report.findings == []
