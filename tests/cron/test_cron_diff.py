"""`flashdrive diff` shows cron jobs changing; removing a job changes the scheduler, removing the last one
removes the scheduler and its state, and none of it is data loss."""

from __future__ import annotations

import re

import flashdrive.cli.main as cli_main
from flashdrive.diff import check, diff_plans, load_side

BASE = """\
version: 1
stack: shop
apps:
  web:
    image: ghcr.io/acme/web:1.4
    cron:
      - {name: clearsessions, schedule: "@daily", command: python manage.py clearsessions}
{more}
"""
REPORT = '      - {name: report, schedule: "0 5 * * mon", command: ./report.sh}'


def diff(tmp_path, capsys, base: str, head: str):
    (tmp_path / "base.yaml").write_text(base)
    (tmp_path / "head.yaml").write_text(head)
    report = diff_plans(load_side(str(tmp_path / "base.yaml")).plan, load_side(str(tmp_path / "head.yaml")).plan)
    capsys.readouterr()
    code = cli_main.main(["diff", str(tmp_path / "base.yaml"), str(tmp_path / "head.yaml")])
    return report, code, capsys.readouterr().out


def by_kind(verdicts: dict[str, str]) -> dict[str, str]:
    """The scheduler's name ends in its version: `shop-web-cron-<digest>` → `shop-web-cron-*`."""
    return {re.sub(r"-cron-[0-9a-f]{10}$", "-cron-*", name): verdict for name, verdict in verdicts.items()}


def test_removing_a_job_starts_a_new_scheduler_before_the_old_one_goes_and_keeps_its_state(tmp_path, capsys):
    report, code, out = diff(tmp_path, capsys, BASE.replace("{more}", REPORT), BASE.replace("{more}", ""))
    verdicts = report.verdicts()
    assert sorted(verdicts.values()) == ["create", "delete"]
    assert all(re.fullmatch(r"shop-web-cron-[0-9a-f]{10}", name) for name in verdicts)
    assert code == 0 and not check(report).findings
    assert "Resources: 1 to create, 0 to update, 0 to replace, 1 to delete" in out


def test_removing_the_last_job_removes_the_scheduler_and_its_state_without_data_loss(tmp_path, capsys):
    without = "version: 1\nstack: shop\napps:\n  web:\n    image: ghcr.io/acme/web:1.4\n"
    report, code, _ = diff(tmp_path, capsys, BASE.replace("{more}", ""), without)
    verdicts = report.verdicts()
    assert by_kind(verdicts) == {"shop-web-cron-*": "delete",
                                 "shop-web-cron-prepare": "delete", "shop-web-cron-state": "delete"}
    assert code == 0 and not check(report).findings


def test_adding_a_job_creates_a_scheduler_next_to_the_apps_copies(tmp_path, capsys):
    without = "version: 1\nstack: shop\napps:\n  web:\n    image: ghcr.io/acme/web:1.4\n"
    report, code, _ = diff(tmp_path, capsys, without, BASE.replace("{more}", ""))
    assert by_kind(report.verdicts()) == {"shop-web-cron-*": "create",
                                          "shop-web-cron-prepare": "create", "shop-web-cron-state": "create"}
    assert code == 0
