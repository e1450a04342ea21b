"""The example stack's plan: a golden copy, and `__main__.py` (what `pulumi up` runs) registers the same."""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
from pathlib import Path

import pytest

from cli_helpers import copy_of, unversioned
from flashdrive.plan import PlanMocks, capture, plan_spec
from flashdrive.plan.planner import placeholder
from flashdrive.pipeline import run_pipeline

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = "examples/django-shop/flashdrive.yaml"
GOLDEN = ROOT / "tests/docker/golden/django-shop.plan.json"


@pytest.fixture(autouse=True)
def at_project_root(monkeypatch):
    # Build contexts are relative to the project, as under `pulumi up`.
    monkeypatch.chdir(ROOT)


def without_source_digests(text: str) -> str:
    """The golden copy pins the program's shape. The build context's digest (and so the built
    image's digest) follows the files on disk, which a local run adds to (the e2e CA bundle):
    `test_a_code_change_changes_the_image_and_the_containers_only` covers that part."""
    text = re.sub(r'"contextDigest": "[0-9a-f]{64}"', '"contextDigest": "<digest of the context>"', text)
    text = re.sub(r'(flashdrive/[a-z0-9-]+)@sha256:[0-9a-f]{64}', r'\1@sha256:<follows the context>', text)
    # A copy's version follows its source's content too (its name, so its URN).
    return re.sub(r'(shop-[a-z]+-\d+)-[0-9a-f]{8}\b', r'\1-<version>', text)


def test_the_example_plan_matches_its_golden_copy():
    text = without_source_digests(plan_spec(EXAMPLE).to_json())
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), "plan changed: review it, then UPDATE_GOLDEN=1 pytest tests/docker"


class PlaintextMocks(PlanMocks):
    """The plan's answers, keeping every registration's inputs in clear: a plan masks secrets, so
    only the plaintext shows which config values the program really used."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, dict] = {}

    def new_resource(self, args) -> tuple[str, dict]:
        self.inputs[f"{args.typ}::{args.name}"] = dict(args.inputs)
        return super().new_resource(args)


OVERLAY = "examples/django-shop/flashdrive.staging.yaml"
MARKET = "tests/kubernetes/specs/market/flashdrive.yaml"  # backend: kubernetes, five {config: KEY} values
MARKET_CONFIG = {"apiToken": "token-from-config", "adminCertPem": "cert-from-config", "adminKeyPem": "key-from-config",
                 "s3AccessKey": "access-from-config", "s3SecretKey": "secret-from-config"}


@pytest.mark.parametrize(("spec", "overlay", "config"), [
    (EXAMPLE, None, {}),
    (EXAMPLE, OVERLAY, {}),
    (MARKET, None, MARKET_CONFIG),
], ids=["example", "example-with-overlay", "kubernetes-with-config-values"])
def test_main_py_registers_exactly_what_plan_shows(spec, overlay, config):
    # The master key every generated credential derives from: the plan gives it its placeholder.
    master = {"flashdrive:masterKey": placeholder("flashdrive:masterKey")}
    stack_config = {"flashdrive:spec": spec, **({"flashdrive:overlay": overlay} if overlay else {}),
                    **{f"flashdrive:{key}": value for key, value in config.items()}, **master}
    main_mocks, plan_mocks = PlaintextMocks(), PlaintextMocks()
    secret_keys = [f"flashdrive:{key}" for key in config] + list(master)
    from_main = capture(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"),
                        config=stack_config, secret_config_keys=secret_keys, mocks=main_mocks)
    planned = plan_spec(spec, overlay, config=config)
    assert [r.to_dict() for r in from_main.resources] == [r.to_dict() for r in planned.resources]
    assert from_main.outputs == planned.outputs
    # The same plaintext too: a plan masks secrets, so compare what the engine would receive.
    run_pipeline(spec, overlay, build_in=lambda checked, program: capture(
        program, config={**{f"flashdrive:{k}": v for k, v in config.items()}, **master},
        secret_config_keys=secret_keys, mocks=plan_mocks))
    assert main_mocks.inputs == plan_mocks.inputs
    # And the stack really is the one asked for: the overlay's stack name, the config values in clear.
    names = " ".join(main_mocks.inputs)
    assert ("shop-staging-web-1" in names) == (overlay is not None)
    text = json.dumps(main_mocks.inputs)
    assert all(value in text for value in config.values())


def test_a_code_change_rebuilds_the_image_reruns_the_release_and_rolls_new_copies_only(tmp_path, monkeypatch):
    copy = tmp_path / "shop"
    shutil.copytree(ROOT / "examples/django-shop", copy,
                    ignore=shutil.ignore_patterns(".flashdrive", "__pycache__"))
    monkeypatch.chdir(copy)
    before = {r.urn: r for r in plan_spec("flashdrive.yaml").resources}
    views = copy / "app/store/views.py"
    views.write_text(views.read_text() + "\n# a code change\n")
    after = {r.urn: r for r in plan_spec("flashdrive.yaml").resources}
    changed = {urn for urn in before.keys() & after.keys() if before[urn].inputs != after[urn].inputs}
    assert {before[urn].type for urn in changed} == {"docker:index/image:Image", "command:local:Command"}
    image = next(urn for urn in changed if before[urn].type == "docker:index/image:Image")
    assert before[image].inputs["build"]["contextDigest"] != after[image].inputs["build"]["contextDigest"]
    # The release reruns and the image's cleanup is renewed: both are triggered by the digest.
    commands = {before[urn].name: urn for urn in changed if before[urn].type == "command:local:Command"}
    assert set(commands) == {"shop-web-release", "shop-app-a172ce-image-cleanup"}
    for urn in commands.values():
        assert before[urn].inputs["triggers"][0] != after[urn].inputs["triggers"][0]
    # Every copy of the source's two apps is a new version beside the old one; nothing else moves.
    gone, new = before.keys() - after.keys(), after.keys() - before.keys()
    assert sorted(unversioned(before[urn].name) for urn in gone) == ["shop-web-1", "shop-web-2", "shop-worker-1"]
    assert sorted(unversioned(after[urn].name) for urn in new) == ["shop-web-1", "shop-web-2", "shop-worker-1"]
    assert all({"label": "flashdrive.strategy", "value": "rolling"} in after[urn].inputs["labels"] for urn in new)


def test_a_file_the_build_ignores_changes_nothing(tmp_path, monkeypatch):
    copy = tmp_path / "shop"
    shutil.copytree(ROOT / "examples/django-shop", copy,
                    ignore=shutil.ignore_patterns(".flashdrive", "__pycache__"))
    monkeypatch.chdir(copy)
    before = plan_spec("flashdrive.yaml").to_json()
    (copy / "app/.env").write_text("SECRET_KEY=local-only\n")
    (copy / "app/store/__pycache__").mkdir()
    (copy / "app/store/__pycache__/views.cpython-311.pyc").write_bytes(b"\0")
    assert plan_spec("flashdrive.yaml").to_json() == before


def test_the_example_builds_one_image_for_web_and_worker():
    plan = plan_spec(EXAMPLE)
    images = plan.by_type("docker:index/image:Image")
    assert len(images) == 1
    image = images[0]
    assert image.inputs["skipPush"] is True
    assert image.inputs["build"]["context"] == "examples/django-shop/app"
    # Build args carry plain build-scoped values only; secrets never reach an image.
    assert image.inputs["build"]["args"] == {"DJANGO_SETTINGS_MODULE": "shop.settings"}
    digest = copy_of(plan, "shop-web-1").inputs["image"]
    assert copy_of(plan, "shop-worker-1").inputs["image"] == digest


def test_the_procfile_release_runs_before_the_copies():
    plan = plan_spec(EXAMPLE)
    release = plan.get("shop-web-release", "command:local:Command")
    assert "/bin/sh -c 'python manage.py migrate --noinput'" in release.inputs["create"]
    assert release.inputs["environment"]["DATABASE_URL"] == "[secret]"
    assert "--env=DATABASE_URL" in release.inputs["create"]
    web = copy_of(plan, "shop-web-1")
    assert release.urn in web.options["dependsOn"]


def test_apps_of_one_source_migrate_once_and_all_wait_for_it():
    plan = plan_spec(EXAMPLE)
    releases = [r.name for r in plan.by_type("command:local:Command") if r.name.endswith("-release")]
    assert releases == ["shop-web-release"]
    release = plan.get("shop-web-release", "command:local:Command")
    worker = copy_of(plan, "shop-worker-1")
    assert release.urn in worker.options["dependsOn"]


def test_a_rebuilt_image_is_removed_once_nothing_runs_it():
    plan = plan_spec(EXAMPLE)
    image = plan.get("shop-app-a172ce", "docker:index/image:Image")
    cleanup = plan.get("shop-app-a172ce-image-cleanup", "command:local:Command")
    digest = copy_of(plan, "shop-web-1").inputs["image"]
    # One Command per image: a new digest replaces it, and its delete (run with the old inputs)
    # removes the old image. Whatever runs the image depends on it, so the engine deletes it after
    # them, at the end of the up: after the old copies are gone.
    assert cleanup.inputs["triggers"] == [digest] and cleanup.inputs["environment"]["FLASHDRIVE_IMAGE"] == digest
    assert cleanup.inputs["delete"] == 'docker image rm "$FLASHDRIVE_IMAGE" >/dev/null 2>&1 || true'
    assert image.urn in cleanup.depends_on
    users = [copy_of(plan, n) for n in ("shop-web-1", "shop-web-2", "shop-worker-1")]
    users.append(plan.get("shop-web-release", "command:local:Command"))
    for user in users:
        assert cleanup.urn in user.depends_on, user.name
