"""A preview's Docker plan: its own names, its seed in order, read-only access to the base's backups."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from flashdrive.labels import DOCKER_CONTAINER, DOCKER_NETWORK, DOCKER_VOLUME
from flashdrive.model import resolve
from flashdrive.plan import plan_spec
from flashdrive.plan.render import render
from flashdrive.spec import load_spec

SPEC = """\
version: 1
stack: shop
apps:
  web:
    image: ghcr.io/acme/web:1
    release: python manage.py migrate
    env:
      DATABASE_URL: ${databases.main.url}
    disks: [{name: media, mount: /app/media, size_gb: 1}]
    domains: [shop.example.com]
    cron: [{name: nightly, schedule: "@daily", command: echo hi}]
  worker:
    image: ghcr.io/acme/worker:1
    type: worker
databases:
  main: {engine: postgres}
  cache: {engine: redis}
tls: {email: ops@example.com}
previews:
  seed: {from: backups, scrub: python manage.py scrub_personal_data}
"""


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "flashdrive.yaml"
    path.write_text(SPEC)
    return path


@pytest.fixture
def plan(spec):
    return plan_spec(spec, preview=7)


def _names(plan, type_token):
    return {r.inputs.get("name") for r in plan.by_type(type_token)}


def test_everything_the_preview_creates_is_named_after_the_preview_never_the_base(plan, spec):
    assert plan.stack == "shop-pr-7"
    for type_token in (DOCKER_CONTAINER, DOCKER_VOLUME, DOCKER_NETWORK):
        names = _names(plan, type_token)
        assert names and all(str(n).startswith("shop-pr-7-") for n in names), names
    base = plan_spec(spec)
    assert not (_names(plan, DOCKER_VOLUME) & _names(base, DOCKER_VOLUME))


def test_the_only_thing_of_the_base_it_names_is_its_repository_mounted_read_only_by_the_restore(plan):
    mentions = [r for r in plan.resources if "shop-backups" in json.dumps(r.inputs)]
    assert [r.name for r in mentions] == ["shop-pr-7-seed-restore"]
    script = mentions[0].inputs["create"]
    mounts = [line for line in script.split() if "shop-backups" in line and "--mount" in line]
    assert mounts and all(m.rstrip("'").endswith(",readonly") for m in mounts), mounts
    # The base's networks and backup server are never joined; the preview's own network is.
    assert "--network=shop-pr-7-internal" in script
    assert "shop-internal" not in script and "shop-backup " not in script and "backup-server" not in script
    # restic never takes a lock (a write) on the base's repository.
    assert "restic --no-lock --no-cache" in script


def test_the_seed_restores_then_the_release_then_the_scrub_then_the_copies(plan):
    restore = plan.get("shop-pr-7-seed-restore")
    release = plan.get("shop-pr-7-web-release")
    scrub = plan.get("shop-pr-7-web-scrub")
    assert restore.urn in release.depends_on
    assert {restore.urn, release.urn} <= set(scrub.depends_on)
    copies = [r for r in plan.by_type(DOCKER_CONTAINER) if '"flashdrive.node"' in json.dumps(r.inputs.get("labels"))]
    assert {c.inputs["name"].rsplit("-", 1)[0] for c in copies} == {"shop-pr-7-web-1", "shop-pr-7-worker-1"}
    assert all(scrub.urn in c.depends_on for c in copies)
    # The restore waits for the preview's own databases and disk.
    assert {plan.get("shop-pr-7-main", DOCKER_CONTAINER).urn, plan.get("shop-pr-7-disk-media", DOCKER_VOLUME).urn} \
        <= set(restore.depends_on)


def test_the_seed_runs_once_a_later_up_changes_nothing_of_it(plan):
    for name in ("shop-pr-7-seed-restore", "shop-pr-7-web-scrub"):
        ignored = set(plan.get(name).ignore_changes)
        assert {"create", "environment", "triggers"} <= ignored, name
    # The release still runs on every deploy, as in the base.
    assert not plan.get("shop-pr-7-web-release").ignore_changes


def test_the_scrub_runs_in_a_one_off_container_of_the_scrub_app_with_its_env_names_only(plan):
    scrub = plan.get("shop-pr-7-web-scrub")
    script = scrub.inputs["create"]
    assert "python manage.py scrub_personal_data" in script
    assert "--env=DATABASE_URL" in script and "--label=flashdrive.role=scrub" in script
    assert scrub.inputs["environment"]["DATABASE_URL"] == "[secret]"


def test_the_repository_password_and_database_passwords_reach_the_restore_as_secrets(plan):
    environment = plan.get("shop-pr-7-seed-restore").inputs["environment"]
    assert environment["RESTIC_PASSWORD"] == "[secret]"
    assert environment["FLASHDRIVE_DB_MAIN_PASSWORD"] == "[secret]"
    script = plan.get("shop-pr-7-seed-restore").inputs["create"]
    assert "--env=RESTIC_PASSWORD" in script and "RESTIC_PASSWORD=" not in script


def test_a_preview_has_no_backups_no_cron_no_custom_domain_and_keeps_no_volume_after_destroy(plan, spec):
    roles = json.dumps([r.inputs.get("labels") for r in plan.by_type(DOCKER_CONTAINER)])
    assert "backup" not in roles and '"cron"' not in roles
    assert "shop.example.com" not in json.dumps([r.inputs for r in plan.resources if r.name != "shop-pr-7-web-scrub"])
    assert not any(v.retain_on_delete for v in plan.by_type(DOCKER_VOLUME))
    base = plan_spec(spec).by_type(DOCKER_VOLUME)
    assert all(v.retain_on_delete for v in base if "-cron-" not in v.name)  # the base keeps its data


def test_without_a_seed_the_preview_starts_empty_and_its_copies_do_not_wait(tmp_path):
    path = tmp_path / "flashdrive.yaml"
    path.write_text(SPEC.replace("  seed: {from: backups, scrub: python manage.py scrub_personal_data}\n",
                                 "  cron: true\n"))
    plan = plan_spec(path, preview=7)
    assert not [r for r in plan.resources if "seed" in r.name or "scrub" in r.name]
    assert any(str(r.inputs.get("name")).startswith("shop-pr-7-web-cron-") for r in plan.by_type(DOCKER_CONTAINER))
    assert "seed: none, the preview starts empty" in render(plan, "text")


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "mermaid"])
def test_every_plan_format_shows_the_seed_and_the_dropped_domains(plan, fmt):
    text = render(plan, fmt)
    assert "shop.example.com" in text
    if fmt == "json":
        preview = json.loads(text)["outputs"]["preview"]
        assert preview["dropped_domains"] == {"shop.example.com": "web"}
        assert preview["seed"]["scrub"] == "python manage.py scrub_personal_data"
        assert preview["base"] == "shop" and preview["number"] == 7
    elif fmt == "mermaid":
        assert "restore → release → scrub → copies" in text and "custom domains dropped" in text
        assert 'seed_seed -.->|"restores"| db_main' in text
    else:
        assert "restore the latest snapshot of each database and disk" in text
        assert "run the scrub command with app web's image" in text
        assert "custom domains dropped: shop.example.com (app web)" in text


def test_plan_preview_on_the_command_line(spec, cli):
    run = cli("plan", spec, "--preview", "7", "--format", "markdown")
    assert run.code == 0, run.err
    assert "stack `shop-pr-7`" in run.out and "**Preview.**" in run.out
    assert cli("plan", spec, "--preview", "seven").code == 2


def test_a_preview_whose_name_does_not_fit_fails_the_plan_with_the_spec_s_error_format(tmp_path, cli):
    path = tmp_path / "flashdrive.yaml"
    path.write_text(SPEC.replace("stack: shop", "stack: abcdefghijklmnopqrstuvwxyz"))
    run = cli("plan", path, "--preview", "1234")
    assert run.code == 1
    assert run.err.startswith(f"{path}:2:8: error: stack: preview 1234 of stack 'abcdefghijklmnopqrstuvwxyz' would "
                              "be named 'abcdefghijklmnopqrstuvwxyz-pr-1234'")
    assert "Traceback" not in run.err


def test_a_base_repository_volume_missing_from_this_docker_host_fails_the_seed_and_says_why(spec, tmp_path):
    from flashdrive.docker.seed import restore_script

    # A `docker` that knows no volume: the restore must not mount (and so create) the base's volume.
    fake = tmp_path / "bin"
    fake.mkdir()
    calls = tmp_path / "calls"
    (fake / "docker").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n[ "$1" = volume ] && exit 1\nexit 0\n')
    (fake / "docker").chmod(0o755)
    stack = resolve(load_spec(spec), {}, preview=7)
    result = subprocess.run(["/bin/sh", "-c", restore_script(stack, "shop-pr-7-internal")], capture_output=True,
                            text=True, env={**os.environ, "PATH": f"{fake}:{os.environ['PATH']}",
                                            "DOCKER_HOST": "ssh://deploy@other"})
    assert result.returncode == 1, result.stdout
    assert "error: the Docker host ssh://deploy@other has no volume shop-backups, the backup repository of stack " \
           "shop: a seeded preview (previews.seed) reads it there, so it runs on the Docker host of its base" \
           in result.stderr
    assert "flashdrive:publishAddress" in result.stderr and "starts empty" not in result.stdout
    assert Path(calls).read_text().splitlines() == ["volume inspect shop-backups"]


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_the_edge_publishes_on_the_stack_s_publish_address_and_the_plan_shows_it(spec, fmt):
    plan = plan_spec(spec, preview=7, config={"flashdrive:publishAddress": "10.0.0.12"})
    edge = next(r for r in plan.by_type(DOCKER_CONTAINER) if r.inputs.get("name") == "shop-pr-7-edge")
    assert [(p["ip"], p["external"]) for p in edge.inputs["ports"]] == [("10.0.0.12", 80), ("10.0.0.12", 443)]
    assert "10.0.0.12" in render(plan, fmt)
    everywhere = plan_spec(spec, preview=7)
    edge = next(r for r in everywhere.by_type(DOCKER_CONTAINER) if r.inputs.get("name") == "shop-pr-7-edge")
    assert all("ip" not in p for p in edge.inputs["ports"])  # every address, as before: no change for a stack


def test_a_publish_address_that_is_not_an_ip_address_fails_with_the_config_key(spec, tmp_path, cli):
    from flashdrive.problems import InputError

    with pytest.raises(InputError) as caught:
        plan_spec(spec, preview=7, config={"flashdrive:publishAddress": "pr-7.example.com"})
    assert "stack config flashdrive:publishAddress: 'pr-7.example.com' is not an IP address" in \
        caught.value.problems[0].format()


FAKE_DOCKER = """\
#!/bin/sh
# A Docker CLI for the seed's own script: it logs every call; `wait` blocks until `stop` of the
# same container (or answers $WAIT_CODE at once); FAIL_START=NAME makes `start NAME` fail.
echo "$*" >> "$CALLS"
case "$1" in
  volume) case "$*" in *--format*) echo shop/backups ;; esac ;;
  start) [ "$2" = "${FAIL_START:-}" ] && exit 1 ;;
  stop) touch "$STATE/stopped-$(echo "$*" | sed 's/.* //')" ;;
  logs) printf '%s\\n' "${LOGS:-}" ;;
  wait) if [ -n "${WAIT_CODE:-}" ]; then echo "$WAIT_CODE"; exit 0; fi
        while [ ! -e "$STATE/stopped-$2" ]; do sleep 0.1; done; echo 137 ;;
esac
exit 0
"""


def _run_seed(stack, tmp_path, **env):
    from flashdrive.docker.seed import restore_script

    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "docker").write_text(FAKE_DOCKER)
    (fake / "docker").chmod(0o755)
    calls = tmp_path / "calls"
    calls.write_text("")
    result = subprocess.run(["/bin/sh", "-c", restore_script(stack, "shop-pr-7-internal")], capture_output=True,
                            text=True, timeout=60,
                            env={**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "CALLS": str(calls),
                                 "STATE": str(tmp_path), "FLASHDRIVE_SEED_IMAGE": "sha256:seed", **env})
    return result, [line.split(" ", 1)[0] + " " + line.split(" ")[-1] for line in calls.read_text().splitlines()]


def test_a_seed_that_outlives_the_release_timeout_is_stopped_and_redis_started_again(spec, tmp_path):
    from msgspec import structs

    stack = resolve(load_spec(spec), {}, preview=7)
    stack = structs.replace(stack, apps={name: structs.replace(app, release_timeout_s=1)
                                             for name, app in stack.apps.items()})
    result, calls = _run_seed(stack, tmp_path)
    assert result.returncode == 1
    assert "error: the seed of preview shop-pr-7 ran longer than 1 s (the largest release_timeout_s of its apps) " \
           "and was stopped" in result.stderr
    # Redis stopped for its file, the seed stopped by the watchdog, Redis started again.
    assert calls.index("stop shop-pr-7-cache") < calls.index("start shop-pr-7-seed") \
        < calls.index("stop shop-pr-7-seed") < calls.index("start shop-pr-7-cache")


def test_a_failed_seed_says_what_failed_without_the_rows_its_tools_quoted(spec, tmp_path):
    stack = resolve(load_spec(spec), {}, preview=7)
    logs = "\n".join([
        "flashdrive-seed: disk media: restored snapshot 1a2b3c4d",
        'pg_restore: error: COPY failed for table "customers": ERROR:  duplicate key value violates unique '
        "constraint 'customers_email_key' Key (email)=(alice@example.com) already exists.",
        "DETAIL:  Failing row contains (7, alice@example.com, 4111111111111111).",
        "flashdrive-seed: database main: the restore of snapshot 5e6f7a8b failed"])
    result, calls = _run_seed(stack, tmp_path, WAIT_CODE="1", LOGS=logs)
    assert result.returncode == 1
    assert "alice@example.com" not in result.stderr + result.stdout
    assert "4111111111111111" not in result.stderr + result.stdout
    assert 'first error (values elided): pg_restore: error: COPY failed for table "...": ERROR:  duplicate key ' \
           "value violates unique constraint '...' Key (...)=(...) already exists." in result.stderr
    assert "flashdrive-seed: database main: the restore of snapshot 5e6f7a8b failed" in result.stderr
    assert "docker logs shop-pr-7-seed, on the Docker host" in result.stderr
    # The container stays for that: removed before the run (a leftover), not after it.
    assert calls.count("rm shop-pr-7-seed") == 1 and calls.index("rm shop-pr-7-seed") < calls.index(
        "start shop-pr-7-seed")
    # No line says error: the tools' last line stands for it.
    result, _ = _run_seed(stack, tmp_path, WAIT_CODE="1",
                          LOGS="restic: cannot open '/target/data/disks/media/alice.jpg': permission denied")
    assert "first error (values elided): restic: cannot open '...': permission denied" in result.stderr


def test_the_redis_servers_the_seed_stopped_start_again_when_the_seed_cannot_start(spec, tmp_path):
    stack = resolve(load_spec(spec), {}, preview=7)
    result, calls = _run_seed(stack, tmp_path, FAIL_START="shop-pr-7-seed", WAIT_CODE="0")
    assert result.returncode == 1
    assert calls[-1] == "start shop-pr-7-cache"
    result, calls = _run_seed(stack, tmp_path, FAIL_START="shop-pr-7-cache", WAIT_CODE="0")
    assert result.returncode == 1
    assert "the seed stopped shop-pr-7-cache and could not start it again: docker start shop-pr-7-cache" \
        in result.stderr


# restic as the seed calls it (--no-lock --no-cache), answering from $SNAPSHOTS, a JSON list of
# snapshots as `restic snapshots --json` prints them: `--tag a,b` wants both, as restic's does.
FAKE_RESTIC = """\
import json, os, sys
args = sys.argv[1:]
assert args[:2] == ["--no-lock", "--no-cache"], args
args = args[2:]
if args[:2] == ["cat", "config"]:
    sys.exit(0)
if args[0] == "snapshots":
    wanted = set(args[args.index("--tag") + 1].split(","))
    found = [s for s in json.load(open(os.environ["SNAPSHOTS"]))
             if s["hostname"] == args[args.index("--host") + 1] and wanted <= set(s["tags"])]
    print(json.dumps(sorted(found, key=lambda s: s["time"])[-1:], separators=(",", ":")))  # compact, as restic
elif args[0] == "restore":  # the --include folder, under the target
    target = args[args.index("--target") + 1] + args[args.index("--include") + 1]
    assert os.path.isdir(target), "restored into no volume: " + target
    open(os.path.join(target, "from"), "w").write(args[1])
elif args[0] == "dump":
    print("dump of " + args[1])
"""

RUN_SPEC = """\
version: 1
stack: shop
apps:
  web:
    image: ghcr.io/acme/web:1
    env:
      DATABASE_URL: ${databases.main.url}
    disks: [{name: media, mount: /app/media, size_gb: 1}]
databases:
  main: {engine: postgres}
previews:
  seed: {from: backups}
"""


def _snapshot(number: int, run: str, tag: str) -> dict:
    return {"time": f"2026-11-{10 + number}T03:00:00Z", "hostname": "shop", "id": f"{number:x}" * 64,
            "tags": ["flashdrive", f"run={run}", tag]}


def _seed_inside(tmp_path, monkeypatch, snapshots: list[dict]):
    import sys

    from flashdrive.docker import seed

    for name, folder in (("REPOSITORY_MOUNT", "repository"), ("TARGET_DIR", "target"), ("REDIS_DIR", "redis")):
        (tmp_path / folder).mkdir(exist_ok=True)
        monkeypatch.setattr(seed, name, str(tmp_path / folder))
    (tmp_path / "repository" / "config").write_text("")
    (tmp_path / "target" / "data" / "disks" / "media").mkdir(parents=True, exist_ok=True)  # its volume
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "restic.py").write_text(FAKE_RESTIC)
    (bin_dir / "restic").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{bin_dir / "restic.py"}" "$@"\n')
    (bin_dir / "pg_restore").write_text(f'#!/bin/sh\ncat > "{tmp_path / "loaded"}"\n')
    for tool in ("restic", "pg_restore"):
        (bin_dir / tool).chmod(0o755)
    (tmp_path / "snapshots.json").write_text(json.dumps(snapshots))
    spec_path = tmp_path / "flashdrive.yaml"
    spec_path.write_text(RUN_SPEC)
    stack = resolve(load_spec(spec_path), {}, preview=7)
    return subprocess.run(["/bin/sh", "-c", seed.restore_script_inside(stack)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
                                           "SNAPSHOTS": str(tmp_path / "snapshots.json"), "FLASHDRIVE_DB_MAIN_PASSWORD": "pw"})


def test_the_docker_seed_restores_every_item_from_the_newest_backup_run_that_succeeded(tmp_path, monkeypatch):
    # Run A succeeded; the newer run B failed after its disk: its disk must not meet A's rows.
    result = _seed_inside(tmp_path, monkeypatch, [
        _snapshot(1, "A", "disk=media"), _snapshot(2, "A", "database=main"), _snapshot(3, "A", "status=ok"),
        _snapshot(4, "B", "disk=media"), _snapshot(5, "B", "status=failed")])
    assert result.returncode == 0, result.stderr
    assert "flashdrive-seed: from backup run A of stack shop" in result.stdout
    # Restored into the preview's volume itself (no copy through the container's own disk).
    assert (tmp_path / "target" / "data" / "disks" / "media" / "from").read_text() == "1" * 64
    assert (tmp_path / "loaded").read_text() == "dump of " + "2" * 64 + "\n"


def test_an_item_the_chosen_run_lacks_starts_empty_and_the_report_says_so(tmp_path, monkeypatch):
    result = _seed_inside(tmp_path, monkeypatch, [
        _snapshot(1, "A", "database=main"), _snapshot(2, "A", "status=ok"),
        _snapshot(3, "B", "disk=media"), _snapshot(4, "B", "status=failed")])
    assert result.returncode == 0, result.stderr
    assert "disk media: not in backup run A of the base: it starts empty" in result.stdout
    assert not (tmp_path / "target" / "data" / "disks" / "media" / "from").exists()
    none_ok = _seed_inside(tmp_path, monkeypatch, [_snapshot(3, "B", "disk=media"), _snapshot(4, "B", "status=failed")])
    assert none_ok.returncode == 0, none_ok.stderr
    assert "stack shop has no successful backup run yet: the preview starts empty" in none_ok.stdout


def test_the_kubernetes_manifests_of_a_preview_say_so_in_their_header(plan):
    # --format yaml prints Kubernetes manifests only; a preview's plan says what it is in the header
    # from the same `preview` output, whichever backend exports it.
    from flashdrive.plan.manifests import render_manifests
    from flashdrive.plan.plan import Plan

    kubernetes = Plan(resources=[], outputs=plan.outputs, project="flashdrive", pulumi_stack="pr-7",
                      stack="shop-pr-7", backend="kubernetes")
    header = [line for line in render_manifests(kubernetes).splitlines() if line.startswith("#")]
    assert "# custom domains dropped: shop.example.com (app web)" in header
    assert "#   3. run the scrub command with app web's image" in header
