"""`flashdrive diff` on a database's engine and version, as users run it: the base is the deployed
plan (JSON), the head the changed spec. A new engine or a new major version on the old data is data
loss (exit 3) with the way out in the message; a minor version is a caution; a major upgrade that the
deploy carries out itself (engines.DEPLOY_UPGRADES) is a caution."""

from __future__ import annotations

import copy

import pytest
import yaml

from flashdrive import engines

BASE = {
    "version": 1,
    "stack": "shop",
    "apps": {"web": {"image": "ghcr.io/acme/shop:1.4", "port": 8000,
                     "env": {"DATABASE_URL": "${databases.main.url}"}}},
    "databases": {"main": {"engine": "postgres", "version": "16"}},
}
KUBERNETES = {"backend": "kubernetes", "kubernetes": {"storage_class": "standard-rwx"}}


def _write(folder, name: str, main: dict, extra: dict | None = None):
    spec = copy.deepcopy(BASE)
    spec["databases"]["main"] = main
    spec.update(copy.deepcopy(extra or {}))
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture
def diff(cli, tmp_path):
    """`flashdrive diff BASE.plan.json HEAD.yaml` for a database `main` going from `before` to `after`."""

    def run(before: dict, after: dict, extra: dict | None = None, head_extra: dict | None = None):
        planned = cli("plan", _write(tmp_path, "base", before, extra), "--format", "json")
        assert planned.code == 0, planned.err
        base = tmp_path / "base.plan.json"
        base.write_text(planned.out)
        result = cli("diff", base, _write(tmp_path, "head", after, head_extra or extra))
        return result.code, " ".join(result.out.split())

    return run


def test_another_engine_on_kubernetes_is_data_loss_for_the_database_claim(diff):
    code, out = diff({"engine": "postgres", "version": "16"}, {"engine": "mysql"}, KUBERNETES)
    assert code == 3
    assert ("database 'main' (volume claim shop-db-main) would be left unreadable: its engine changes from postgres "
            "to mysql, and the mysql server mounts the same volume claim, whose postgres files it cannot read") in out
    assert "or keep engine postgres" in out


def test_a_new_postgres_major_without_upgraded_from_is_data_loss_and_says_to_add_it(diff):
    code, out = diff({"engine": "postgres", "version": "16"}, {"engine": "postgres", "version": "17"})
    assert code == 3
    assert "DATA LOSS: this change puts at risk the data of 1 data holder: ! database 'main'" in out
    assert ("database 'main' (volume shop-db-main) would be left unreadable: its version changes from postgres 16 to "
            "17, a new major, and the spec does not say `upgraded_from`: postgres 17 refuses postgres 16's data "
            "directory, and as the old server stops first, the deploy waits until it times out. Add `upgraded_from: [\"16\"]` to databases.main: the deploy then runs 17 "
            "on a new volume, copies the data across with 17's own dump and restore, and keeps shop-db-main as the way "
            "back; or keep version 16.") in out


def test_postgres_18_on_docker_would_start_empty_beside_the_old_files_because_its_image_moved_the_data(diff):
    code, out = diff({"engine": "postgres", "version": "17"}, {"engine": "postgres", "version": "18"})
    assert code == 3
    assert ("postgres 18 looks for its data in 18/docker of the volume, not in its root, and would start empty beside "
            "the old files") in out
    # Kubernetes sets the data directory itself (the same folder of the claim): 18 finds 17's and refuses it.
    code, out = diff({"engine": "postgres", "version": "17"}, {"engine": "postgres", "version": "18"}, KUBERNETES)
    assert code == 3
    assert "postgres 18 refuses postgres 17's data directory" in out


def test_a_minor_version_restarts_the_server_on_the_same_data(diff):
    code, out = diff({"engine": "postgres", "version": "16"}, {"engine": "postgres", "version": "16.4"})
    assert code == 0
    assert ("database 'main' changes image from postgres:16 to postgres:16.4, within postgres 16: the server restarts "
            "on the same data") in out


def test_a_mysql_lts_step_without_upgraded_from_would_upgrade_the_files_in_place_with_no_way_back(diff):
    code, out = diff({"engine": "mysql", "version": "8.0"}, {"engine": "mysql", "version": "8.4"})
    assert code == 3
    assert ("its version changes from mysql 8.0 to 8.4, a new major, and the spec does not say `upgraded_from`: "
            "mysql 8.4 upgrades the old data directory in place on its first start, and no server goes back down: "
            "no way back to 8.0") in out
    assert "Add `upgraded_from: [\"8.0\"]` to databases.main: the deploy then runs 8.4 on a new volume" in out


@pytest.mark.parametrize("backend,volume", [({}, "volume"), (KUBERNETES, "claim")])
def test_a_mysql_lts_step_with_upgraded_from_goes_through_as_a_caution_that_says_what_the_deploy_does(diff, backend,
                                                                                                     volume):
    code, out = diff({"engine": "mysql", "version": "8.0"},
                     {"engine": "mysql", "version": "8.4", "upgraded_from": ["8.0"]}, backend)
    assert code == 0, out
    assert (f"database 'main' goes from mysql 8.0 to 8.4, and the deploy upgrades it: when {volume} "
            "shop-db-main-mysql84 is new, the deploy stops the 8.0 server") in out
    assert f"{volume} shop-db-main keeps the 8.0 data, retained, as the way back" in out


def test_a_mongodb_series_step_is_still_data_loss_the_deploy_does_not_carry_out(diff):
    code, out = diff({"engine": "mongodb", "version": "7.0"}, {"engine": "mongodb", "version": "8.0"})
    assert code == 3
    assert "back up first (`flashdrive backup run`), then allow it (--allow-data-loss)" in out


def test_a_skipped_step_says_which_version_to_deploy_first(diff):
    code, out = diff({"engine": "mongodb", "version": "6.0"}, {"engine": "mongodb", "version": "8.0"})
    assert code == 3
    assert ("its version changes from mongodb 6.0 to 8.0, and mongodb 8.0 cannot take over mongodb 6.0's files. "
            "mongodb upgrades one release series at a time: go to 7.0 first, deploy, then on to 8.0") in out


def test_a_downgrade_is_data_loss(diff):
    code, out = diff({"engine": "redis", "version": "7.4"}, {"engine": "redis", "version": "6.2"})
    assert code == 3
    assert "redis 6 cannot read the data files of redis 7 (there is no downgrade)" in out


def test_an_image_whose_tag_names_no_version_is_a_caution_to_back_up(diff):
    main = {"engine": "postgres", "version": "16"}
    code, out = diff(main, main, {"images": {"postgres": "registry.local/pg:stable"}},
                     {"images": {"postgres": "registry.local/pg:edge"}})
    assert code == 0
    assert ("database 'main' changes image from registry.local/pg:stable to registry.local/pg:edge: flashdrive cannot "
            "tell from the images whether that is a new major version") in out


@pytest.mark.parametrize("backend,volume", [({}, "volume"), (KUBERNETES, "claim")])
def test_a_postgres_major_with_upgraded_from_goes_through_as_a_caution_that_says_what_the_deploy_does(diff, backend,
                                                                                                      volume):
    code, out = diff({"engine": "postgres", "version": "16"},
                     {"engine": "postgres", "version": "17", "upgraded_from": ["16"]}, backend)
    assert code == 0
    assert (f"database 'main' goes from postgres 16 to 17, and the deploy upgrades it: when {volume} shop-db-main-pg17 "
            "is new, the deploy stops the 16 server") in out
    assert f"{volume} shop-db-main keeps the 16 data, retained, as the way back" in out
    assert "Backups need a backup image whose client is 17 or newer" in out


def test_a_redis_major_goes_through_in_place_as_a_caution(diff):
    code, out = diff({"engine": "redis", "version": "7.4"}, {"engine": "redis", "version": "8.0"})
    assert code == 0
    assert ("database 'main' goes from redis 7 to 8, and the deploy upgrades it: the new server reads the old RDB and "
            "AOF files as they are") in out


def test_a_major_upgrade_the_backend_does_not_carry_out_is_data_loss(diff, monkeypatch):
    monkeypatch.setitem(engines.DEPLOY_UPGRADES, "postgres", frozenset())
    code, out = diff({"engine": "postgres", "version": "16"},
                     {"engine": "postgres", "version": "17", "upgraded_from": ["16"]})
    assert code == 3
    assert "the deploy does not do that yet" in out


@pytest.mark.parametrize("extra", [None, KUBERNETES], ids=["docker", "kubernetes"])
def test_dropping_upgraded_from_after_an_upgrade_says_so_and_names_the_volume_the_server_would_mount(diff, extra):
    code, out = diff({"engine": "postgres", "version": "17", "upgraded_from": ["15"]},
                     {"engine": "postgres", "version": "17"}, extra)
    assert code == 3
    assert ("`upgraded_from` of databases.main no longer lists the majors the database ran before this volume's: "
            "keep it; it names the volumes. The server would mount volume shop-db-main instead of shop-db-main-pg17: "
            "shop-db-main holds the data of an earlier major, which the server refuses") in out
    assert "moved it without an alias" not in out


def test_dropping_an_older_entry_of_upgraded_from_keeps_the_server_s_volume_and_says_only_the_list(diff):
    code, out = diff({"engine": "postgres", "version": "17", "upgraded_from": ["15", "16"]},
                     {"engine": "postgres", "version": "17", "upgraded_from": ["16"]})
    assert code == 3
    assert "would be deleted: `upgraded_from` of databases.main no longer lists" in out
    assert "The server would mount" not in out


def test_a_major_upgrade_on_docker_says_the_backup_image_s_client_must_dump_the_new_major(diff):
    before = {"engine": "postgres", "version": "15"}
    after = {"engine": "postgres", "version": "17", "upgraded_from": ["15"]}
    # The default backup image's tag is restic's version: it cannot tell which pg_dump it carries.
    code, out = diff(before, after)
    assert code == 0
    assert ("backups: the backup image restic/restic:0.17.3 does not tell its pg_dump version by its tag: it needs "
            "pg_dump 17 or newer, or every backup of database 'main' fails") in out
    # An image named after the engine tells it by its tag: a pg_dump 15 cannot dump postgres 17.
    old_client = {"images": {"restic": "ghcr.io/acme/backup-postgres:15.8"}}
    code, out = diff(before, after, old_client)
    assert ("backups: the backup image ghcr.io/acme/backup-postgres:15.8 carries pg_dump 15.8, which cannot dump "
            "postgres 17: every backup of database 'main' would fail; use a backup image with pg_dump 17 or newer") in out
    code, out = diff(before, after, {"images": {"restic": "ghcr.io/acme/backup-postgres:17.2"}})
    assert "backups: the backup image" not in out
    # Kubernetes dumps in the database's own image: nothing to say.
    code, out = diff(before, after, KUBERNETES)
    assert "backups: the backup image" not in out
