"""Day-2 operations on a real engine: ps, logs, run, exec and restart on the deployed example."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from deploy import destroy_stack
from harness import EXAMPLE, BoundedLoad, Deployment, edge_root_ca, https, retry, temp_folder
from provider import docker

from flashdrive.labels import EDGE_CADDYFILE, LABEL_APP, LABEL_ROLE, LABEL_STACK, ROLE_RUN

pytestmark = pytest.mark.e2e

STACK = "ops-e2e"
ROOT = Path(__file__).resolve().parents[2]
LOAD_SECONDS_MAX = 240   # the restart's load stops by then whatever happens
LOAD_REQUESTS_MAX = 5000


# Web copies log each request (gunicorn's access log), so `logs` has lines from both copies as soon
# as the edge probes them; DEPLOY_MARK is a run-time variable a test changes to make a deploy
# replace the copies.
OVERLAY = """\
apps:
  web:
    env:
      GUNICORN_CMD_ARGS: "--access-logfile -"
      DEPLOY_MARK: {{value: "{mark}", scope: run}}
"""


@pytest.fixture(scope="module")
def stack(stand_in_images):
    overlay = temp_folder() / "ops.overlay.yaml"
    overlay.write_text(OVERLAY.format(mark="first"))
    destroy_stack(stack=STACK)
    deployment = Deployment(STACK, EXAMPLE, [overlay], {}, images=stand_in_images)
    deployment.extra["overlay"] = overlay
    try:
        yield deployment.deploy()
    finally:
        destroy_stack(stack=STACK)


def flashdrive(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """The command as a user runs it: its own process, stdin not a terminal."""
    return subprocess.run([sys.executable, "-m", "flashdrive", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def one_offs() -> list[str]:
    return docker("ps", "--all", "--quiet", "--filter", f"label={LABEL_STACK}={STACK}",
                  "--filter", f"label={LABEL_ROLE}={ROLE_RUN}").stdout.split()


def test_run_migrate_check_exits_zero_and_a_failing_commands_code_comes_through(stack):
    checked = flashdrive("run", "web", "--deployed", STACK, "--", "python", "manage.py", "migrate", "--check")
    assert checked.returncode == 0, checked.stderr
    failed = flashdrive("run", "web", "--deployed", STACK, "--", "sh", "-c", "echo to-stderr >&2; exit 7")
    assert failed.returncode == 7
    assert failed.stderr.strip() == "to-stderr"
    assert one_offs() == []  # removed afterwards


def test_run_sees_the_disk_and_the_database_but_not_the_edge(stack):
    stack.exec("web-1", "sh", "-c", "echo from-web-1 > /app/media/ops-e2e.txt")
    code = ("from django.db import connection; from store.models import *; connection.ensure_connection(); "
            "print(connection.vendor, open('/app/media/ops-e2e.txt').read().strip())")
    seen = flashdrive("run", "web", "--deployed", STACK, "--", "python", "manage.py", "shell", "-c", code)
    assert seen.returncode == 0, seen.stderr
    assert seen.stdout.strip().splitlines()[-1] == "postgresql from-web-1"
    # The edge answers as `edge` on the edge network only, which the one-off never joins.
    edge = flashdrive("run", "web", "--deployed", STACK, "--", "python", "-c",
                      "import socket; socket.gethostbyname('edge')")
    assert edge.returncode == 1 and "gaierror" in edge.stderr
    secret = json.loads(docker("inspect", stack.container("web-1")).stdout)[0]["Config"]["Env"]
    database_url = next(item for item in secret if item.startswith("DATABASE_URL="))
    assert database_url.split("=", 1)[1] not in seen.stdout + seen.stderr


def test_a_one_off_is_removed_when_interrupted(stack):
    process = subprocess.Popen([sys.executable, "-m", "flashdrive", "run", "web", "--deployed", STACK, "--",
                                "sleep", "300"], cwd=ROOT, stdin=subprocess.DEVNULL)
    try:
        retry(lambda: one_offs() or (_ for _ in ()).throw(AssertionError("not started yet")), seconds=60,
              interval=0.2)
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 130
    finally:
        process.kill()
    assert one_offs() == []


def at_a_terminal(*args: str, typed: bytes, seconds: float = 120) -> tuple[int, bytes]:
    """`flashdrive ARGS` on a pseudo-terminal, as a person types `typed` at its prompt."""
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, its stdin and stdout the terminal
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "flashdrive", *args])
    output, sent = b"", False
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 0.5)[0]:
                try:
                    data = os.read(fd, 4096)
                except OSError:  # the terminal closed: the command ended
                    break
                if not data:
                    break
                output += data
            if not sent and b"$ " in output:
                os.write(fd, typed)
                sent = True
    finally:
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output


def test_run_and_exec_give_a_terminal_when_there_is_one(stack):
    typed = b"tty; echo node=$FLASHDRIVE_NODE; exit 5\r"
    code, output = at_a_terminal("run", "web", "--stack", STACK, "--", "sh", typed=typed)
    assert code == 5, output
    assert b"/dev/pts/" in output and b"node=run" in output
    assert one_offs() == []
    code, output = at_a_terminal("exec", "web.2", "--stack", STACK, "--", "sh", typed=typed)
    assert code == 5 and b"/dev/pts/" in output and b"node=2" in output


def test_exec_runs_in_the_named_copy_with_its_exit_code(stack):
    second = flashdrive("exec", "web.2", "--deployed", STACK, "--", "sh", "-c", "echo $FLASHDRIVE_NODE; exit 3")
    assert second.returncode == 3 and second.stdout.strip() == "2"
    first = flashdrive("exec", "web", "--deployed", STACK, "--", "hostname")
    assert first.returncode == 0 and first.stdout.strip() == "web-1"


def test_logs_show_both_copies_lines_with_their_prefixes(stack):
    # The edge probes each copy's /healthz, and the copies log each request.
    def both():
        shown = flashdrive("logs", "web", "--deployed", STACK, "--tail", "20")
        assert shown.returncode == 0, shown.stderr
        prefixes = {line.split("|")[0].strip() for line in shown.stdout.splitlines() if "GET /healthz" in line}
        assert {"web.1", "web.2"} <= prefixes, shown.stdout
        return shown.stdout
    out = retry(both, seconds=60)
    assert all(line.split("|")[0].strip() in ("web.1", "web.2", "web.release") for line in out.splitlines())


def test_ps_json_matches_the_engine(stack):
    shown = flashdrive("ps", "--deployed", STACK, "--json")
    assert shown.returncode == 0, shown.stderr
    rows = {row["container"]: row for row in json.loads(shown.stdout)["containers"]}
    ids = docker("ps", "--all", "--quiet", "--filter", f"label={LABEL_STACK}={STACK}").stdout.split()
    engine = {item["Name"].lstrip("/"): item for item in json.loads(docker("inspect", *ids).stdout)}
    assert set(rows) == set(engine)
    for name, item in engine.items():
        row = rows[name]
        assert row["id"] == item["Id"][:12]
        assert row["state"] == item["State"]["Status"]
        assert row["restarts"] == item["RestartCount"]
        assert row["image"]["id"] == item["Image"]
        assert row["health"] == (item["State"].get("Health") or {}).get("Status")
        assert row["size"]["memory_mib"] == item["HostConfig"]["Memory"] // 2**20
        assert row["app"] == item["Config"]["Labels"].get(LABEL_APP)
    names = {row["name"] for row in rows.values()}
    # The release ran in a one-off container, removed once it finished (issue #22).
    assert {"web.1", "web.2", "worker.1", "main", "cache", "edge", "backup-job"} <= names


def test_unknown_app_or_stack_fails_with_the_names_that_exist(stack):
    app = flashdrive("logs", "wbe", "--deployed", STACK)
    assert app.returncode == 1
    assert app.stderr.strip() == f"flashdrive logs: error: stack '{STACK}' has no app 'wbe'; its apps: web, worker"
    unknown = flashdrive("ps", "--deployed", "ops-nope")
    assert unknown.returncode == 1 and len(unknown.stderr.strip().splitlines()) == 1
    assert "no stack 'ops-nope'" in unknown.stderr and STACK in unknown.stderr.split("stacks there: ")[1]


def test_logs_follow_picks_up_the_copies_a_deploy_replaces(stack):
    follower = subprocess.Popen([sys.executable, "-m", "flashdrive", "logs", "web", "--deployed", STACK, "-f",
                                 "--tail", "0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(follower.stdout.readline, "")), daemon=True)
    reader.start()
    before = {n: docker("inspect", "--format", "{{.Id}}", stack.container(f"web-{n}")).stdout.strip() for n in (1, 2)}
    try:
        time.sleep(3)
        stack.extra["overlay"].write_text(OVERLAY.format(mark="second"))
        changes = stack.deploy().last.changes
        assert changes["create"] >= 2 and changes["delete"] >= 2, changes  # both copies are new versions

        def booted() -> set[str]:
            return {line.split("|")[0].strip() for line in list(lines) if "Listening at" in line}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and booted() != {"web.1", "web.2"}:
            time.sleep(0.5)
        assert follower.poll() is None, follower.stderr.read()
    finally:
        follower.send_signal(signal.SIGINT)
        follower.wait(30)
    assert booted() == {"web.1", "web.2"}, "".join(lines[-20:])
    after = {n: docker("inspect", "--format", "{{.Id}}", stack.container(f"web-{n}")).stdout.strip() for n in (1, 2)}
    assert all(after[n] != before[n] for n in (1, 2))
    assert follower.returncode == 0


def edge_retries(stack) -> bool:
    """Whether the edge retries a request on another copy (lb_try_duration), as the zero-downtime
    edge does: without it no restart can avoid failing the requests in flight to a copy that stops."""
    return "lb_try_duration" in stack.exec("edge", "cat", EDGE_CADDYFILE).stdout


def test_restart_under_load_fails_no_request(stack):
    assert edge_retries(stack), "the generated edge retries another copy"
    host = f"web.{STACK}.localhost"
    assert stack.address.startswith("127.")
    ca = edge_root_ca(stack)
    retry(lambda: https(host, "/healthz", ca_pem=ca, address=stack.address), seconds=90)
    before = {n: docker("inspect", "--format", "{{.State.StartedAt}}", stack.container(f"web-{n}")).stdout for n in (1, 2)}
    with BoundedLoad(host, ca, stack.address, path="/healthz", max_requests=LOAD_REQUESTS_MAX,
                     max_seconds=LOAD_SECONDS_MAX) as load:
        time.sleep(2)
        restarted = flashdrive("restart", "web", "--deployed", STACK)
        time.sleep(2)
    print(f"[e2e] {restarted.stdout}", file=sys.stderr)
    assert restarted.returncode == 0, restarted.stderr
    assert "web.1 is up again" in restarted.stdout and "web.2 is up again" in restarted.stdout
    after = {n: docker("inspect", "--format", "{{.State.StartedAt}}", stack.container(f"web-{n}")).stdout for n in (1, 2)}
    assert all(after[n] != before[n] for n in (1, 2))
    ok = len(load.results) - len(load.failures)
    assert ok > 50
    print(f"[e2e] restart under load: {ok} requests, {len(load.failures)} failed", file=sys.stderr)
    assert load.failures == [], f"{len(load.failures)} of {len(load.results)} failed: {load.failures[:5]}"


def test_restart_of_an_unknown_app_names_the_apps(stack):
    unknown = flashdrive("restart", "api", "--deployed", STACK)
    assert unknown.returncode == 1
    assert unknown.stderr.strip().endswith("its apps: web, worker")


def test_an_engine_that_does_not_answer_says_how_to_reach_one(stack):
    env = {**os.environ, "DOCKER_HOST": "tcp://127.0.0.1:9"}
    process = subprocess.run([sys.executable, "-m", "flashdrive", "ps", "--deployed", STACK], cwd=ROOT,
                             capture_output=True, text=True, env=env, timeout=60)
    assert process.returncode == 1
    assert process.stderr.startswith("flashdrive ps: error: no Docker engine answers at tcp://127.0.0.1:9")
