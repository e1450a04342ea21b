"""The Docker cron scheduler, run as the container runs it: the shipped files (scheduler.py, cronsim.py,
jobs.json) in a folder of their own, under a Python that sees no installed package at all, against a
state folder. Schedules use cronsim's six-field form (seconds first) so runs come every second.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flashdrive.cron import scheduler as scheduler_module
from flashdrive.cron.records import parse_records
from flashdrive.cron.schedule import cronsim_source


class Scheduler:
    def __init__(self, folder: Path, state: Path, jobs: list[dict], name: str):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "scheduler.py").write_text(Path(scheduler_module.__file__).read_text())
        (folder / "cronsim.py").write_text(cronsim_source())
        (folder / "jobs.json").write_text(json.dumps(jobs))
        self.log = folder / "log.txt"
        # -I -S: no environment variables, no site-packages: only what was shipped is importable.
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(folder / "scheduler.py"), str(folder / "jobs.json"), str(state)],
            stdout=self.log.open("wb"), stderr=subprocess.STDOUT, cwd=folder,
            env={"PATH": os.environ["PATH"], "FLASHDRIVE_CRON_SCHEDULER": name})
        self.wait_for_line("scheduled")

    def wait_for_line(self, text: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            output = self.log.read_text()
            if text in output:
                return output
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no line with {text!r} in the scheduler's log:\n{self.log.read_text()}")

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


@pytest.fixture
def state(tmp_path):
    folder = tmp_path / "state"
    folder.mkdir()
    return folder


@pytest.fixture
def schedulers(tmp_path, state):
    started: list[Scheduler] = []

    def start(jobs: list[dict], name: str = "one") -> Scheduler:
        scheduler = Scheduler(tmp_path / name, state, jobs, name)
        started.append(scheduler)
        return scheduler

    yield start
    for scheduler in started:
        if scheduler.process.poll() is None:
            scheduler.process.kill()
            scheduler.process.wait()


def job(name: str, command: str, expression: str = "* * * * * *", timeout_s: int = 60) -> dict:
    return {"name": name, "expression": expression, "command": command, "timeout_s": timeout_s}


def records(state: Path, job_name: str | None = None, event: str | None = None) -> list[dict]:
    text = (state / "runs.jsonl").read_text() if (state / "runs.jsonl").exists() else ""
    return [r for r in parse_records(text) if (job_name is None or r["job"] == job_name)
            and (event is None or r["event"] == event)]


def assert_never_overlapping(marks: list[str]) -> None:
    """`start`/`end` lines a job wrote: each run ends before the next starts."""
    assert marks, "the job never ran"
    for index, mark in enumerate(marks):
        assert mark == ("start" if index % 2 == 0 else "end"), f"runs overlapped: {marks}"


def test_each_run_is_recorded_with_start_end_exit_code_and_duration_and_its_output_is_logged(schedulers, state):
    scheduler = schedulers([job("ok", "echo hello from the job"), job("fails", "exit 3")])
    time.sleep(3.5)
    assert scheduler.stop() == 0
    for name, code in (("ok", 0), ("fails", 3)):
        finished = records(state, name, "finished")
        assert 2 <= len(finished) <= 4, finished
        for run in finished:
            assert run["exit_code"] == code and run["timed_out"] is False
            assert run["start"] <= run["end"] and 0 <= run["duration_s"] < 2
            assert run["scheduler"] == "one"
        # one run per due time, each due time a whole second
        dues = [r["due"] for r in finished]
        assert len(set(dues)) == len(dues) and all(d.endswith(".000Z") for d in dues)
    log = scheduler.log.read_text()
    assert "[ok] hello from the job" in log
    assert "fails: finished with exit code 3" in log


def test_a_run_still_going_when_the_next_is_due_is_skipped_and_recorded_as_skipped(schedulers, state, tmp_path):
    marks = tmp_path / "marks"
    scheduler = schedulers([job("slow", f"echo start >> {marks}; sleep 2.2; echo end >> {marks}")])
    time.sleep(5)
    assert scheduler.stop() == 0
    assert_never_overlapping(marks.read_text().split())
    skipped = records(state, "slow", "skipped")
    assert len(skipped) >= 2
    assert "is still going" in skipped[0]["reason"]
    assert "slow: skipped the run due at" in scheduler.log.read_text()
    started = {r["due"] for r in records(state, "slow", "started")}
    assert not started & {r["due"] for r in skipped}


def test_two_schedulers_on_one_state_volume_run_each_due_time_once(schedulers, state, tmp_path):
    marks = tmp_path / "marks"
    command = f"echo run >> {marks}"
    first = schedulers([job("tick", command)], "old")
    second = schedulers([job("tick", command)], "new")
    time.sleep(4)
    assert first.stop() == 0 and second.stop() == 0
    started = records(state, "tick", "started")
    dues = [r["due"] for r in started]
    assert len(dues) >= 3 and len(set(dues)) == len(dues), dues
    assert len(marks.read_text().split()) == len(dues)
    assert not records(state, "tick", "skipped")  # the other scheduler's run of a due time is not a skip


def test_on_sigterm_it_starts_nothing_more_and_leaves_once_its_running_job_has_ended(schedulers, state, tmp_path):
    marks = tmp_path / "marks"
    scheduler = schedulers([job("long", f"echo start >> {marks}; sleep 3; echo end >> {marks}")])
    scheduler.wait_for_line("long: started")
    scheduler.process.send_signal(signal.SIGTERM)
    time.sleep(1.5)
    assert scheduler.process.poll() is None, "the scheduler left while its job was running"
    assert scheduler.process.wait(timeout=10) == 0
    assert marks.read_text().split() == ["start", "end"]
    assert [r["exit_code"] for r in records(state, "long", "finished")] == [0]
    log = scheduler.log.read_text()
    assert "waiting for long to finish" in log and log.rstrip().endswith("stopped")


def test_a_new_scheduler_does_not_start_a_job_the_old_one_still_runs(schedulers, state, tmp_path):
    """A deploy: the new scheduler starts first, then the old one is told to leave mid-run."""
    marks = tmp_path / "marks"
    command = f"echo start >> {marks}; sleep 3; echo end >> {marks}"
    old = schedulers([job("long", command)], "old")
    old.wait_for_line("long: started")
    new = schedulers([job("long", command)], "new")
    old.process.send_signal(signal.SIGTERM)
    assert old.process.wait(timeout=10) == 0
    new.wait_for_line("long: started", timeout=10)  # once the old run ended, the new scheduler runs it
    time.sleep(0.5)
    assert new.stop() == 0
    assert_never_overlapping(marks.read_text().split())
    first, *later = records(state, "long", "finished")
    assert first["scheduler"] == "old" and first["exit_code"] == 0 and first["duration_s"] >= 3
    assert later and all(run["scheduler"] == "new" for run in later)
    assert any(r["scheduler"] == "new" for r in records(state, "long", "skipped"))


def test_a_run_past_its_timeout_is_stopped_with_its_children_and_recorded_as_timed_out(schedulers, state, tmp_path):
    child = tmp_path / "child-alive"
    scheduler = schedulers([job("stuck", f"(sleep 30; touch {child}) & sleep 30", timeout_s=1)])
    scheduler.wait_for_line("stuck: finished", timeout=15)
    run = records(state, "stuck", "finished")[0]
    assert run["timed_out"] is True and run["exit_code"] == -signal.SIGTERM
    assert 1 <= run["duration_s"] < 5
    assert "stuck: still running after its timeout of 1 s" in scheduler.log.read_text()
    assert scheduler.stop() == 0
    time.sleep(0.2)
    assert not child.exists()


def test_a_bad_expression_stops_the_scheduler_at_start(tmp_path, state):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "scheduler.py").write_text(Path(scheduler_module.__file__).read_text())
    (folder / "cronsim.py").write_text(cronsim_source())
    (folder / "jobs.json").write_text(json.dumps([job("bad", "true", expression="61 * * * *")]))
    run = subprocess.run([sys.executable, "-I", "-S", str(folder / "scheduler.py"), str(folder / "jobs.json"),
                          str(state)], capture_output=True, text=True, timeout=20, check=False)
    assert run.returncode != 0 and "Bad minute" in run.stderr
