"""What `ps` reads of cron jobs: the last run and the next one, from the scheduler's record."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flashdrive.cron.records import RECORDS_FILE, job_status, jobs_from_labels, scheduler_status

NOW = datetime(2026, 1, 1, 0, 2, 30, tzinfo=UTC)


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
    assert a.next_run == datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    assert b.last_run.end is None and b.last_run.exit_code is None  # still running
    assert b.next_run == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    assert c.last_run is None and c.next_run == datetime(2026, 1, 2, tzinfo=UTC)


def test_a_schedulers_jobs_come_from_its_labels():
    labels = {"flashdrive.app": "web", "flashdrive.role": "cron", "flashdrive.cron.report": "0 5 * * mon",
              "flashdrive.cron.clearsessions": "@daily", "flashdrive.stack": "shop"}
    assert jobs_from_labels(labels) == {"clearsessions": "@daily", "report": "0 5 * * mon"}


class FakeScheduler:
    """What the docker SDK gives for a container: attrs, and exec_run."""

    def __init__(self, running: bool, record: str):
        self.attrs = {"State": {"Running": running}, "Config": {"Labels": {
            "flashdrive.role": "cron", "flashdrive.app": "web", "flashdrive.cron.tick": "* * * * *"}}}
        self.record = record
        self.commands: list[list[str]] = []

    def exec_run(self, command):
        self.commands.append(command)

        class Result:
            exit_code, output = 0, self.record.encode()
        return Result()


def test_a_running_schedulers_record_is_read_inside_it_and_a_stopped_one_shows_no_last_run():
    record = "\n".join([
        line(job="tick", event="started", due="2026-01-01T00:02:00.000Z", start="2026-01-01T00:02:00.003Z", scheduler="x"),
        line(job="tick", event="finished", due="2026-01-01T00:02:00.000Z", start="2026-01-01T00:02:00.003Z",
             end="2026-01-01T00:02:00.020Z", exit_code=0, duration_s=0.017, timed_out=False, scheduler="x")])
    scheduler = FakeScheduler(True, record)
    statuses = scheduler_status(scheduler, NOW)
    assert scheduler.commands == [["cat", RECORDS_FILE]]
    [tick] = statuses
    assert (tick.name, tick.schedule, tick.next_run.isoformat()) == ("tick", "* * * * *", "2026-01-01T00:03:00+00:00")
    assert tick.last_run is not None
    assert (tick.last_run.start, tick.last_run.exit_code, tick.last_run.duration_s) == ("2026-01-01T00:02:00.003Z", 0, 0.017)
    stopped = FakeScheduler(False, record)
    [never] = scheduler_status(stopped, NOW)
    assert never.last_run is None and never.next_run.isoformat() == "2026-01-01T00:03:00+00:00"
    assert stopped.commands == []
