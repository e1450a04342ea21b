"""Credentials of data holders survive `pulumi destroy` then `up`: they derive from the stack config
secret flashdrive:masterKey, not from random resources the state forgets."""

from __future__ import annotations

import json

import pulumi
import pytest

from flashdrive.credentials import Credentials, MasterKeyMissing, derive_value
from flashdrive.plan import ProgramError, capture, plan_spec
from flashdrive.pipeline import run_pipeline

SPEC = """\
version: 1
stack: shop
apps:
  web:
    image: ghcr.io/acme/web:1
    env:
      SECRET_KEY: {generate: secret, length: 50}
      DATABASE_URL: ${databases.main.url}
  worker:
    image: ghcr.io/acme/web:1
    type: worker
    env:
      SECRET_KEY: {generate: secret, length: 50}
databases:
  main: {engine: mysql}
"""


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "flashdrive.yaml"
    path.write_text(SPEC)
    return path


def test_a_derived_value_is_the_same_for_the_same_key_stack_and_purpose_and_differs_otherwise():
    value = derive_value("k1", "shop", "databases/main/password", 32)
    assert value == derive_value("k1", "shop", "databases/main/password", 32)
    assert len(value) == 32 and value.isalnum()
    others = {derive_value("k2", "shop", "databases/main/password", 32),
              derive_value("k1", "shop2", "databases/main/password", 32),
              derive_value("k1", "shop", "databases/main/root-password", 32)}
    assert value not in others and len(others) == 3
    long = derive_value("k1", "shop", "env/SECRET_KEY", 200)
    assert len(long) == 200 and long.startswith(derive_value("k1", "shop", "env/SECRET_KEY", 50))


def derived_by_a_run(master: str) -> dict:
    def program():
        credentials = Credentials("shop")
        pulumi.export("password", pulumi.Output.unsecret(credentials.derive("databases/main/password")))

    return capture(program, config={"flashdrive:masterKey": master}, secret_config_keys=["flashdrive:masterKey"]).outputs


def test_two_runs_with_the_same_master_key_give_the_same_password_as_after_destroy_and_up():
    first, second = derived_by_a_run("master-1"), derived_by_a_run("master-1")
    assert first == second == {"password": derive_value("master-1", "shop", "databases/main/password", 32)}
    assert derived_by_a_run("master-2") != first


def test_no_credential_is_a_random_resource_on_either_backend(spec):
    for backend in ("docker", "kubernetes"):
        plan = plan_spec(spec, backend=backend)
        assert not [r.name for r in plan.resources if r.type.startswith("random:")], backend


def test_a_stack_without_a_master_key_fails_with_how_to_set_it(spec):
    with pytest.raises(ProgramError) as failed:
        run_pipeline(spec, build_in=lambda checked, program: capture(program))
    assert isinstance(failed.value.cause, MasterKeyMissing) and isinstance(failed.value.cause, pulumi.RunError)
    assert 'pulumi config set --secret flashdrive:masterKey "$(openssl rand -hex 32)"' in str(failed.value)


def test_the_master_key_never_appears_in_a_plan(spec):
    plan = plan_spec(spec, config={"flashdrive:masterKey": "do-not-print-me"})
    assert "do-not-print-me" not in json.dumps(plan.to_json())
    assert "MYSQL_ROOT_PASSWORD=[secret]" in plan.get("shop-main", "docker:index/container:Container").inputs["envs"]

