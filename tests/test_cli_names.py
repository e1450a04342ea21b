"""One meaning per word: `--stack` is the Pulumi stack, `--deployed` the deployed stack (the spec's `stack:`)."""

from __future__ import annotations

import pytest

from flashdrive.cli.main import build_parser

BACKUP_ACTIONS = (["backup", "list"], ["backup", "run"], ["backup", "restore", "disk:media"])


@pytest.mark.parametrize("argv", BACKUP_ACTIONS, ids=lambda argv: argv[1])
def test_backup_names_the_deployed_stack_with_deployed(argv, capsys):
    args = build_parser().parse_args([*argv, "--deployed", "shop-pr-123"])
    assert args.deployed == "shop-pr-123"
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("argv", BACKUP_ACTIONS, ids=lambda argv: argv[1])
def test_the_old_stack_spelling_still_works_for_backup_with_a_note(argv, capsys):
    args = build_parser().parse_args([*argv, "--stack", "shop"])
    assert args.deployed == "shop"
    note = capsys.readouterr().err
    assert note.startswith(f"note: `flashdrive {' '.join(argv[:2])} --stack` is now `--deployed`")


def test_backup_help_shows_only_the_new_name(cli):
    run = cli("backup", "list", "--help")
    assert "--deployed NAME" in run.out
    assert "--stack" not in run.out


@pytest.mark.parametrize("command", ["up", "preview", "destroy", "outputs", "plan", "diff"])
def test_the_pulumi_stack_keeps_the_name_stack(command, cli):
    run = cli(command, "--help")
    assert "--stack NAME" in run.out and "--deployed" not in run.out
