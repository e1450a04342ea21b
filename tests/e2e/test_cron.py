"""Cron on a real engine, through a deploy: a job every minute appends to a disk file and a long job
is running when the next version is deployed. Exactly one run per minute, no run twice, the long run
is neither killed nor overlapped, and the record says how each run ended.

The deploy goes through tests/e2e/deploy.py (the engine stand-in): the new scheduler (a resource of
its own per version) is created during the run, the old one, no longer declared, is stopped at its
end with its grace period, as `pulumi up` does.
"""

from __future__ import annotations

import itertools
import json
import shutil
import time
from datetime import UTC, datetime

import pytest
from deploy import destroy_stack
from harness import Deployment
from provider import docker

from flashdrive.cron.records import RECORDS_FILE, job_status

pytestmark = pytest.mark.e2e

STACK = "cron-e2e"
LONG_S = 70

SPEC = """\
version: 1
stack: {stack}
apps:
  clock:
    source: ./app
    type: worker
    size: xs
    env:
      GREETING: {{value: "{greeting}", scope: run}}
    disks: [{{name: data, mount: /app/data, size_gb: 1}}]
    cron:
      - name: tick
        schedule: "* * * * *"
        command: echo "$(date -u +%H:%M) $HOSTNAME $GREETING" >> /app/data/ticks
        timeout_s: 50
      - name: long
        schedule: "* * * * *"
        command: >-
          echo "start $(date -u +%s) $HOSTNAME" >> /app/data/long; sleep {long};
          echo "end $(date -u +%s) $HOSTNAME" >> /app/data/long
        timeout_s: 300
backups: {{enabled: false}}
"""


@pytest.fixture
def stack(stand_in_images, tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "Procfile").write_text("worker: python worker.py\n")
    (app / "requirements.txt").write_text("")
    (app / "worker.py").write_text("import signal, sys, time\n"
                                   "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
                                   "while True:\n    time.sleep(3600)\n")
    spec = tmp_path / "flashdrive.yaml"
    deployment = Deployment(STACK, spec, None, {}, images=stand_in_images)

    def up(greeting: str) -> float:
        spec.write_text(SPEC.format(stack=STACK, greeting=greeting, long=LONG_S))
        started = time.monotonic()
        deployment.deploy()
        return time.monotonic() - started

    destroy_stack(stack=STACK)
    deployment.up = up
    try:
        yield deployment
    finally:
        destroy_stack(stack=STACK)
        shutil.rmtree(app, ignore_errors=True)


def schedulers(deployment) -> list[dict]:
    return [c for c in deployment.stack_containers() if c["Config"]["Labels"].get("flashdrive.role") == "cron"]


def read(container: str, path: str) -> str:
    return docker("exec", container, "cat", path, check=False).stdout


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_deploy_during_a_long_run_neither_kills_it_nor_runs_any_job_twice(stack):
    stack.up("one")
    [old] = schedulers(stack)
    old_name, old_host = old["Name"].lstrip("/"), old["Config"]["Hostname"]
    assert old["State"]["Running"]
    assert not any("docker.sock" in (m.get("Source") or "") for m in old["Mounts"])
    assert "edge" not in " ".join(old["NetworkSettings"]["Networks"])

    # Wait for the long job to start (the next minute), then deploy a new version at once.
    wait_for(lambda: "start" in read(old_name, "/app/data/long"), 90, "the long job to start")
    long_started = int(read(old_name, "/app/data/long").split()[1])
    deploy_started = time.time()
    deploy_s = stack.up("two")

    [new] = schedulers(stack)
    new_name = new["Name"].lstrip("/")
    assert new_name != old_name and "GREETING=two" in new["Config"]["Env"]
    assert not docker("ps", "--all", "--quiet", "--filter", f"name=^{old_name}$").stdout.strip()
    # The old scheduler left only once its run had ended: the deploy waited for it.
    runs = read(new_name, "/app/data/long").splitlines()
    first_end = next(line for line in runs if line.startswith("end ") and line.endswith(old_host))
    assert int(first_end.split()[1]) - long_started >= LONG_S
    assert deploy_started + deploy_s >= long_started + LONG_S
    # ...and the new scheduler had started before that run ended.
    new_started = datetime.fromisoformat(new["State"]["StartedAt"][:26].rstrip("Z")).replace(tzinfo=UTC).timestamp()
    assert new_started < int(first_end.split()[1])
    print(f"[e2e] cron: deploy during a {LONG_S} s run took {deploy_s:.0f} s")

    # Let the new scheduler run a few minutes of its own (and the long job once more, past its skip).
    wait_for(lambda: read(new_name, "/app/data/long").count("start") >= 2 and
             read(new_name, "/app/data/ticks").count(new["Config"]["Hostname"]) >= 2, 200,
             "the new scheduler's runs")

    text = read(new_name, RECORDS_FILE)
    context = (f"\nnew scheduler started {new['State']['StartedAt']}, deploy {deploy_started:.0f}+{deploy_s:.0f}s\n"
               f"records:\n{text}\nlogs:\n{docker('logs', new_name, check=False).stdout[-3000:]}")
    ticks = [line.split() for line in read(new_name, "/app/data/ticks").splitlines()]
    minutes = [datetime.strptime(t[0], "%H:%M") for t in ticks]
    assert len({t[0] for t in ticks}) == len(ticks), f"a minute ran twice: {ticks}{context}"
    gaps = [(b - a).seconds for a, b in itertools.pairwise(minutes)]
    assert all(gap == 60 for gap in gaps), f"not one run per minute: {ticks}{context}"
    assert {t[1] for t in ticks} == {old_host, new["Config"]["Hostname"]}
    assert next(t[2] for t in ticks if t[1] == new["Config"]["Hostname"]) == "two"

    marks = [line.split()[0] for line in read(new_name, "/app/data/long").splitlines()]
    assert marks[:4] == ["start", "end", "start", "end"][:len(marks[:4])] and marks[0] == "start"
    assert all(mark == ("start" if i % 2 == 0 else "end") for i, mark in enumerate(marks)), marks

    # The record ps reads: every run's exit code, the skips while the old run went on.
    status = {s.name: s for s in job_status({"tick": "* * * * *", "long": "* * * * *"}, text,
                                            datetime.now(UTC))}
    assert status["tick"].last_run.exit_code == 0 and status["tick"].next_run > datetime.now(UTC)
    assert status["long"].skipped >= 1
    skipped = [r for r in (json.loads(line) for line in text.splitlines()) if r["event"] == "skipped"]
    assert any(r["job"] == "long" and r["scheduler"] == new["Config"]["Hostname"] for r in skipped), \
        "the new scheduler never saw the old one's run going"
    records = [json.loads(line) for line in text.splitlines()]
    finished = [r for r in records if r["event"] == "finished"]
    assert all(r["exit_code"] == 0 and not r["timed_out"] for r in finished)
    assert any(r["job"] == "long" and r["scheduler"] == old_host and r["duration_s"] >= LONG_S for r in finished)
    dues = [(r["job"], r["due"]) for r in records if r["event"] == "started"]
    assert len(dues) == len(set(dues)), "a due time started twice"
