"""`flashdrive diff` shows cron jobs changing; removing a job changes the scheduler, removing the last one
removes the scheduler and its state, and none of it is data loss."""

from __future__ import annotations

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


def test_removing_a_job_replaces_the_scheduler_and_keeps_its_state(tmp_path, capsys):
    report, code, out = diff(tmp_path, capsys, BASE.replace("{more}", REPORT), BASE.replace("{more}", ""))
    assert report.verdicts() == {"shop-web-cron": "replace"}
    assert code == 0 and not check(report).findings
    assert "flashdrive.cron.report" in out and "jobs.json" in out


def test_removing_the_last_job_removes_the_scheduler_and_its_state_without_data_loss(tmp_path, capsys):
    without = "version: 1\nstack: shop\napps:\n  web:\n    image: ghcr.io/acme/web:1.4\n"
    report, code, out = diff(tmp_path, capsys, BASE.replace("{more}", ""), without)
    verdicts = report.verdicts()
    assert {name: verdict for name, verdict in verdicts.items() if "cron" in name} == {
        "shop-web-cron": "delete", "shop-web-cron-prepare": "delete", "shop-web-cron-state": "delete"}
    assert verdicts.keys() - {"shop-web-cron", "shop-web-cron-prepare", "shop-web-cron-state"} == set()
    assert code == 0 and not check(report).findings


def test_adding_a_job_creates_a_scheduler_next_to_the_apps_copies(tmp_path, capsys):
    without = "version: 1\nstack: shop\napps:\n  web:\n    image: ghcr.io/acme/web:1.4\n"
    report, code, out = diff(tmp_path, capsys, without, BASE.replace("{more}", ""))
    assert report.verdicts() == {"shop-web-cron": "create", "shop-web-cron-prepare": "create",
                                 "shop-web-cron-state": "create"}
    assert code == 0
