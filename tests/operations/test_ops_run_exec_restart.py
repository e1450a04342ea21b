"""run, exec and restart against a fake engine: what a one-off gets, exit codes, cleanup, order."""

from __future__ import annotations

import io

import pytest
from _ops_fakes import FakeClient, FakeContainer, attrs, stack_network

from flashdrive.labels import LABEL_APP, LABEL_NODE, LABEL_ROLE, ROLE_RUN
from flashdrive.operations import restart as restarting
from flashdrive.operations import runner
from flashdrive.operations.engine import OperationError
from flashdrive.operations.stack import DeployedStack

SECRET = "DATABASE_URL=postgres://web:s3cret@main:5432/web"


def web(node: int, **extra) -> FakeContainer:
    settings = dict(env=[SECRET, f"FLASHDRIVE_NODE={node}", "PORT=8000"],
                    networks=("shop-internal", "shop-edge", "shop-egress"),
                    binds=["shop-disk-media:/app/media"])
    settings.update(extra)
    return FakeContainer(attrs("shop", f"web-{node}", {LABEL_APP: "web", LABEL_NODE: str(node), LABEL_ROLE: "web"}, **settings))


def client_with(*containers: FakeContainer) -> FakeClient:
    networks = [stack_network("shop", role) for role in ("internal", "edge", "public", "egress")]
    return FakeClient(list(containers), networks=networks)


def test_a_one_off_gets_the_apps_image_env_disks_size_and_every_network_but_the_edges():
    client = client_with(web(1), web(2))
    client.output = [(b"ok\n", None)]
    code = runner.run(DeployedStack(client, "shop"), "web", ["python", "manage.py", "migrate", "--check"],
                      tty=False, out=io.BytesIO(), err=io.BytesIO())
    assert code == 0
    created = client.containers.created[0]
    assert created["command"] == ["python", "manage.py", "migrate", "--check"]
    assert SECRET in created["environment"] and "FLASHDRIVE_NODE=run" in created["environment"]
    assert "FLASHDRIVE_NODE=1" not in created["environment"]
    assert created["volumes"] == ["shop-disk-media:/app/media"]
    assert created["mem_limit"] == 512 * 1024 * 1024 and created["nano_cpus"] == 500_000_000
    assert created["cap_drop"] == ["ALL"] and created["security_opt"] == ["no-new-privileges:true"]
    assert created["user"] == "10001:10001" and created["labels"][LABEL_ROLE] == ROLE_RUN
    assert created["network"] == "shop-internal"
    assert client.networks.get("shop-egress").connected == [created["name"]]
    assert client.networks.get("shop-edge").connected == []  # never reachable from the edge
    assert created["tty"] is False
    assert client.made[0].removed


def test_the_one_off_exit_code_is_the_commands_and_its_output_goes_through():
    client = client_with(web(1))
    client.exit_code = 3
    client.output = [(b"out\n", None), (None, b"err\n")]
    out, err = io.BytesIO(), io.BytesIO()
    assert runner.run(DeployedStack(client, "shop"), "web", ["false"], tty=False, out=out, err=err) == 3
    assert out.getvalue() == b"out\n" and err.getvalue() == b"err\n"


def test_the_one_off_is_removed_when_interrupted():
    client = client_with(web(1))

    def interrupted():
        yield (b"working\n", None)
        raise KeyboardInterrupt
    client.api.attach = lambda *args, **kwargs: interrupted()
    with pytest.raises(KeyboardInterrupt):
        runner.run(DeployedStack(client, "shop"), "web", ["sleep", "60"], tty=False, out=io.BytesIO())
    assert client.made[0].removed


def test_a_one_off_needs_a_command_and_a_known_app():
    stack = DeployedStack(client_with(web(1)), "shop")
    with pytest.raises(OperationError, match="no command"):
        runner.run(stack, "web", [], tty=False)
    with pytest.raises(OperationError, match="its apps: web$"):
        runner.run(stack, "api", ["true"], tty=False)


def test_exec_runs_in_the_named_copy_and_returns_its_exit_code():
    client = client_with(web(1), web(2))
    client.exit_code = 7
    stack = DeployedStack(client, "shop")
    assert runner.exec_in(stack, stack.copy("web", 2), ["sh", "-c", "exit 7"], tty=False, out=io.BytesIO()) == 7
    ident, command, options = client.execs[0]
    assert ident == stack.copy("web", 2).id and command == ["sh", "-c", "exit 7"] and options["tty"] is False


def healthy_after(container: FakeContainer, statuses: list[str]) -> FakeContainer:
    container.states = [{"State": {"Running": True, "Status": "running", "Health": {"Status": s, "Log": []}}}
                        for s in statuses]
    return container


def test_restart_takes_one_copy_at_a_time_each_healthy_before_the_next():
    events: list[str] = []
    one, two = healthy_after(web(1), ["starting", "healthy"]), healthy_after(web(2), ["healthy"])
    for container in (one, two):
        container.events = events

    def wait(member, within):
        seconds = restarting.wait_ready(member, within=within, sleep=lambda s: None)
        events.append(f"healthy {member.name}")
        return seconds
    restarting.restart(DeployedStack(client_with(one, two), "shop"), "web", out=io.StringIO(), wait=wait)
    assert events == ["restart shop-web-1", "healthy shop-web-1", "restart shop-web-2", "healthy shop-web-2"]


def test_restart_stops_at_a_copy_that_does_not_come_back():
    one, two = healthy_after(web(1), ["starting", "unhealthy"]), web(2)

    def wait(member, within):
        return restarting.wait_ready(member, within=within, sleep=lambda s: None)
    with pytest.raises(OperationError, match="web.1 is unhealthy.*the copies after it were not touched"):
        restarting.restart(DeployedStack(client_with(one, two), "shop"), "web", out=io.StringIO(), wait=wait)
    assert two.restarted == []


def test_a_copy_that_never_gets_healthy_times_out():
    ticks = iter(range(0, 1000, 10))
    member = DeployedStack(client_with(healthy_after(web(1), ["starting"] * 100)), "shop").copy("web", 1)
    with pytest.raises(OperationError, match="not healthy after 60s"):
        restarting.wait_ready(member, within=60, clock=lambda: next(ticks), sleep=lambda s: None)


def test_the_wait_for_health_follows_the_copys_health_check():
    check = {"Test": ["CMD", "true"], "Interval": 10 * 10**9, "Timeout": 5 * 10**9, "StartPeriod": 60 * 10**9,
             "Retries": 5}
    member = DeployedStack(client_with(web(1, healthcheck=check)), "shop").copy("web", 1)
    assert restarting.ready_within(member) == 60 + 15 * 6


CADDYFILE = """\
(app-web) {
\treverse_proxy web-1:8000 web-2:8000 {
\t\thealth_interval 10s
\t\thealth_timeout 5s
\t\tfail_duration 30s
\t}
}
"""


def test_a_web_copy_is_back_in_the_edges_rotation_before_the_next_one_stops():
    edge = FakeContainer(attrs("shop", "edge", {LABEL_ROLE: "edge"}))
    events: list[str] = []
    one, two = web(1), web(2)
    for container in (one, two):
        container.events = events
    client = client_with(one, two, edge)
    client.exec_output = CADDYFILE.encode()
    out = io.StringIO()
    restarting.restart(DeployedStack(client, "shop"), "web", out=out, wait=lambda member, within: 1.0,
                       sleep=lambda seconds: events.append(f"wait {seconds:g}s"))
    assert events == ["restart shop-web-1", "wait 31s", "restart shop-web-2"]
    assert client.execs[0][1] == ["cat", "/data/Caddyfile"]
    assert "waiting 31s for the edge to send requests to web.1 again" in out.getvalue()


def test_workers_restart_without_waiting_for_the_edge():
    edge = FakeContainer(attrs("shop", "edge", {LABEL_ROLE: "edge"}))
    workers = [FakeContainer(attrs("shop", f"worker-{n}", {LABEL_APP: "worker", LABEL_NODE: str(n), LABEL_ROLE: "worker"}))
               for n in (1, 2)]
    client = client_with(*workers, edge)
    client.exec_output = CADDYFILE.encode()
    waits: list[float] = []
    restarting.restart(DeployedStack(client, "shop"), "worker", out=io.StringIO(), wait=lambda member, within: 1.0,
                       sleep=waits.append)
    assert waits == [] and all(w.restarted for w in workers)


@pytest.mark.parametrize("caddyfile, seconds", [(CADDYFILE, 31), ("\t\thealth_interval 500ms\n", 1.5), ("", 0)])
def test_the_edge_rejoin_wait_is_read_from_its_caddyfile(caddyfile, seconds):
    assert restarting.edge_rejoin_seconds(caddyfile) == seconds
