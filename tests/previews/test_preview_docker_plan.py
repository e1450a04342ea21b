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


def test_a_base_without_a_repository_volume_seeds_nothing_and_says_so(spec, tmp_path):
    from flashdrive.docker.seed import restore_script

    # A `docker` that knows no volume: the restore must not mount (and so create) the base's volume.
    fake = tmp_path / "bin"
    fake.mkdir()
    calls = tmp_path / "calls"
    (fake / "docker").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n[ "$1" = volume ] && exit 1\nexit 0\n')
    (fake / "docker").chmod(0o755)
    stack = resolve(load_spec(spec), {}, preview=7)
    result = subprocess.run(["/bin/sh", "-c", restore_script(stack, "shop-pr-7-internal")], capture_output=True,
                            text=True, env={**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"})
    assert result.returncode == 0, result.stderr
    assert "stack shop has no backup yet (no repository volume shop-backups on this host): the preview starts " \
           "empty" in result.stdout
    assert Path(calls).read_text().splitlines() == ["volume inspect shop-backups"]


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
