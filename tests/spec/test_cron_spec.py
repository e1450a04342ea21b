"""`cron:` in flashdrive.yaml: defaults, shorthands, and every bad field reported where it is."""

from __future__ import annotations

import pytest

from flashdrive.model.resolve import resolve
from flashdrive.spec import load_spec

HEAD = """\
    version: 1
    stack: shop
    apps:
      web:
        image: ghcr.io/acme/web:1.4
        cron:
"""


def test_a_job_gets_the_default_timeout_and_its_shorthand_expands_to_five_fields(write):
    spec = write("flashdrive.yaml", HEAD + """\
          - name: clearsessions
            schedule: "@daily"
            command: python manage.py clearsessions
          - {name: report, schedule: "*/15 9-17 * * mon-fri", command: ./report.sh, timeout_s: 60}
    """)
    stack = resolve(load_spec(spec), {})
    daily, report = stack.apps["web"].cron
    assert (daily.name, daily.schedule, daily.expression, daily.timeout_s) == ("clearsessions", "@daily", "0 0 * * *", 3600)
    assert (report.expression, report.command, report.timeout_s) == ("*/15 9-17 * * mon-fri", "./report.sh", 60)


@pytest.mark.parametrize("schedule, col, message", [
    # the schedule's value starts at column 19 of `        schedule: "..."`, inside the quote
    ("0 25 * * *", 22, "the hour field '25' is not valid"),
    ("61 * * * *", 20, "the minute field '61' is not valid"),
    ("0 4 31 2-1 *", 27, "the month field '2-1' is not valid"),
    ("0 4 * * 8", 28, "the day of week field '8' is not valid"),
    ("0 4 * * 7", 28, "the day of week field '7' uses 7 for Sunday, which Kubernetes refuses"),
    ("0 4 L * *", 24, "the day of month field 'L' uses 'L', which not every backend runs"),
    ("0 4 * mon *", 26, "the month field 'mon' has 'mon', which is not a month"),
    ("0 4 * * 1#2", 28, "the day of week field '1#2' uses syntax not every backend runs"),
    ("0 4 * *", 20, "it has 4 fields, a schedule has 5"),
    ("0 0 4 * * *", 20, "it has 6 fields, a schedule has 5"),
    ("@every 5m", 20, "'@every 5m' is not a shorthand cron knows"),
])
def test_a_bad_schedule_is_reported_at_the_bad_field(cli, write, schedule, col, message):
    spec = write("flashdrive.yaml", HEAD + f"""\
          - name: job
            schedule: "{schedule}"
            command: ./job.sh
    """)
    run = cli("validate", spec)
    assert run.code == 1
    assert run.error_lines == [f"{spec}:8:{col}: error: apps.web.cron[0].schedule: {message}"]


def test_duplicate_job_names_empty_commands_and_a_zero_timeout_are_errors(cli, write):
    spec = write("flashdrive.yaml", HEAD + """\
          - {name: sync, schedule: "@hourly", command: ./sync.sh}
          - {name: sync, schedule: "@hourly", command: "  "}
    """)
    run = cli("validate", spec)
    assert [line.split(": error: ")[1] for line in run.error_lines] == [
        "apps.web.cron[1].name: app 'web' already has a cron job named 'sync' (#1)",
        "apps.web.cron[1].command: command is empty"]
    spec = write("flashdrive.yaml", HEAD + """\
          - {name: sync, schedule: "@hourly", command: ./sync.sh, timeout_s: 0}
    """)
    run = cli("validate", spec)
    assert run.error_lines == [(f"{spec}:7:74: error: apps.web.cron[0].timeout_s: the number 0 is out of range: "
                                "it must be at least 1")]
