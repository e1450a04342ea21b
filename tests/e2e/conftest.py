"""End-to-end fixtures: a Docker engine, the local stand-in images, and the deployed example stack.

In CI (CI=true) a missing engine is a failure, never a skip: the suite proves the product works.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # harness.py and provider.py, imported by name

E2E_STACK = "shop-e2e"


def load_builder():
    """images/build.py, imported by path: as plain `build` it could be PyPI's `build` package."""
    name = "flashdrive_e2e_images_build"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "images" / "build.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up here while the file runs
        spec.loader.exec_module(module)
    return sys.modules[name]


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: needs a real Docker engine (tests/e2e/engine.sh starts one)")


@pytest.fixture(scope="session")
def docker_engine():
    """A Docker engine that answers. In CI its absence is a failure: a skip would hide a broken setup."""
    builder = load_builder()
    if not builder.engine_answers():
        reason = "no Docker engine answers; run tests/e2e/engine.sh (as root) first"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return builder


@pytest.fixture(scope="session")
def stand_in_images(docker_engine) -> dict[str, str]:
    """The spec's `images:` overrides pointing at locally built stand-ins (cached by recipe hash)."""
    try:
        return docker_engine.build_all(log=lambda line: print(f"[e2e images] {line}", file=sys.stderr))
    except docker_engine.BuildError as error:
        pytest.fail(f"building the e2e images failed:\n{error}")


@pytest.fixture(scope="module")
def shop(stand_in_images):
    """The example stack, deployed for real; containers and networks removed afterwards."""
    from deploy import destroy_stack
    from harness import EXAMPLE, Deployment, self_signed, temp_folder, write_overlay

    folder = temp_folder()
    cert, key = self_signed("shop.example.com", folder)
    # The custom domain brings its own certificate (no ACME server is reachable offline).
    extra = ("apps:\n  web:\n    domains:\n      - host: shop.example.com\n"
             "        certificate: {config: shopCertPem}\n        key: {config: shopKeyPem}\n")
    overlay = write_overlay(folder, E2E_STACK, stand_in_images, extra)
    destroy_stack(stack=E2E_STACK)
    deployment = Deployment(E2E_STACK, EXAMPLE, overlay, {"flashdrive:shopCertPem": cert, "flashdrive:shopKeyPem": key},
                            images=stand_in_images)
    deployment.extra["custom_domain_ca"] = cert
    try:
        deployment.deploy()
        print(f"[e2e] deployed {E2E_STACK} in {deployment.seconds:.1f}s; builds: {deployment.last.build_seconds}",
              file=sys.stderr)
        yield deployment
    finally:
        destroy_stack(stack=E2E_STACK)
