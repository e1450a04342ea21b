"""A database's major upgrade on Docker (`upgraded_from`): the plan puts the new major on a new
volume filled by a Command before the server switches and keeps the old volume; the Command's
script, run by /bin/sh against a recording `docker`, copies only when it must, never passes the
password on a command line, and starts the old server again when the copy fails."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from flashdrive.docker.upgrade import upgrade_script
from flashdrive.model import resolve
from flashdrive.plan import plan_spec
from flashdrive.plan.markdown import render_markdown
from flashdrive.plan.render import render_text
from flashdrive.pipeline import check_spec

COMMAND = "command:local:Command"
CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"

SPEC = """\
version: 1
stack: shop
apps:
  web:
    image: ghcr.io/acme/web:1.4
    env: {DATABASE_URL: "${databases.main.url}"}
databases:
  main: {engine: postgres, version: "%s"%s}
"""


def _plan(tmp_path: Path, version: str, upgraded_from: str = ""):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text(SPEC % (version, f", upgraded_from: {upgraded_from}" if upgraded_from else ""))
    return plan_spec(spec, config={"flashdrive:dockerHost": "ssh://deploy@server"})


def test_a_database_that_never_upgraded_keeps_its_volume_name_and_gets_no_upgrade_step(tmp_path):
    plan = _plan(tmp_path, "17")
    assert [r.name for r in plan.resources if r.type == VOLUME and "db" in r.name] == ["shop-db-main"]
    assert not [r for r in plan.resources if r.type == COMMAND and r.name.endswith("-upgrade")]
    assert "Major upgrades" not in render_text(plan)


def test_a_major_upgrade_runs_the_new_major_on_a_new_volume_after_the_copy_and_keeps_the_old_one(tmp_path):
    plan = _plan(tmp_path, "17", '["15"]')
    old, new = plan.get("shop-db-main", VOLUME), plan.get("shop-db-main-pg17", VOLUME)
    assert old.retain_on_delete and new.retain_on_delete
    server = plan.get("shop-main", CONTAINER)
    assert [v["volumeName"] for v in server.inputs["volumes"]] == ["shop-db-main-pg17"]
    upgrade = plan.get("shop-main-upgrade", COMMAND)
    assert upgrade.urn in server.depends_on
    assert {old.urn, new.urn} <= set(upgrade.depends_on)
    assert upgrade.inputs["triggers"] == ["postgres:15", "shop-db-main", "postgres:17", "shop-db-main-pg17"]
    environment = upgrade.inputs["environment"]
    assert environment["DOCKER_HOST"] == "ssh://deploy@server"
    assert (environment["OLD_IMAGE"], environment["NEW_IMAGE"]) == ("postgres:15", "postgres:17")
    assert environment["POSTGRES_PASSWORD"] == "[secret]"
    text = render_text(plan)
    assert ("Major upgrades:\n    main: postgres 15 → 17: when volume shop-db-main-pg17 is new, the deploy stops the 15 "
            "server") in text
    assert "Major upgrade, postgres 15 → 17: when volume shop-db-main-pg17 is new" in render_markdown(plan)


def test_each_later_major_has_its_own_volume_and_the_copy_comes_from_the_last_one(tmp_path):
    plan = _plan(tmp_path, "17", "[15, 16]")
    volumes = sorted(r.name for r in plan.resources if r.type == VOLUME and "-db-" in r.name)
    assert volumes == ["shop-db-main", "shop-db-main-pg16", "shop-db-main-pg17"]
    assert plan.get("shop-main-upgrade", COMMAND).inputs["triggers"] == [
        "postgres:16", "shop-db-main-pg16", "postgres:17", "shop-db-main-pg17"]


# A stand-in for the Docker CLI: records each call; `run --rm` (the look at the volumes) answers
# $FAKE_STATE, `inspect` says the server runs, `exec ... sh -c` (the copy) exits $FAKE_COPY_EXIT.
FAKE_DOCKER = r"""#!/bin/sh
printf 'ARGV' >> "$FAKE_DOCKER_LOG"; for a in "$@"; do printf ' [%s]' "$a" >> "$FAKE_DOCKER_LOG"; done
echo >> "$FAKE_DOCKER_LOG"
case "$1" in
  run) case "$*" in *"echo diverged"*) echo "$FAKE_STATE" ;; esac ;;
  inspect) echo true ;;
  volume) [ "$2" = inspect ] && [ "${FAKE_INTERRUPTED:-no}" = no ] && exit 1 ;;
  exec) [ "$3" = sh ] && exit "$FAKE_COPY_EXIT" ;;
esac
exit 0
"""
PASSWORD = "pw-very-secret-0042"


def run_script(tmp_path: Path, state: str, copy_exit: int = 0,
               database: str = 'postgres, version: "17", upgraded_from: ["15"]',
               ) -> tuple[subprocess.CompletedProcess, list[str]]:
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text(SPEC.replace('postgres, version: "%s"%s', database))
    db = resolve(*check_spec(spec)).databases["main"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    log = tmp_path / "docker.log"
    log.write_text("")
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE_DOCKER_LOG=str(log), FAKE_STATE=state,
               FAKE_COPY_EXIT=str(copy_exit), OLD_IMAGE=db.earlier[-1].image, NEW_IMAGE=db.image,
               POSTGRES_USER="main", POSTGRES_PASSWORD=PASSWORD, MYSQL_USER="main", MYSQL_PASSWORD=PASSWORD,
               MYSQL_ROOT_PASSWORD=PASSWORD)
    result = subprocess.run(["/bin/sh", "-c", upgrade_script("shop", db, 120)], env=env, capture_output=True,
                            text=True, timeout=30)
    return result, log.read_text().splitlines()


def test_the_copy_stops_the_old_server_first_and_dumps_it_with_the_new_majors_client(tmp_path):
    result, calls = run_script(tmp_path, "copy")
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in "\n".join(calls)
    stop = calls.index("ARGV [stop] [--time] [120] [shop-main]")
    new = next(i for i, c in enumerate(calls) if c.startswith("ARGV [run] [-d] [--name] [shop-main-upgrade]"))
    old = next(i for i, c in enumerate(calls) if c.startswith("ARGV [run] [-d] [--name] [shop-main-upgrade-from]"))
    copy = next(i for i, c in enumerate(calls) if c.startswith("ARGV [exec] [shop-main-upgrade] [sh]"))
    assert stop < new < old < copy
    assert "[--env=POSTGRES_PASSWORD]" in calls[new] and "[--network=none]" in calls[new]
    assert "[--mount=type=volume,source=shop-db-main-pg17,target=/var/lib/postgresql/data]" in calls[new]
    assert "[--network=container:shop-main-upgrade]" in calls[old] and "[postgres:15]" in calls[old]
    assert "pg_dumpall --host 127.0.0.1 --port 5433" in "\n".join(calls[copy:])  # the script spans lines
    # The marker goes on last, after both temporary servers stopped; then the copy is no longer in progress.
    assert "/new/.flashdrive-upgrade" in calls[-3] and "ARGV [rm] [-f] [shop-main-upgrade]" in calls[-1]
    assert calls[-2] == "ARGV [volume] [rm] [shop-db-main-pg17.upgrade-in-progress]"
    assert "docker start" not in result.stderr and not any(c.startswith("ARGV [start]") for c in calls)


def test_a_finished_copy_whose_old_volume_did_not_change_is_not_made_again(tmp_path):
    result, calls = run_script(tmp_path, "copied")
    assert result.returncode == 0
    assert "nothing to do" in result.stdout
    assert not any(c.startswith(("ARGV [stop]", "ARGV [run] [-d]")) for c in calls)


def test_an_old_volume_written_after_the_copy_stops_the_deploy_without_touching_either(tmp_path):
    result, calls = run_script(tmp_path, "diverged")
    assert result.returncode == 1
    assert "each volume holds data the other lacks, and flashdrive will not choose" in result.stderr
    assert not any(c.startswith(("ARGV [stop]", "ARGV [run] [-d]")) or "-delete" in c for c in calls)


def test_a_failed_copy_removes_the_temporary_servers_and_starts_the_old_server_again(tmp_path):
    result, calls = run_script(tmp_path, "copy", copy_exit=1)
    assert result.returncode == 1
    assert "the copy (postgres 15 to 17) failed" in result.stderr
    assert calls[-2:] == ["ARGV [rm] [-f] [shop-main-upgrade] [shop-main-upgrade-from]", "ARGV [start] [shop-main]"]
    assert "the old server runs again on volume shop-db-main, unchanged" in result.stderr


@pytest.mark.parametrize("state", ["copy", "empty"])
def test_the_password_reaches_no_command_line_and_no_output(tmp_path, state):
    result, calls = run_script(tmp_path, state)
    assert result.returncode == 0 and PASSWORD not in "\n".join(calls) + result.stdout + result.stderr
    assert any("[--env=POSTGRES_PASSWORD]" in c for c in calls)


def test_the_new_volume_is_marked_in_progress_before_it_is_emptied_and_filled(tmp_path):
    result, calls = run_script(tmp_path, "copy")
    assert result.returncode == 0, result.stderr
    mark = calls.index("ARGV [volume] [create] [--label=flashdrive.stack=shop] [--label=flashdrive.role=upgrade] "
                       "[shop-db-main-pg17.upgrade-in-progress]")
    empty = next(i for i, c in enumerate(calls) if "find /new -mindepth 1 -delete" in c)
    assert mark < empty
    # The look is told whether an earlier copy was interrupted (the in-progress volume is still there).
    look = next(c for c in calls if "echo foreign" in c)
    assert "[--env=FLASHDRIVE_INTERRUPTED=no]" in look


def test_a_new_volume_holding_data_without_a_mark_of_the_copy_stops_the_deploy_untouched(tmp_path):
    result, calls = run_script(tmp_path, "foreign")
    assert result.returncode == 1
    assert "error: volume shop-db-main-pg17 holds data but no mark of flashdrive's copy" in result.stderr
    assert "`docker volume rm shop-db-main-pg17`" in result.stderr
    assert not any(c.startswith(("ARGV [stop]", "ARGV [run] [-d]", "ARGV [volume] [create]")) or "-delete" in c
                   for c in calls)


def _look(tmp_path: Path, new_files: list[str], interrupted: bool, old_data: bool = True) -> str:
    from flashdrive.major_upgrade import look_script

    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    if old_data:
        (old / "PG_VERSION").write_text("15\n")
    for name in new_files:
        (new / name).parent.mkdir(parents=True, exist_ok=True)
        (new / name).write_text("x")
    script = look_script(str(old), str(new), "PG_VERSION", "true" if interrupted else "false")
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize(("new_files", "interrupted", "old_data", "state"), [
    ([], False, True, "copy"),
    ([], False, False, "empty"),
    (["lost+found/x"], False, True, "copy"),  # a fresh filesystem's own folder is no data
    # An interrupted copy's leftovers: marked (Kubernetes: a file; Docker: the volume beside it).
    (["pgdata/PG_VERSION", ".flashdrive-upgrade-in-progress"], True, True, "copy"),
    (["PG_VERSION", "base/1"], True, False, "empty"),
    # A live database without the copy's marker: restored by hand, or its old volume removed.
    (["PG_VERSION", "base/1"], False, True, "foreign"),
    (["PG_VERSION", "base/1"], False, False, "foreign"),
    (["18/docker/PG_VERSION"], False, True, "foreign"),
])
def test_the_look_empties_a_new_volume_only_when_it_is_empty_or_an_interrupted_copy_s(
        tmp_path, new_files, interrupted, old_data, state):
    assert _look(tmp_path, new_files, interrupted, old_data) == state


def test_a_mysql_lts_step_runs_on_a_volume_of_its_own_filled_by_the_same_command(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text(SPEC.replace('postgres, version: "%s"%s', 'mysql, version: "8.4", upgraded_from: ["8.0"]'))
    plan = plan_spec(spec, config={"flashdrive:dockerHost": "ssh://deploy@server"})
    assert plan.get("shop-db-main", VOLUME).retain_on_delete and plan.get("shop-db-main-mysql84", VOLUME).retain_on_delete
    server = plan.get("shop-main", CONTAINER)
    assert [v["volumeName"] for v in server.inputs["volumes"]] == ["shop-db-main-mysql84"]
    upgrade = plan.get("shop-main-upgrade", COMMAND)
    assert upgrade.urn in server.depends_on
    assert upgrade.inputs["triggers"] == ["mysql:8.0", "shop-db-main", "mysql:8.4", "shop-db-main-mysql84"]
    environment = upgrade.inputs["environment"]
    # The copy logs in as root on both servers; the new server's entrypoint makes the app's user.
    assert environment["MYSQL_USER"] == "main"
    assert environment["MYSQL_PASSWORD"] == environment["MYSQL_ROOT_PASSWORD"] == "[secret]"
    assert "main: mysql 8.0 → 8.4: when volume shop-db-main-mysql84 is new, the deploy stops the 8.0 server" in render_text(plan)


def test_the_mysql_copy_runs_the_old_server_on_the_loopback_and_dumps_it_with_the_new_mysqldump(tmp_path):
    result, calls = run_script(tmp_path, "copy", database='mysql, version: "8.4", upgraded_from: ["8.0"]')
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in "\n".join(calls) + result.stdout + result.stderr
    new = next(c for c in calls if c.startswith("ARGV [run] [-d] [--name] [shop-main-upgrade]"))
    old = next(c for c in calls if c.startswith("ARGV [run] [-d] [--name] [shop-main-upgrade-from]"))
    assert all(f"[--env={name}]" in new for name in ("MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD"))
    assert "[--env=MYSQL_DATABASE=main]" in new
    assert "[--mount=type=volume,source=shop-db-main-mysql84,target=/var/lib/mysql]" in new
    assert old.endswith("[mysql:8.0] [--port=5433] [--bind-address=127.0.0.1] [--loose-mysqlx=OFF]")
    script = "\n".join(calls)
    assert "[mysqladmin] [ping] [-h] [127.0.0.1] [-P] [5433] [--silent]" in script
    assert "exec mysqldump --host 127.0.0.1 --port 5433 --user root --single-transaction" in script
    assert "SHOW CREATE USER" in script and "SHOW GRANTS FOR" in script
    assert "test -f" not in script and "[ -s /old/ibdata1 ]" in script
    assert "/new/.flashdrive-upgrade" in calls[-3] and calls[-2].startswith("ARGV [volume] [rm]")
