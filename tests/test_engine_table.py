"""One table of engine facts (flashdrive/engines.py): every other module reads it, none repeats it."""

from __future__ import annotations

import io
import tokenize
import typing
from pathlib import Path

import pytest

import flashdrive
from flashdrive.engines import ENGINES, major_upgrade_supported, upgrade_path
from flashdrive.spec.contract import Engine

PACKAGE = Path(flashdrive.__file__).parent

# Literals that only the table may hold: ports, images, data paths, server and client tools, URLs.
FACTS = ("5432", "3306", "27017", "6379", "postgres:{", "mysql:{", "mongo:{", "redis:{", "/var/lib/postgresql",
         "/var/lib/mysql", "/data/db", "pg_dump", "pg_restore", "pg_isready", "pg_upgrade", "mysqldump",
         "mysqladmin", "mongodump", "mongorestore", "mongosh", "redis-server", "redis-cli", "postgres://",
         "mysql://", "mongodb://", "redis://", "featureCompatibilityVersion")


def _literals(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string and number in a module's code (not its comments)."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return [(t.start[0], t.string) for t in tokens if t.type in (tokenize.STRING, tokenize.NUMBER)]


# The backup script's own shell comment on its mongo_config helper, which the script's text (and so
# every plan) carries.
ALLOWED = {("backup_scripts.py", "mongodump"), ("backup_scripts.py", "mongorestore")}


def test_no_module_but_the_engine_table_writes_an_engine_fact():
    found = [f"{path.relative_to(PACKAGE)}:{line}: {fact}"
             for path in sorted(PACKAGE.rglob("*.py")) if path.name != "engines.py"
             for line, text in _literals(path) for fact in FACTS
             if fact in text and (path.relative_to(PACKAGE).as_posix(), fact) not in ALLOWED]
    assert found == []


def test_the_table_has_exactly_the_engines_the_spec_accepts():
    assert set(ENGINES) == set(typing.get_args(Engine))


@pytest.mark.parametrize("engine, version, major", [
    ("postgres", "17", "17"), ("postgres", "16.4", "16"), ("postgres", "9.6.24", "9.6"), ("postgres", "18-trixie", "18"),
    ("mysql", "8.4", "8.4"), ("mysql", "8.0.36", "8.0"), ("mysql", "8", None),
    ("mongodb", "7.0.12", "7.0"), ("mongodb", "8", None),
    ("redis", "7.4", "7"), ("redis", "6", "6"), ("redis", "latest", None),
])
def test_each_engine_names_its_major_the_way_its_vendor_numbers_releases(engine, version, major):
    assert ENGINES[engine].major(version) == major


def test_a_minor_change_is_not_a_major_one_and_an_unnamed_version_is_neither():
    postgres, mysql = ENGINES["postgres"], ENGINES["mysql"]
    assert postgres.is_major_change("16", "16.4") is False
    assert postgres.is_major_change("16.4", "17") is True
    assert mysql.is_major_change("8.0.36", "8.0.40") is False
    assert mysql.is_major_change("8", "8.4") is None


def test_postgres_upgrades_to_any_newer_major_by_dump_and_restore_never_down():
    upgrade = upgrade_path("postgres", "15", "17")
    assert upgrade is not None and (upgrade.old, upgrade.new, upgrade.method) == ("15", "17", "dump-restore")
    assert "pg_upgrade" in upgrade.how
    assert upgrade_path("postgres", "17", "16") is None
    assert "no downgrade" in ENGINES["postgres"].no_upgrade("17", "16")


def test_mysql_upgrades_one_lts_series_at_a_time():
    assert upgrade_path("mysql", "8.0", "8.4") is not None
    assert upgrade_path("mysql", "5.7", "8.0") is not None
    assert upgrade_path("mysql", "5.7", "8.4") is None
    assert ENGINES["mysql"].no_upgrade("5.7", "8.4").startswith("mysql upgrades one LTS series at a time: go to 8.0")
    assert upgrade_path("mysql", "8.4", "8.0") is None


def test_mongodb_upgrades_one_release_series_at_a_time():
    assert upgrade_path("mongodb", "7.0", "8.0") is not None
    assert upgrade_path("mongodb", "6.0", "8.0") is None
    assert ENGINES["mongodb"].no_upgrade("6.0", "8.0").startswith(
        "mongodb upgrades one release series at a time: go to 7.0 first")


def test_redis_reads_older_files_in_place():
    upgrade = upgrade_path("redis", "6.2", "7.4")
    assert upgrade is not None and upgrade.method == "in-place"
    assert upgrade_path("redis", "7.4", "6.2") is None


def test_a_dump_tool_dumps_servers_up_to_its_own_major():
    postgres = ENGINES["postgres"]
    assert postgres.client_can_dump("17.2", "15") and postgres.client_can_dump("17", "17.4")
    assert not postgres.client_can_dump("15", "17")
    assert ENGINES["mongodb"].client_can_dump("100.10.0", "8.0")  # the Database Tools, versioned apart
    assert not ENGINES["mongodb"].client_can_dump("6.0", "7.0")
    assert ENGINES["redis"].client_can_dump("6.0", "7.4")


def test_postgres_18_keeps_its_data_one_level_up_in_a_folder_per_major_as_its_image_does():
    postgres = ENGINES["postgres"]
    assert postgres.data_path("17") == "/var/lib/postgresql/data"
    assert postgres.data_path("18") == "/var/lib/postgresql"
    assert postgres.data_path("latest") == "/var/lib/postgresql/data"
    assert [postgres.volume_data_dir(v, "docker") for v in ("17", "18", "19.1")] == ["", "18/docker", "19/docker"]
    assert postgres.volume_data_dir("18", "kubernetes") == postgres.volume_data_dir("17", "kubernetes") == "pgdata"


def test_the_deploy_upgrades_postgres_and_mysql_by_a_copy_and_redis_in_place_and_not_mongodb():
    for backend in ("docker", "kubernetes"):
        for engine, old, new in (("postgres", "15", "17"), ("mysql", "8.0", "8.4")):
            copied = major_upgrade_supported(engine, old, new, backend)
            assert copied is not None and copied.method == "dump-restore"
            assert ENGINES[engine].copy_upgrade is not None  # how the deploy copies
        redis = major_upgrade_supported("redis", "7.4", "8.0", backend)
        assert redis is not None and redis.method == "in-place"
        assert major_upgrade_supported("mongodb", "7.0", "8.0", backend) is None
        # MySQL's own rules hold for the copy too: one LTS series at a time.
        assert major_upgrade_supported("mysql", "5.7", "8.4", backend) is None
        assert major_upgrade_supported("mysql", "8.4", "8.0", backend) is None
        # Never down, whatever the backend does.
        assert major_upgrade_supported("postgres", "17", "15", backend) is None


def _install_redis_snapshot(data: Path, snapshot: Path) -> int:
    import subprocess

    script = ENGINES["redis"].install_snapshot
    assert script is not None
    return subprocess.run(["sh", "-c", script.format(dir=data, file=snapshot)], capture_output=True).returncode


def test_a_redis_snapshot_becomes_the_base_of_a_fresh_append_only_file(tmp_path):
    # The server runs --appendonly yes and loads only its AOF: a dump.rdb beside it would be ignored.
    data, snapshot = tmp_path / "data", tmp_path / "snapshot.rdb"
    (data / "appendonlydir").mkdir(parents=True)
    (data / "appendonlydir" / "appendonly.aof.3.base.rdb").write_bytes(b"REDIS-old")
    (data / "appendonlydir" / "appendonly.aof.3.incr.aof").write_bytes(b"*1\r\n$4\r\nPING\r\n")
    (data / "appendonlydir" / "appendonly.aof.manifest").write_text("file appendonly.aof.3.base.rdb seq 3 type b\n")
    (data / "dump.rdb").write_bytes(b"REDIS-stale")
    snapshot.write_bytes(b"REDIS0011-snapshot")

    assert _install_redis_snapshot(data, snapshot) == 0

    assert sorted(p.name for p in data.iterdir()) == ["appendonlydir"]
    aof = data / "appendonlydir"
    assert sorted(p.name for p in aof.iterdir()) == ["appendonly.aof.1.base.rdb", "appendonly.aof.manifest"]
    assert (aof / "appendonly.aof.1.base.rdb").read_bytes() == b"REDIS0011-snapshot"
    # redis 7's manifest format (src/aof.c): one line per file, the base only; the server adds an incr file.
    assert (aof / "appendonly.aof.manifest").read_text() == "file appendonly.aof.1.base.rdb seq 1 type b\n"


def test_a_failed_redis_snapshot_copy_leaves_the_server_s_files_as_they_were(tmp_path):
    data = tmp_path / "data"
    (data / "appendonlydir").mkdir(parents=True)
    (data / "appendonlydir" / "appendonly.aof.manifest").write_text("file appendonly.aof.3.base.rdb seq 3 type b\n")

    assert _install_redis_snapshot(data, tmp_path / "missing.rdb") != 0

    assert (data / "appendonlydir" / "appendonly.aof.manifest").read_text().startswith("file appendonly.aof.3")
