"""The example stack's plan: a golden copy, and `__main__.py` (what `pulumi up` runs) registers the same."""

from __future__ import annotations

import json
import os
import runpy
from pathlib import Path

import pytest

from flashdrive.plan import PlanMocks, capture, plan_spec
from flashdrive.program import build_stack
from flashdrive.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = "examples/django-shop/flashdrive.yaml"
GOLDEN = ROOT / "tests/docker/golden/django-shop.plan.json"


@pytest.fixture(autouse=True)
def at_project_root(monkeypatch):
    # Build contexts are relative to the project, as under `pulumi up`.
    monkeypatch.chdir(ROOT)


def test_the_example_plan_matches_its_golden_copy():
    text = plan_spec(EXAMPLE).to_json()
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
    stack_config = {"flashdrive:spec": spec, **({"flashdrive:overlay": overlay} if overlay else {}),
                    **{f"flashdrive:{key}": value for key, value in config.items()}}
    main_mocks, plan_mocks = PlaintextMocks(), PlaintextMocks()
    secret_keys = [f"flashdrive:{key}" for key in config]
    from_main = capture(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"),
                        config=stack_config, secret_config_keys=secret_keys, mocks=main_mocks)
    planned = plan_spec(spec, overlay, config=config)
    assert [r.to_dict() for r in from_main.resources] == [r.to_dict() for r in planned.resources]
    assert from_main.outputs == planned.outputs
    # The same plaintext too: a plan masks secrets, so compare what the engine would receive.
    loaded = load_spec(spec, overlay)
    capture(lambda: build_stack(loaded), config={f"flashdrive:{k}": v for k, v in config.items()},
            secret_config_keys=secret_keys, mocks=plan_mocks)
    assert main_mocks.inputs == plan_mocks.inputs
    # And the stack really is the one asked for: the overlay's stack name, the config values in clear.
    names = " ".join(main_mocks.inputs)
    assert ("shop-staging-web-1" in names) == (overlay is not None)
    text = json.dumps(main_mocks.inputs)
    assert all(value in text for value in config.values())


def test_the_example_builds_one_image_for_web_and_worker():
    plan = plan_spec(EXAMPLE)
    images = plan.by_type("docker:index/image:Image")
    assert len(images) == 1
    image = images[0]
    assert image.inputs["skipPush"] is True
    assert image.inputs["build"]["context"] == "examples/django-shop/app"
    # Build args carry plain build-scoped values only; secrets never reach an image.
    assert image.inputs["build"]["args"] == {"DJANGO_SETTINGS_MODULE": "shop.settings"}
    containers = {r.name: r for r in plan.by_type("docker:index/container:Container")}
    digest = containers["shop-web-1"].inputs["image"]
    assert containers["shop-worker-1"].inputs["image"] == digest


def test_the_procfile_release_runs_before_the_copies():
    plan = plan_spec(EXAMPLE)
    release = plan.get("shop-web-release", "docker:index/container:Container")
    assert release.inputs["command"] == ["/bin/sh", "-c", "python manage.py migrate --noinput"]
    assert "DATABASE_URL=[secret]" in release.inputs["envs"]
    web = plan.get("shop-web-1", "docker:index/container:Container")
    assert release.urn in web.options["dependsOn"]


def test_apps_of_one_source_migrate_once_and_all_wait_for_it():
    plan = plan_spec(EXAMPLE)
    releases = [r.name for r in plan.by_type("docker:index/container:Container") if r.name.endswith("-release")]
    assert releases == ["shop-web-release"]
    release = plan.get("shop-web-release", "docker:index/container:Container")
    worker = plan.get("shop-worker-1", "docker:index/container:Container")
    assert release.urn in worker.options["dependsOn"]
