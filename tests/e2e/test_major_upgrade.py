"""A Postgres major upgrade done by the deploy, on the real engine: 15 → 17 (bookworm's and trixie's).

The example stack runs on postgres 15; a table of ROWS rows and a row written through the app go
in; the next deploy says `version: "17"`, `upgraded_from: ["15"]`. The new server runs on a new
volume holding every row, the old volume keeps the 15 data untouched (the way back), the app reads
its row through the new server, and backups still dump the database. The backup stand-in carries
trixie's pg_dump 17 from the start: a client dumps older servers, never newer ones.
"""

from __future__ import annotations

import json
import os
import sys
import time

import pytest
from deploy import destroy_stack, pulumi_destroy, stack_folder
from harness import EXAMPLE, Deployment, temp_folder, write_overlay
from provider import docker

from flashdrive.cli.main import main

pytestmark = pytest.mark.e2e

STACK = os.environ.get("FLASHDRIVE_E2E_UPGRADE_STACK", "upgrades-e2e")
ROWS = int(os.environ.get("FLASHDRIVE_E2E_UPGRADE_ROWS", "200000"))  # more for a measurement
OLD_VOLUME, NEW_VOLUME = f"{STACK}-db-main", f"{STACK}-db-main-pg17"
CHECKSUM = "select count(*), md5(string_agg(id::text || ':' || payload, ',' order by id)) from items"


def _overlay(folder, name: str, text: str):
    path = folder / name
    path.write_text(text)
    return path


def psql(stack: Deployment, sql: str) -> str:
    return stack.exec("main", "psql", "-U", "main", "-d", "main", "-X", "-At", "-c", sql).stdout.strip()


def django(stack: Deployment, code: str) -> str:
    return stack.exec("web-1", "python", "manage.py", "shell", "-c", code).stdout.strip().splitlines()[-1]


def volume_file(volume: str, path: str, image: str) -> str:
    return docker("run", "--rm", "--entrypoint", "cat", "--mount", f"type=volume,source={volume},target=/v,readonly",
                  image, f"/v/{path}").stdout.strip()


@pytest.fixture(scope="module")
def upgraded(stand_in_images):
    folder = temp_folder()
    # The stand-in of each major by its tag (postgres:15, postgres:17), as the official images are.
    images = {**stand_in_images, "postgres": "flashdrive-e2e/postgres:{version}",
              "restic": "flashdrive-e2e/restic:trixie", "rclone": "flashdrive-e2e/restic:trixie"}
    base = write_overlay(folder, STACK, images, 'databases:\n  main:\n    version: "15"\n')
    destroy_stack(stack=STACK)
    deployment = Deployment(STACK, EXAMPLE, [base], {}, images=images)
    try:
        deployment.deploy()
        before = {"version": psql(deployment, "show server_version_num")}
        psql(deployment, "create table items (id bigint primary key, payload text not null)")
        psql(deployment, f"insert into items select n, md5(n::text) from generate_series(1, {ROWS}) n")
        django(deployment, "from store.models import Visit; Visit.objects.create(node='before-the-upgrade')")
        before["items"] = psql(deployment, CHECKSUM)
        deployment.overlay = [base, _overlay(
            folder, "upgrade.yaml", 'databases:\n  main:\n    version: "17"\n    upgraded_from: ["15"]\n')]
        started = time.monotonic()
        deployment.deploy()
        deployment.extra.update(before=before, upgrade_seconds=time.monotonic() - started)
        state = json.loads((stack_folder(STACK) / "state.json").read_text())["resources"]
        report = next(str(r.get("outputs", {}).get("stdout")) for urn, r in state.items() if urn.endswith("main-upgrade"))
        print(f"[e2e] postgres 15 → 17 with {ROWS} rows: the deploy took {deployment.extra['upgrade_seconds']:.1f}s; "
              f"the upgrade said: {report}", file=sys.stderr)
        yield deployment
    finally:
        destroy_stack(stack=STACK)


def test_the_new_major_serves_every_row_from_a_new_volume(upgraded):
    assert upgraded.extra["before"]["version"].startswith("15")
    assert psql(upgraded, "show server_version_num").startswith("17")
    assert psql(upgraded, CHECKSUM) == upgraded.extra["before"]["items"]
    assert upgraded.extra["before"]["items"].startswith(f"{ROWS}|")
    mounts = [m["Name"] for m in upgraded.inspect("main")["Mounts"] if m["Type"] == "volume"]
    assert mounts == [NEW_VOLUME]
    # The apps reach the new server under the same name and credentials.
    assert django(upgraded, "from store.models import Visit; "
                            "print(Visit.objects.filter(node='before-the-upgrade').count())") == "1"
    django(upgraded, "from store.models import Visit; Visit.objects.create(node='after-the-upgrade')")


def test_the_old_volume_is_kept_with_the_old_major_data(upgraded):
    assert docker("volume", "inspect", OLD_VOLUME, check=False).returncode == 0
    assert volume_file(OLD_VOLUME, "PG_VERSION", "flashdrive-e2e/postgres:15") == "15"
    assert volume_file(NEW_VOLUME, "PG_VERSION", "flashdrive-e2e/postgres:17") == "17"
    # The state still holds the old volume (retained, declared): removing the stack later keeps it.
    volumes = {r.name for r in upgraded.plan.resources if r.type == "docker:index/volume:Volume"}
    assert {OLD_VOLUME, NEW_VOLUME} <= volumes


def test_backups_dump_the_upgraded_database(upgraded, capsys):
    capsys.readouterr()
    code = main(["backup", "run", "--deployed", STACK])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    code = main(["backup", "list", "--deployed", STACK])
    listed = capsys.readouterr().out
    assert code == 0 and "database:main" in listed


def test_destroy_then_up_keeps_the_newer_data_and_copies_nothing(upgraded):
    """The retained volumes meet a new state: the finished copy is recognised (the old volume has not
    changed since), so the 17 data, with what was written after the upgrade, is what serves."""
    before = psql(upgraded, CHECKSUM)
    psql(upgraded, "insert into items values (0, 'written after the upgrade')")
    pulumi_destroy(STACK)
    upgraded.deploy()
    assert psql(upgraded, "select payload from items where id = 0") == "written after the upgrade"
    assert psql(upgraded, "select count(*) from items") == str(int(before.split("|")[0]) + 1)
    assert psql(upgraded, "show server_version_num").startswith("17")
