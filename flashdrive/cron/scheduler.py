"""flashdrive's cron scheduler: the program the Docker backend runs in a container of the app's image.

It is shipped into that container (uploaded next to cronsim.py and jobs.json) and runs with whatever
Python the image has, so it imports only the standard library and cronsim, and keeps to Python 3.10.

    python3 scheduler.py JOBS_JSON STATE_DIR

JOBS_JSON is a list of {"name", "expression", "command", "timeout_s"}; an expression is what cronsim
evaluates (five fields in UTC; the tests use cronsim's six-field form, with seconds). STATE_DIR is a
volume that every scheduler of the app mounts, the old and the new one during a deploy:

- `locks/<job>.lock`: held (flock) by the scheduler running the job, for as long as the run lasts.
  A run is started only by whoever takes the lock; when it is due while another run holds it, the
  run is skipped and recorded as skipped. The lock file keeps the due time of the last run that
  took it, so when two schedulers wake for the same due time (the old and the new one, during a
  deploy) only the first runs it. The kernel drops the lock when its holder dies, so a crashed
  scheduler never leaves a job locked.
- `runs.jsonl`: one JSON object per line for each run started, finished (exit code, duration,
  whether the timeout stopped it) and skipped; `flashdrive ps` reads it (flashdrive.cron.records).

On SIGTERM (a deploy replacing this scheduler, `docker stop`) it starts nothing more, waits for
its running jobs to end (each still bounded by its own timeout), then exits 0.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # cronsim.py travels next to this file

if sys.version_info < (3, 10):  # noqa: UP036 - this runs under the app image's Python, not ours
    print("flashdrive cron: the scheduler needs Python 3.10 or newer in the app's image; "
          f"this image has {sys.version.split()[0]}", file=sys.stderr, flush=True)
    sys.exit(2)

from cronsim import CronSim  # after the path and version checks

RECORDS = "runs.jsonl"
MAX_RECORDS_BYTES = 4 * 1024 * 1024  # then runs.jsonl becomes runs.1.jsonl (one older file is kept)
HOLDER_RETRIES = 20  # times 50 ms
KILL_AFTER_S = 10  # between the timeout's SIGTERM and SIGKILL
# Which scheduler did what: on Docker the container's host name, its short id.
SCHEDULER = os.environ.get("FLASHDRIVE_CRON_SCHEDULER") or socket.gethostname()
_print_lock = threading.Lock()


def _now() -> datetime:
    return datetime.now(timezone.utc)  # noqa: UP017 - datetime.UTC is 3.11+, and this runs on 3.10


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")  # noqa: UP017


def log(message: str) -> None:
    with _print_lock:
        sys.stdout.write(f"flashdrive cron: {message}\n")
        sys.stdout.flush()


def _holder(fd: int) -> dict:
    """What a lock file says about the run that holds or last held it ({} when nothing yet)."""
    try:
        held = json.loads(os.pread(fd, 4096, 0).decode(errors="replace") or "{}")
    except ValueError:
        return {}
    return held if isinstance(held, dict) and isinstance(held.get("due"), str) else {}


class Records:
    """Appends to runs.jsonl, shared by every scheduler of the app; a lock file orders writers."""

    def __init__(self, state: str):
        self.path = os.path.join(state, RECORDS)
        self.lock_path = os.path.join(state, "runs.lock")

    def add(self, record: dict) -> None:
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.path.getsize(self.path) > MAX_RECORDS_BYTES:
                    os.replace(self.path, self.path.replace(".jsonl", ".1.jsonl"))
            except FileNotFoundError:
                pass
            out = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(out, line)
            finally:
                os.close(out)
        finally:
            os.close(fd)  # closing drops the flock


class Job:
    def __init__(self, spec: dict):
        self.name = str(spec["name"])
        self.expression = str(spec["expression"])
        self.command = str(spec["command"])
        self.timeout_s = float(spec["timeout_s"])
        CronSim(self.expression, _now())  # a bad expression fails at start, not at the first run

    def next_due(self, after: datetime) -> datetime:
        return next(CronSim(self.expression, after))


class Scheduler:
    def __init__(self, jobs: list[Job], state: str):
        self.jobs = jobs
        self.state = state
        self.locks = os.path.join(state, "locks")
        os.makedirs(self.locks, exist_ok=True)
        self.records = Records(state)
        self.stopping = threading.Event()
        self.running: dict[str, threading.Thread] = {}
        self.running_lock = threading.Lock()

    # -- one run -----------------------------------------------------------------------------
    def start(self, job: Job, due: datetime) -> None:
        fd = os.open(os.path.join(self.locks, f"{job.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            locked = True
        except BlockingIOError:
            locked = False
        # The lock file keeps the last run's holder after it ends: during a deploy two schedulers
        # wake for the same due time, and the one that comes second must not run it again. A
        # holder that has just taken the lock may not have written its due time yet: ask again.
        held = _holder(fd)
        for _ in range(HOLDER_RETRIES if not locked else 0):
            if held.get("due", "") >= _iso(due):
                break
            time.sleep(0.05)
            held = _holder(fd)
        if held.get("due", "") >= _iso(due):
            os.close(fd)
            log(f"{job.name}: the run due at {_iso(due)} is scheduler {held.get('scheduler')}'s")
            return
        if not locked:
            os.close(fd)
            reason = (f"the run due at {held['due']} (started {held.get('start')} by scheduler "
                      f"{held.get('scheduler')}) is still going" if held else "the previous run is still going")
            self.records.add({"job": job.name, "event": "skipped", "due": _iso(due), "reason": reason,
                              "scheduler": SCHEDULER})
            log(f"{job.name}: skipped the run due at {_iso(due)}: {reason}")
            return
        start = _now()
        holder = {"job": job.name, "start": _iso(start), "due": _iso(due), "scheduler": SCHEDULER}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        try:
            process = subprocess.Popen(
                ["/bin/sh", "-c", job.command], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, env={**os.environ, "FLASHDRIVE_CRON_JOB": job.name},
                # Its own session: the scheduler's SIGTERM is not the job's, and a timeout stops the
                # job's whole process group.
                start_new_session=True)
        except OSError as exc:
            self.records.add({**holder, "event": "finished", "end": _iso(_now()), "exit_code": 127,
                              "duration_s": 0.0, "timed_out": False, "error": str(exc)})
            log(f"{job.name}: could not start: {exc}")
            os.close(fd)
            return
        self.records.add({**holder, "event": "started", "pid": process.pid})
        log(f"{job.name}: started (due {_iso(due)}): {job.command}")
        thread = threading.Thread(target=self._watch, args=(job, process, fd, holder, start), daemon=True)
        with self.running_lock:
            self.running[job.name] = thread
        thread.start()

    def _watch(self, job: Job, process: subprocess.Popen, fd: int, holder: dict, start: datetime) -> None:
        pump = threading.Thread(target=self._pump, args=(job.name, process), daemon=True)
        pump.start()
        timed_out = False
        try:
            process.wait(timeout=job.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            log(f"{job.name}: still running after its timeout of {job.timeout_s:g} s: stopping it")
            self._signal(process, signal.SIGTERM)
            try:
                process.wait(timeout=KILL_AFTER_S)
            except subprocess.TimeoutExpired:
                self._signal(process, signal.SIGKILL)
                process.wait()
        pump.join(timeout=5)
        end = _now()
        duration = round((end - start).total_seconds(), 3)
        code = process.returncode
        self.records.add({**holder, "event": "finished", "end": _iso(end), "exit_code": code,
                          "duration_s": duration, "timed_out": timed_out})
        log(f"{job.name}: finished with exit code {code} after {duration:g} s"
            + (" (stopped by its timeout)" if timed_out else ""))
        os.close(fd)  # the next run may start: closing drops the flock
        with self.running_lock:
            self.running.pop(job.name, None)

    @staticmethod
    def _signal(process: subprocess.Popen, number: int) -> None:
        try:
            os.killpg(process.pid, number)
        except ProcessLookupError:
            pass

    @staticmethod
    def _pump(name: str, process: subprocess.Popen) -> None:
        """The job's output, each line prefixed with its name, into the scheduler's (the container's) log."""
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            with _print_lock:
                sys.stdout.write(f"[{name}] {raw.decode(errors='replace').rstrip()}\n")
                sys.stdout.flush()

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> int:
        now = _now()
        due = {job.name: job.next_due(now) for job in self.jobs}
        for job in self.jobs:
            log(f"{job.name}: scheduled '{job.expression}' (UTC), next run {_iso(due[job.name])}")
        while not self.stopping.is_set():
            now = _now()
            for job in self.jobs:
                if due[job.name] <= now:
                    self.start(job, due[job.name])
                    # A late wake-up (a suspended host) runs a job once, not once per missed time.
                    due[job.name] = job.next_due(max(now, due[job.name]))
            wait = (min(due.values()) - _now()).total_seconds()
            self.stopping.wait(min(max(wait, 0.0), 60.0))
        return self.leave()

    def leave(self) -> int:
        with self.running_lock:
            threads = dict(self.running)
        if threads:
            log(f"stopping: no new runs; waiting for {', '.join(sorted(threads))} to finish")
        for thread in threads.values():
            thread.join()
        log("stopped")
        return 0


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: scheduler.py JOBS_JSON STATE_DIR", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as file:
        jobs = [Job(spec) for spec in json.load(file)]
    scheduler = Scheduler(jobs, argv[2])

    def stop(number, frame) -> None:
        scheduler.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return scheduler.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
