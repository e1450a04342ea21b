"""`flashdrive up|destroy --stack pr-N --preview N`: the stack remembers it is preview N, shares its
base's master key, and a destroy never takes the wrong stack for a preview."""

from __future__ import annotations

import json

import pytest

from flashdrive.automation import make_program, resolve_settings
from flashdrive.plan import capture
from flashdrive.plan.capture import ProgramError


def config_of(fake_pulumi, stack: str) -> dict:
    path = fake_pulumi.state / f"{stack}.config.json"
    return json.loads(path.read_text()) if path.exists() else {}


def with_config(fake_pulumi, stack: str, **values: str) -> None:
    fake_pulumi.has_stack(stack)
    (fake_pulumi.state / f"{stack}.config.json").write_text(json.dumps(
        {key: {"value": value, "secret": key.endswith("masterKey")} for key, value in values.items()}))


def test_a_new_preview_stack_is_marked_and_asks_for_its_base_s_master_key_instead_of_making_one(cli, project,
                                                                                                 fake_pulumi):
    run = cli("up", "--stack", "pr-7", "--preview", "7")
    assert run.code == 1
    assert "preview stack 'pr-7' has no flashdrive:masterKey" in run.err
    assert "pulumi config cp flashdrive:masterKey --stack BASE --dest pr-7" in run.err
    config = config_of(fake_pulumi, "pr-7")
    assert config["flashdrive:preview"]["value"] == "7" and "flashdrive:masterKey" not in config
    assert not any(c[:1] == ["up"] for c in fake_pulumi.commands())


def test_with_the_base_s_master_key_the_preview_deploys(cli, project, fake_pulumi):
    with_config(fake_pulumi, "pr-7", **{"flashdrive:masterKey": "k" * 64})
    run = cli("up", "--stack", "pr-7", "--preview", "7")
    assert run.code == 0, run.err
    assert config_of(fake_pulumi, "pr-7")["flashdrive:preview"]["value"] == "7"
    assert any(c[:1] == ["up"] for c in fake_pulumi.commands())


def test_a_stack_that_is_another_preview_or_no_preview_is_never_destroyed_as_this_one(cli, project, fake_pulumi):
    with_config(fake_pulumi, "pr-8", **{"flashdrive:masterKey": "k" * 64, "flashdrive:preview": "7"})
    run = cli("destroy", "--stack", "pr-8", "--preview", "8")
    assert run.code == 1 and "is the preview of pull request 7 (flashdrive:preview), not 8" in run.err
    with_config(fake_pulumi, "pr-9", **{"flashdrive:masterKey": "k" * 64})
    run = cli("destroy", "--stack", "pr-9", "--preview", "9")
    assert run.code == 1 and "stack 'pr-9' is not a preview" in run.err
    with_config(fake_pulumi, "pr-7", **{"flashdrive:masterKey": "k" * 64, "flashdrive:preview": "7"})
    assert not any(c[:1] == ["destroy"] for c in fake_pulumi.commands())
    assert cli("destroy", "--stack", "pr-7", "--preview", "7").code == 0


def test_the_program_deploys_the_preview_the_flag_or_the_stack_config_names(project):
    config = {"flashdrive:masterKey": "test-master-key", "flashdrive:spec": "flashdrive.yaml"}
    flagged = capture(make_program(resolve_settings(project, "pr-7", preview=7, environ={})), config=config,
                      stack="pr-7")
    from_config = capture(make_program(resolve_settings(project, "pr-7", environ={})),
                          config={**config, "flashdrive:preview": "7"}, stack="pr-7")
    for plan in (flagged, from_config):
        assert "shop-pr-7-db-main" in plan and "shop-db-main" not in plan
        assert plan.outputs["preview"]["number"] == 7


def test_a_preview_number_that_is_not_one_is_a_usage_error(cli, project):
    assert cli("up", "--preview", "x").code == 2
    assert cli("destroy", "--preview", "0").code == 2


def test_preview_without_its_pr_stack_is_refused_and_leaves_the_default_stack_alone(cli, project, fake_pulumi):
    with_config(fake_pulumi, "dev", **{"flashdrive:masterKey": "k" * 64})
    before = config_of(fake_pulumi, "dev")
    for operation in ("up", "preview", "destroy"):
        run = cli(operation, "--preview", "3")
        assert run.code == 2, (operation, run.err)
        assert "the preview of pull request 3 is the stack pr-3, not 'dev'" in run.err
    run = cli("up", "--stack", "pr-4", "--preview", "3")
    assert run.code == 2 and "not 'pr-4'" in run.err
    assert config_of(fake_pulumi, "dev") == before
    assert not any(c[:1] in (["up"], ["preview"], ["destroy"]) for c in fake_pulumi.commands())


def test_a_dry_run_of_a_preview_writes_nothing_to_its_stack_config(cli, project, fake_pulumi):
    with_config(fake_pulumi, "pr-3", **{"flashdrive:masterKey": "k" * 64})
    before = config_of(fake_pulumi, "pr-3")
    run = cli("preview", "--stack", "pr-3", "--preview", "3")
    assert run.code == 0, run.err
    assert config_of(fake_pulumi, "pr-3") == before
    assert not any(c[:2] == ["config", "set"] for c in fake_pulumi.commands())
    assert any(c[:1] == ["preview"] for c in fake_pulumi.commands())


def test_the_program_refuses_a_preview_mark_on_a_stack_that_is_not_that_preview(project):
    config = {"flashdrive:masterKey": "test-master-key", "flashdrive:spec": "flashdrive.yaml",
              "flashdrive:preview": "3"}
    for stack in ("dev", "pr-4", "shop-pr-33"):
        with pytest.raises(ProgramError) as caught:
            capture(make_program(resolve_settings(project, stack, environ={})), config=config, stack=stack)
        assert f"stack '{stack}' has the stack config flashdrive:preview 3" in str(caught.value)
        assert f"pulumi config rm flashdrive:preview --stack {stack}" in str(caught.value)
        assert "Traceback" not in str(caught.value)
    assert capture(make_program(resolve_settings(project, "shop-pr-3", environ={})), config=config,
                   stack="shop-pr-3").outputs["preview"]["number"] == 3
