"""`flashdrive up|preview|destroy|outputs`: arguments, where the state goes, and what happens
without a Pulumi CLI. Calls that need the CLI run against tests/automation/fake_pulumi.py (the
real CLI cannot be installed on the build machine), which records what the Automation API sent."""

from __future__ import annotations

import json

import pytest
from cli_helpers import copy_of
import yaml

from flashdrive.automation import AutomationError, default_backend_url, make_program, resolve_settings
from flashdrive.cli.main import build_parser
from flashdrive.plan import capture

OPERATIONS = ("up", "preview", "destroy", "outputs")


# --- arguments ---------------------------------------------------------------------------------

@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_stack_command_defaults_to_the_dev_stack_of_the_current_folder(operation):
    args = build_parser().parse_args([operation])
    assert (args.operation, args.stack, args.cwd) == (operation, "dev", ".")


def test_stack_and_project_folder_are_taken_from_the_command_line():
    args = build_parser().parse_args(["preview", "--stack", "acme/shop/prod", "-C", "infra", "--spec", "shop.yaml",
                                      "--overlay", "prod.yaml"])
    assert (args.stack, args.cwd, args.spec, args.overlay) == ("acme/shop/prod", "infra", "shop.yaml", "prod.yaml")


def test_outputs_can_print_json_and_secrets():
    args = build_parser().parse_args(["outputs", "--json", "--show-secrets"])
    assert args.json and args.show_secrets


@pytest.mark.parametrize("argv", [["up", "--stack", "my stack"], ["outputs", "--spec", "x.yaml"], ["destroy", "--json"]])
def test_wrong_arguments_are_usage_errors(cli, argv):
    run = cli(*argv)
    assert run.code == 2
    assert "usage: flashdrive" in run.err


def test_up_takes_the_spec_as_a_positional_argument_like_validate_and_plan(cli, project, monkeypatch):
    (project / "other.yaml").write_text((project / "flashdrive.yaml").read_text().replace("stack: shop", "stack: other"))
    ran = []
    monkeypatch.setattr("flashdrive.automation.run_operation", lambda operation, settings, **_: ran.append(settings))
    run = cli("up", "other.yaml")
    assert run.code == 0, run.err
    plan = capture(make_program(ran[0]), config={"flashdrive:masterKey": "test-master-key", "flashdrive:spec": "flashdrive.yaml"})
    assert copy_of(plan, "other-web-1") and not any(r.name.startswith("shop-web-1") for r in plan.resources)


def test_a_positional_spec_is_a_path_from_the_current_folder_even_with_a_project_folder(cli, project, monkeypatch):
    (project / "other.yaml").write_text((project / "flashdrive.yaml").read_text().replace("stack: shop", "stack: other"))
    monkeypatch.chdir(project.parent)
    ran = []
    monkeypatch.setattr("flashdrive.automation.run_operation", lambda operation, settings, **_: ran.append(settings))
    assert cli("preview", "shop/other.yaml", "-C", "shop").code == 0
    assert (ran[0].project_dir / ran[0].spec) == project / "other.yaml"


def test_a_spec_named_twice_is_a_usage_error_and_a_missing_one_an_input_error(cli, project):
    twice = cli("up", "flashdrive.yaml", "--spec", "flashdrive.yaml")
    assert twice.code == 2
    assert twice.err == ("flashdrive up: error: the spec is named twice (flashdrive.yaml and --spec flashdrive.yaml); "
                         "give one\n")
    missing = cli("destroy", "nope.yaml")
    assert (missing.code, missing.err) == (1, "flashdrive destroy: error: nope.yaml: no such file\n")


# --- where the state goes ----------------------------------------------------------------------

def test_state_defaults_to_a_file_backend_inside_the_project(project):
    settings = resolve_settings(".", "dev", environ={})
    assert settings.backend_url == f"file://{project / '.flashdrive' / 'state'}"
    assert settings.backend_origin == "default"
    assert default_backend_url(project) == settings.backend_url


def test_pulumi_backend_url_in_the_environment_wins(project):
    (project / "Pulumi.yaml").write_text("name: shop\nruntime: python\nbackend:\n  url: s3://from-project-file\n")
    settings = resolve_settings(".", "dev", environ={"PULUMI_BACKEND_URL": "https://api.pulumi.com"})
    assert (settings.backend_url, settings.backend_origin) == ("https://api.pulumi.com", "PULUMI_BACKEND_URL")


def test_a_backend_named_in_pulumi_yaml_is_used_when_the_environment_names_none(project):
    (project / "Pulumi.yaml").write_text("name: shop\nruntime: python\nbackend:\n  url: s3://acme-state\n")
    settings = resolve_settings(".", "prod", environ={})
    assert (settings.backend_url, settings.backend_origin) == ("s3://acme-state", "Pulumi.yaml")
    assert (settings.project_name, settings.has_project_file, settings.stack) == ("shop", True, "prod")


def test_a_project_without_pulumi_yaml_is_the_flashdrive_project(project):
    settings = resolve_settings(project, "dev", environ={})
    assert (settings.project_name, settings.has_project_file) == ("flashdrive", False)


@pytest.mark.parametrize("kwargs, message", [
    ({"project_dir": "no-such-folder"}, "no-such-folder: no such project folder"),
    ({"spec": "missing.yaml"}, "--spec missing.yaml: no such file"),
    ({"overlay": "missing.yaml"}, "--overlay missing.yaml: no such file"),
])
def test_a_missing_folder_or_file_is_reported_before_pulumi_runs(project, kwargs, message):
    with pytest.raises(AutomationError, match=message):
        resolve_settings(**{"project_dir": ".", **kwargs}, environ={})


def test_the_inline_program_deploys_the_spec_the_stack_config_names(project):
    (project / "other.yaml").write_text((project / "flashdrive.yaml").read_text().replace("stack: shop", "stack: other"))
    settings = resolve_settings(project, "dev", environ={})
    plan = capture(make_program(settings), config={"flashdrive:masterKey": "test-master-key", "flashdrive:spec": "other.yaml"})
    assert copy_of(plan, "other-web-1") and "other-db-main" in plan


def test_a_spec_given_on_the_command_line_overrides_the_stack_config(project):
    (project / "other.yaml").write_text((project / "flashdrive.yaml").read_text().replace("stack: shop", "stack: other"))
    settings = resolve_settings(project, "dev", spec="other.yaml", environ={})
    plan = capture(make_program(settings), config={"flashdrive:masterKey": "test-master-key", "flashdrive:spec": "flashdrive.yaml"})
    assert copy_of(plan, "other-web-1") and not any(r.name.startswith("shop-web-1") for r in plan.resources)


# --- without a Pulumi CLI, or without a passphrase ----------------------------------------------

@pytest.mark.parametrize("operation", OPERATIONS)
def test_without_the_pulumi_cli_each_command_says_how_to_install_it_in_one_line(cli, project, no_pulumi, operation):
    run = cli(operation)
    assert run.code == 1
    assert run.out == ""
    assert run.err.count("\n") == 1
    assert run.err.startswith(f"flashdrive {operation}: error: the Pulumi CLI is not installed")
    assert "curl -fsSL https://get.pulumi.com | sh" in run.err


def test_without_a_passphrase_nothing_reaches_the_stack(cli, project, fake_pulumi, monkeypatch):
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    run = cli("up")
    assert run.code == 1
    assert run.err.startswith("flashdrive up: error: PULUMI_CONFIG_PASSPHRASE is not set")
    assert fake_pulumi.calls() == []


# --- through the CLI (the stand-in) -------------------------------------------------------------

def test_up_creates_the_stack_with_a_passphrase_on_the_local_backend_and_streams_progress(cli, project, fake_pulumi):
    run = cli("up")
    assert run.code == 0, run.err
    assert "Updating (dev)" in run.out
    assert "+ docker:index/container:Container shop-web-1 created" in run.out
    commands = fake_pulumi.commands()
    assert ["stack", "init", "dev", "--secrets-provider", "passphrase"] in commands
    installs = [c for c in commands if c[:2] == ["plugin", "install"]]
    assert {c[3] for c in installs} == {"docker", "command"}
    up = next(c for c in commands if c[:1] == ["up"])
    assert up[:3] == ["up", "--yes", "--skip-preview"]
    assert up[up.index("--exec-kind") + 1] == "auto.inline"
    assert up[up.index("--stack") + 1] == "dev"
    for call in fake_pulumi.calls()[1:]:  # the first is `pulumi version`
        assert call["cwd"] == str(project)
        assert call["env"]["PULUMI_BACKEND_URL"] == f"file://{project / '.flashdrive' / 'state'}"
        assert call["env"]["PULUMI_CONFIG_PASSPHRASE"] == "correct horse battery staple"
    assert (project / ".flashdrive" / "state").is_dir()
    written = yaml.safe_load((project / "Pulumi.yaml").read_text())
    assert (written["name"], written["runtime"]) == ("flashdrive", "python")


def test_the_first_up_gives_the_stack_a_master_key_through_stdin_and_later_ups_keep_it(cli, project, fake_pulumi):
    assert cli("up").code == 0
    config = json.loads((fake_pulumi.state / "dev.config.json").read_text())
    key = config["flashdrive:masterKey"]
    assert key["secret"] is True and len(key["value"]) == 64
    # The value never appears in any command line.
    assert all(key["value"] not in " ".join(call["argv"]) for call in fake_pulumi.calls())
    assert cli("up").code == 0
    assert json.loads((fake_pulumi.state / "dev.config.json").read_text())["flashdrive:masterKey"] == key
    sets = [c for c in fake_pulumi.commands() if c[:2] == ["config", "set"]]
    assert len(sets) == 1


def test_up_keeps_an_existing_pulumi_yaml_and_selects_the_existing_stack(cli, project, fake_pulumi):
    (project / "Pulumi.yaml").write_text("name: shop\nruntime: python\n")
    fake_pulumi.has_stack("prod")
    run = cli("up", "--stack", "prod")
    assert run.code == 0, run.err
    assert (project / "Pulumi.yaml").read_text() == "name: shop\nruntime: python\n"
    commands = fake_pulumi.commands()
    assert ["stack", "select", "--stack", "prod"] in commands
    assert not any(c[:2] == ["stack", "init"] for c in commands)


def test_a_failed_update_ends_with_one_line_that_names_the_reason(cli, project, fake_pulumi, monkeypatch):
    monkeypatch.setenv("FAKE_PULUMI_FAIL", "up")
    run = cli("up")
    assert run.code == 1
    last = run.err.strip().splitlines()[-1]
    assert last == ("flashdrive up: error: pulumi up failed: docker:index/container:Container resource "
                    "'shop-web-1': Cannot connect to the Docker daemon")


def test_outputs_show_secrets_only_when_asked(cli, project, fake_pulumi):
    fake_pulumi.has_stack("dev")
    masked = cli("outputs")
    assert masked.code == 0, masked.err
    assert masked.out == 'adminPassword: [secret]\nurls: {"web": "https://shop.example.com"}\n'
    shown = cli("outputs", "--json", "--show-secrets")
    assert json.loads(shown.out) == {"adminPassword": "hunter2", "urls": {"web": "https://shop.example.com"}}


def test_outputs_of_a_stack_never_deployed_say_how_to_create_it(cli, project, fake_pulumi):
    run = cli("outputs", "--stack", "staging")
    assert run.code == 1
    assert run.err == (f"flashdrive outputs: error: stack 'staging' does not exist in "
                       f"file://{project / '.flashdrive' / 'state'}; `flashdrive up --stack staging` creates it\n")


def test_destroy_of_a_missing_stack_creates_nothing(cli, project, fake_pulumi):
    run = cli("destroy", "--stack", "staging")
    assert run.code == 1
    assert not any(c[:2] == ["stack", "init"] for c in fake_pulumi.commands())


def test_destroy_says_that_volumes_holding_data_stay_on_the_host(cli, project, fake_pulumi):
    fake_pulumi.has_stack("dev")
    run = cli("destroy")
    assert run.code == 0, run.err
    assert "Destroying (dev)" in run.out
    assert run.out.rstrip().splitlines()[-1].startswith("note: volumes that hold data")
    destroy = next(c for c in fake_pulumi.commands() if c[:1] == ["destroy"])
    assert "--yes" in destroy and destroy[destroy.index("--stack") + 1] == "dev"
