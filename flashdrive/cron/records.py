"""What `flashdrive ps` shows of cron jobs: the last run and the next one, from the scheduler's record.

On Docker the record is `runs.jsonl` on the app's cron state volume (written by
flashdrive/cron/scheduler.py). For `ps`: find the scheduler with the labels
`flashdrive.stack=<stack>,flashdrive.role=cron` (one per app with jobs, `flashdrive.app=<app>`), take its
jobs with `jobs_from_labels`, read the record with `docker exec <scheduler> cat RECORDS_FILE`, and
`job_status(jobs, text)` gives each job's last run (exit code, duration; still running when it has
no end) and next run. On Kubernetes the same facts are the CronJob's Jobs (`kubectl get jobs -l
flashdrive.dev/cron-job=<job>`) and `next_runs` of its schedule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flashdrive.cron.schedule import next_runs
from flashdrive.labels import LABEL_CRON_JOB_PREFIX as JOB_LABEL_PREFIX

# Where the Docker scheduler keeps its state, inside its container (the cron state volume).
STATE_DIR = "/flashdrive/cron-state"
RECORDS_FILE = f"{STATE_DIR}/runs.jsonl"


@dataclass(frozen=True)
class LastRun:
    due: str
    start: str
    end: str | None  # None: still running
    exit_code: int | None
    duration_s: float | None
    timed_out: bool
    scheduler: str


@dataclass(frozen=True)
class JobStatus:
    name: str
    schedule: str
    last_run: LastRun | None
    next_run: datetime  # UTC
    skipped: int  # runs skipped because the previous one was still going, in the record


def jobs_from_labels(labels: dict[str, str]) -> dict[str, str]:
    """A Docker scheduler's jobs (name → schedule), from its container's labels, sorted by name."""
    return {
        key.removeprefix(JOB_LABEL_PREFIX): value
        for key, value in sorted(labels.items())
        if key.startswith(JOB_LABEL_PREFIX)
    }


def parse_records(text: str) -> list[dict]:
    """The records of runs.jsonl; a torn or foreign line is left out, not an error."""
    found = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("job"), str) and "event" in record:
            found.append(record)
    return found


def job_status(jobs: dict[str, str], records_text: str, now: datetime | None = None) -> list[JobStatus]:
    """One status per job of `jobs` (name → schedule, as written or five fields), in that order.

    The last run is the latest started one, with its end, exit code and duration once it finished.
    """
    now = now or datetime.now(UTC)
    records = parse_records(records_text)
    statuses = []
    for name, schedule in jobs.items():
        mine = [r for r in records if r["job"] == name]
        started = [r for r in mine if r["event"] == "started"]
        finished = {(r.get("due"), r.get("scheduler")): r for r in mine if r["event"] == "finished"}
        last = None
        if started or finished:
            latest = max(started + list(finished.values()), key=lambda r: str(r.get("start", "")))
            done = finished.get((latest.get("due"), latest.get("scheduler")))
            last = LastRun(
                due=str(latest.get("due")),
                start=str(latest.get("start")),
                end=done.get("end") if done else None,
                exit_code=done.get("exit_code") if done else None,
                duration_s=done.get("duration_s") if done else None,
                timed_out=bool(done.get("timed_out")) if done else False,
                scheduler=str(latest.get("scheduler", "")),
            )
        statuses.append(
            JobStatus(
                name=name,
                schedule=schedule,
                last_run=last,
                next_run=next_runs(schedule, now)[0],
                skipped=sum(1 for r in mine if r["event"] == "skipped"),
            )
        )
    return statuses


def scheduler_status(container: Any, now: datetime | None = None) -> list[JobStatus]:
    """Each job's status, from a Docker scheduler (a docker SDK container labelled
    `flashdrive.role=cron`): its jobs from its labels, its record read inside it. A scheduler that
    is not running has no record to read: its jobs show with no last run."""
    attrs = container.attrs
    jobs = jobs_from_labels((attrs.get("Config") or {}).get("Labels") or {})
    text = ""
    if (attrs.get("State") or {}).get("Running"):
        result = container.exec_run(["cat", RECORDS_FILE])
        if result.exit_code == 0:
            text = result.output.decode(errors="replace")
    return job_status(jobs, text, now)
