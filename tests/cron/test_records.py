"""What `ps` reads of cron jobs: the last run and the next one, from the scheduler's record."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from flashdrive.cron.records import jobs_from_labels, job_status

NOW = datetime(2026, 1, 1, 0, 2, 30, tzinfo=timezone.utc)


def line(**record) -> str:
    return json.dumps(record)


def test_the_last_run_is_the_latest_started_with_its_end_exit_code_and_duration():
    text = "\n".join([
        line(job="a", event="started", due="2026-01-01T00:00:00.000Z", start="2026-01-01T00:00:00.010Z", scheduler="x"),
        line(job="a", event="finished", due="2026-01-01T00:00:00.000Z", start="2026-01-01T00:00:00.010Z",
             end="2026-01-01T00:00:01.000Z", exit_code=3, duration_s=0.99, timed_out=False, scheduler="x"),
        line(job="a", event="skipped", due="2026-01-01T00:01:00.000Z", reason="still going", scheduler="y"),
        '{"job": "a", "event": "started", "due": "2026-01-01T00:02:00.000Z", "start": "2026-01-01T00:02:00.0',  # torn
        line(job="b", event="started", due="2026-01-01T00:02:00.000Z", start="2026-01-01T00:02:00.004Z", scheduler="y"),
    ])
    a, b, c = job_status({"a": "@hourly", "b": "*/5 * * * *", "c": "@daily"}, text, NOW)
    assert (a.last_run.exit_code, a.last_run.duration_s, a.last_run.end, a.skipped) == (3, 0.99, "2026-01-01T00:00:01.000Z", 1)
    assert a.next_run == datetime(2026, 1, 1, 1, 0, tzinfo=timezone.utc)
    assert b.last_run.end is None and b.last_run.exit_code is None  # still running
    assert b.next_run == datetime(2026, 1, 1, 0, 5, tzinfo=timezone.utc)
    assert c.last_run is None and c.next_run == datetime(2026, 1, 2, tzinfo=timezone.utc)


def test_a_schedulers_jobs_come_from_its_labels():
    labels = {"flashdrive.app": "web", "flashdrive.role": "cron", "flashdrive.cron.report": "0 5 * * mon",
              "flashdrive.cron.clearsessions": "@daily", "flashdrive.stack": "shop"}
    assert jobs_from_labels(labels) == {"clearsessions": "@daily", "report": "0 5 * * mon"}
