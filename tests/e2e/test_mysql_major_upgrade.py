"""A MySQL major upgrade done by the deploy, on the real engine: "8.0" → "8.4", played by bookworm's
MariaDB 10.11 and trixie's 11.8 (Debian has no MySQL; the stand-ins keep the official image's
MYSQL_* contract).

A stack's database runs "8.0"; a table of ROWS rows and an account of the user's own go in; the
next deploy says `version: "8.4"`, `upgraded_from: ["8.0"]`. The new server runs on a new volume
(`-mysql84`) holding every row (count and checksum), the old volume keeps the old data untouched,
and the app's user (the credentials flashdrive hands the apps) and the user's own account log in
to the new server.
"""

from __future__ import annotations

import json
import os
import sys
import time

import pytest
from deploy import deploy_stack, destroy_stack, stack_folder
from harness import temp_folder
from provider import docker

pytestmark = pytest.mark.e2e

STACK = "upgrades2-mysql-e2e"
ROWS = int(os.environ.get("FLASHDRIVE_E2E_MYSQL_UPGRADE_ROWS", "100000"))
OLD_VOLUME, NEW_VOLUME = f"{STACK}-db-orders", f"{STACK}-db-orders-mysql84"
SERVER = f"{STACK}-orders"
# The stand-ins under the tags a real stack names: mysql:8.0, mysql:8.4.
TAGS = {"8.0": "flashdrive-e2e/mysql:mariadb-10.11", "8.4": "flashdrive-e2e/mysql:mariadb-11.8"}
REPOSITORY = "flashdrive-e2e/upgrades2-mysql"
CHECKSUM = "select count(*), md5(group_concat(id, ':', payload order by id separator ',')) from items"


def sql(statement: str, user: str = "root", password_env: str = "MYSQL_ROOT_PASSWORD", check: bool = True):
    """A statement on the stack's server, as `user`, the password from the container's own env."""
    result = docker("exec", SERVER, "sh", "-c",
                    f'MYSQL_PWD="${password_env}" mysql -h 127.0.0.1 -u {user} -N -B orders -e "$0"', statement,
                    check=check)
    return result if not check else result.stdout.strip()


def spec(folder, extra: str = "") -> None:
    (folder / "flashdrive.yaml").write_text(
        f"version: 1\nstack: {STACK}\n"
        f"databases:\n  orders:\n    engine: mysql\n    version: \"8.0\"\n{extra}backups: {{enabled: false}}\n")


@pytest.fixture(scope="module")
def upgraded(stand_in_images):
    for version, image in TAGS.items():
        docker("tag", image, f"{REPOSITORY}:{version}")
    images = {**stand_in_images, "mysql": f"{REPOSITORY}:{{version}}"}
    folder = temp_folder()
    destroy_stack(stack=STACK)
    try:
        spec(folder)
        deploy_stack(folder / "flashdrive.yaml", images=images)
        before = {"version": sql("select version()")}
        sql("create table items (id bigint primary key, payload varchar(64) not null)")
        # MariaDB's sequence engine: the stand-in's way to many rows in one statement.
        sql(f"insert into items select seq, md5(seq) from seq_1_to_{ROWS}")
        sql("create user 'reporting'@'%' identified by 'read-only-reports'")
        sql("grant select on orders.* to 'reporting'@'%'")
        before["items"] = sql(CHECKSUM)
        (folder / "flashdrive.yaml").write_text(
            (folder / "flashdrive.yaml").read_text().replace('version: "8.0"\n', 'version: "8.4"\n    upgraded_from: ["8.0"]\n'))
        started = time.monotonic()
        deploy_stack(folder / "flashdrive.yaml", images=images)
        seconds = time.monotonic() - started
        state = json.loads((stack_folder(STACK) / "state.json").read_text())["resources"]
        report = next(str(r.get("outputs", {}).get("stdout")) for urn, r in state.items() if urn.endswith("orders-upgrade"))
        print(f"[e2e] mysql 8.0 → 8.4 (MariaDB 10.11 → 11.8) with {ROWS} rows: the deploy took {seconds:.1f}s; "
              f"the upgrade said: {report}", file=sys.stderr)
        yield {"before": before, "seconds": seconds}
    finally:
        destroy_stack(stack=STACK)
        for version in TAGS:
            docker("image", "rm", f"{REPOSITORY}:{version}", check=False)


def test_the_new_major_serves_every_row_from_a_new_volume(upgraded):
    assert "10.11" in upgraded["before"]["version"]
    assert "11.8" in sql("select version()")
    assert sql(CHECKSUM) == upgraded["before"]["items"]
    assert upgraded["before"]["items"].startswith(f"{ROWS}\t")
    mounts = [m["Name"] for m in json.loads(docker("inspect", SERVER).stdout)[0]["Mounts"] if m["Type"] == "volume"]
    assert mounts == [NEW_VOLUME]


def test_the_apps_user_and_the_users_own_account_log_in_to_the_new_server(upgraded):
    # The app's user with the password flashdrive hands the apps (MYSQL_PASSWORD: the same derived secret).
    assert sql("select count(*) from items", user="orders", password_env="MYSQL_PASSWORD") == str(ROWS)
    docker("exec", SERVER, "sh", "-c", "printf %s read-only-reports > /tmp/p")
    read = docker("exec", SERVER, "sh", "-c", 'MYSQL_PWD=$(cat /tmp/p) mysql -h 127.0.0.1 -u reporting -N -B orders '
                  '-e "select count(*) from items"').stdout.strip()
    assert read == str(ROWS)
    denied = docker("exec", SERVER, "sh", "-c", 'MYSQL_PWD=$(cat /tmp/p) mysql -h 127.0.0.1 -u reporting orders '
                    '-e "delete from items"', check=False)
    assert denied.returncode != 0 and "denied" in denied.stderr


def test_the_old_volume_is_kept_with_the_old_major_data(upgraded):
    assert docker("volume", "inspect", OLD_VOLUME, check=False).returncode == 0
    # The old major's own files, as it left them, and nothing of the new major's.
    listed = docker("run", "--rm", "--entrypoint", "ls", "--mount", f"type=volume,source={OLD_VOLUME},target=/v,readonly",
                    TAGS["8.0"], "/v", "/v/orders").stdout
    assert "ibdata1" in listed and "items.ibd" in listed
    assert ".flashdrive-upgrade" not in listed
    marker = docker("run", "--rm", "--entrypoint", "cat", "--mount", f"type=volume,source={NEW_VOLUME},target=/v,readonly",
                    TAGS["8.4"], "/v/.flashdrive-upgrade").stdout.strip()
    assert marker == "mysql 8.0 to 8.4"
