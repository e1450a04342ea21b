"""`flashdrive diff` on the spec mutations a pull request makes: the exact verdict for every resource
that changes, the exit code, and for data loss a message naming what is lost and why."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass

import pytest

import _diff_specs as specs
import flashdrive.cli.main as cli_main
from cli_helpers import unversioned
from flashdrive.diff import check, diff_plans, load_side


def rolled(verdicts: dict[str, str]) -> dict[str, str]:
    """Verdicts by copy (`shop-web-1`), whatever the version in a rolling copy's name."""
    return {unversioned(name): verdict for name, verdict in verdicts.items()}


@dataclass
class Outcome:
    verdicts: dict[str, str]
    code: int
    out: str
    err: str
    lost: list[str]
    cautions: list[str]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The base stack planned once, as the plan JSON a CI job would keep."""
    folder = tmp_path_factory.mktemp("base")
    spec = specs.write_spec(folder, "base")
    result = subprocess.run([sys.executable, "-m", "flashdrive", "plan", str(spec), "--format", "json"],
                            capture_output=True, text=True, check=True)
    plan = folder / "base.plan.json"
    plan.write_text(result.stdout)
    return plan


@pytest.fixture
def diff_to(base, tmp_path, capsys):
    """Diff the base plan against the base spec changed by `mutation`, through the CLI."""

    def run(mutation, *flags: str) -> Outcome:
        head = specs.write_spec(tmp_path, mutation.__name__, mutation)
        report_diff = diff_plans(load_side(str(base)).plan, load_side(str(head)).plan)
        report = check(report_diff)
        capsys.readouterr()
        code = cli_main.main(["diff", str(base), str(head), *flags])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.out + captured.err
        return Outcome(rolled(report_diff.verdicts()), code, captured.out, captured.err,
                       [f.holder.label for f in report.findings], report.cautions)

    return run


def test_renaming_an_app_loses_no_data(diff_to):
    outcome = diff_to(specs.rename_app)
    assert outcome.verdicts == {
        "shop-web-1": "delete", "shop-web-2": "delete", "shop-web-image": "delete",
        "shop-store-1": "create", "shop-store-2": "create", "shop-store-image": "create",
        "shop-edge-routes": "replace",
    }
    assert (outcome.code, outcome.lost) == (0, [])
    assert outcome.err == ""
    # The disk belongs to the stack, not to the app: it is not even touched.
    assert "shop-disk-media" not in outcome.out
    # Generated secrets derive from the stack's master key and the env name, not the app's name
    # (flashdrive/credentials.py): the renamed app keeps its SECRET_KEY.
    assert outcome.cautions == []


def test_removing_a_disk_is_data_loss_that_names_the_disk_and_where_it_was(diff_to):
    outcome = diff_to(specs.remove_disk)
    # The backup job mounted the disk to back it up: it is replaced without it.
    assert outcome.verdicts == {"shop-disk-media": "delete", "shop-web-1": "replace", "shop-web-2": "replace",
                                "shop-backup": "replace"}
    assert (outcome.code, outcome.lost) == (3, ["disk 'media'"])
    assert outcome.err == ("flashdrive diff: error: this change deletes or replaces 1 data holder (disk 'media'); "
                           "run again with --allow-data-loss if that is intended\n")
    assert ("! disk 'media' (volume shop-disk-media) would be deleted: disk 'media' is removed from apps.web.disks. "
            "Pulumi leaves the old volume on the host (retain on delete), detached from the stack") in outcome.out


def test_renaming_a_disk_is_data_loss_that_points_at_the_rename(diff_to):
    outcome = diff_to(specs.rename_disk)
    assert outcome.verdicts == {"shop-disk-media": "delete", "shop-disk-uploads": "create",
                                "shop-web-1": "replace", "shop-web-2": "replace", "shop-backup": "replace"}
    assert (outcome.code, outcome.lost) == (3, ["disk 'media'"])
    assert "disk 'media' is no longer in apps.web.disks, and disk 'uploads' is new: a renamed disk is a new, empty " \
           "volume" in outcome.out


def test_renaming_a_database_is_data_loss_and_its_apps_get_the_new_address(diff_to):
    outcome = diff_to(specs.rename_database)
    assert outcome.verdicts == {
        "shop-main": "delete", "shop-main-image": "delete", "shop-db-main": "delete",
        "shop-primary": "create", "shop-primary-image": "create", "shop-db-primary": "create",
        # its server certificate is for its name (the stack CA stays)
        **{f"shop-main-tls{part}": "delete" for part in ("", "-key", "-request")},
        **{f"shop-primary-tls{part}": "create" for part in ("", "-key", "-request")},
        # DATABASE_URL is a secret, so its new value is not shown: it derives from the new password.
        "shop-web-1": "replace", "shop-web-2": "replace", "shop-worker-1": "replace",
        "shop-backup": "replace",  # it dumps the database under its new name
    }
    assert (outcome.code, outcome.lost) == (3, ["database 'main'"])
    assert "database 'main' is no longer in databases, and database 'primary' is new: a renamed database starts " \
           "empty" in outcome.out


def test_changing_a_database_engine_keeps_its_volume_which_the_new_engine_cannot_read_so_it_is_data_loss(diff_to):
    outcome = diff_to(specs.change_engine)
    assert outcome.verdicts == {
        "shop-main": "replace", "shop-main-image": "replace",
        "shop-web-1": "replace", "shop-web-2": "replace", "shop-worker-1": "replace", "shop-backup": "replace",
    }
    assert (outcome.code, outcome.lost) == (3, ["database 'main'"])
    assert ("database 'main' (volume shop-db-main) would be left unreadable: its engine changes from postgres to "
            "mysql, and the mysql server mounts the same volume, whose postgres files it cannot read: it fails to "
            "start or starts empty. To change engines: back up (`flashdrive backup run`), add a mysql database "
            "beside it under another name") in " ".join(outcome.out.split())


def test_resizing_a_disk_changes_no_resource(diff_to):
    outcome = diff_to(specs.resize_disk)
    assert (outcome.verdicts, outcome.code, outcome.lost) == ({}, 0, [])
    assert "No changes" in outcome.out


def test_changing_an_env_var_replaces_only_that_apps_copies(diff_to):
    outcome = diff_to(specs.change_env)
    assert outcome.verdicts == {"shop-web-1": "replace", "shop-web-2": "replace"}
    assert (outcome.code, outcome.lost) == (0, [])
    assert "- LOG_LEVEL=INFO\n        + LOG_LEVEL=DEBUG" in outcome.out


def test_more_nodes_add_a_copy_and_renew_the_edge(diff_to):
    outcome = diff_to(specs.more_nodes)
    assert outcome.verdicts == {"shop-web-3": "create", "shop-edge-routes": "replace"}
    assert (outcome.code, outcome.lost) == (0, [])


def test_dropping_an_app_without_a_disk_loses_no_data(diff_to):
    outcome = diff_to(specs.drop_worker)
    assert outcome.verdicts == {"shop-worker-1": "delete", "shop-worker-image": "delete"}
    assert (outcome.code, outcome.lost) == (0, [])


def test_dropping_the_app_that_has_a_disk_is_data_loss(diff_to):
    outcome = diff_to(specs.drop_web)
    assert outcome.verdicts == {
        "shop-web-1": "delete", "shop-web-2": "delete", "shop-web-image": "delete",
        "shop-disk-media": "delete", "shop-edge-routes": "replace", "shop-backup": "replace",
    }
    assert (outcome.code, outcome.lost) == (3, ["disk 'media'"])
    assert "app 'web' is removed from the spec, and with it disk 'media'" in outcome.out


def test_changing_a_domain_renews_the_edge_and_the_copies_that_answer_to_it(diff_to):
    outcome = diff_to(specs.change_domain)
    assert outcome.verdicts == {"shop-edge-routes": "replace", "shop-web-1": "replace", "shop-web-2": "replace"}
    assert (outcome.code, outcome.lost) == (0, [])


def test_removing_a_database_is_data_loss(diff_to):
    outcome = diff_to(specs.remove_database)
    assert outcome.verdicts == {"shop-cache": "delete", "shop-cache-image": "delete", "shop-db-cache": "delete",
                                "shop-worker-1": "replace", "shop-backup": "replace"}
    assert (outcome.code, outcome.lost) == (3, ["database 'cache'"])
    assert "database 'cache' is removed from databases" in outcome.out


def test_renaming_the_stack_loses_every_data_holder_and_says_why(diff_to):
    outcome = diff_to(specs.rename_stack)
    assert set(outcome.verdicts.values()) == {"create", "delete"}
    assert outcome.code == 3
    assert outcome.lost == ["the backup repository", "database 'cache'", "database 'main'", "disk 'media'",
                            "the edge's certificates and ACME account"]
    assert outcome.out.count("the stack is renamed from 'shop' to 'store'") == 5


def test_allow_data_loss_turns_the_stop_into_a_warning(diff_to):
    outcome = diff_to(specs.remove_disk, "--allow-data-loss")
    assert (outcome.code, outcome.lost) == (0, ["disk 'media'"])
    assert outcome.err == ("flashdrive diff: warning: this change deletes or replaces 1 data holder (disk 'media'); "
                           "allowed by --allow-data-loss\n")
    assert outcome.out.splitlines()[2].startswith("DATA LOSS ALLOWED (--allow-data-loss)")


def test_a_plan_and_the_spec_it_came_from_have_no_differences(base, diff_to):
    def unchanged(spec):
        pass

    outcome = diff_to(unchanged)
    assert (outcome.verdicts, outcome.code) == ({}, 0)
    custom = sum(1 for r in load_side(str(base)).plan.resources if r.custom)
    assert outcome.out.rstrip().endswith(f"Resources: 0 to create, 0 to update, 0 to replace, 0 to delete; "
                                         f"{custom} unchanged.")


def test_the_markdown_comment_leads_with_data_loss_then_counts_then_a_table_per_app(base, diff_to):
    outcome = diff_to(specs.remove_disk, "--format", "markdown")
    lines = outcome.out.splitlines()
    assert lines[0] == "<!-- flashdrive-diff -->"
    assert lines[1] == "## flashdrive diff: stack `shop`"
    caution = lines.index("> [!CAUTION]")
    counts = next(i for i, line in enumerate(lines) if line.startswith("**0** to create"))
    web = lines.index("### App `web`")
    disk = lines.index("### Disk `media` (removed)")
    assert caution < counts < web < disk
    unchanged = sum(1 for r in load_side(str(base)).plan.resources if r.custom) - 4
    assert lines[counts] == f"**0** to create · **0** to update · **3** to replace · **1** to delete · {unchanged} unchanged"
    # How the app's copies are replaced, and why, before its table.
    assert lines[web + 2] == "Deploys **rolling**: no disk is exclusive: new copies start beside the old ones."
    assert lines[web + 4:web + 6] == ["| resource | change | what changes |", "|---|---|---|"]
    # A rolling copy's new version is shown against the old one it replaces.
    assert re.fullmatch(r"\| `shop-web-1-(?P<new>[0-9a-f]{8})` Container \| ± replace \| name: shop-web-1-[0-9a-f]{8} → "
                        r"shop-web-1-(?P=new) \*\*\(replaces\)\*\*<br>volumes: /app/media removed \*\*\(replaces\)\*\* \|",
                        lines[web + 6]), lines[web + 6]
    assert "- **disk `media`** (volume `shop-disk-media`) would be **deleted**: disk 'media' is removed from " \
           "apps.web.disks." in outcome.out


def test_secrets_stay_masked_in_every_format(base, diff_to, tmp_path):
    def add_secret(spec):
        spec["apps"]["web"]["env"]["API_TOKEN"] = {"config": "apiToken"}

    for fmt in ("text", "markdown"):
        outcome = diff_to(add_secret, "--format", fmt)
        assert "API_TOKEN=[secret]" in outcome.out
        assert "placeholder" not in outcome.out  # the stand-in value a plan gives a config key
        assert "postgres://" not in outcome.out  # DATABASE_URL's plain text


# --- bad input -----------------------------------------------------------------------------------

def test_a_missing_side_is_one_line_and_exit_1(cli, base, tmp_path):
    code, out, err = cli("diff", base, tmp_path / "nope.json")
    assert (code, out) == (1, "")
    assert err == (f"{tmp_path / 'nope.json'}: error: does not exist; give a plan JSON file "
                   f"(flashdrive plan --format json) or a flashdrive.yaml\n")


def test_a_json_file_that_is_not_a_plan_is_exit_1(cli, base, tmp_path):
    other = tmp_path / "package.json"
    other.write_text(json.dumps({"name": "web"}))
    code, _, err = cli("diff", base, other)
    assert code == 1
    assert err.splitlines()[0] == f"{other}: error: is not a flashdrive plan: it has no 'resources'"


def test_broken_json_points_at_the_line(cli, base, tmp_path):
    broken = tmp_path / "head.json"
    broken.write_text('{\n  "version": 1,\n  "resources": [,]\n}\n')
    code, _, err = cli("diff", base, broken)
    assert code == 1
    assert err.startswith(f"{broken}:3:17: error: is not valid JSON")


def test_an_invalid_spec_reports_its_problems_and_exit_1(cli, base, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("version: 1\nstack: shop\napps:\n  web:\n    image: x\n    nodez: 2\n")
    code, _, err = cli("diff", base, spec)
    assert code == 1
    assert err.startswith(f"{spec}:6:5: error: apps.web.nodez: unknown key 'nodez'")


@pytest.mark.parametrize("argv", [["diff"], ["diff", "a.json"], ["diff", "a", "b", "--format", "yaml"]])
def test_wrong_usage_is_exit_2(cli, argv):
    code, _, err = cli(*argv)
    assert code == 2
    assert err.startswith("usage: flashdrive diff")
