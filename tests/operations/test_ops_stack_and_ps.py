"""ps and stack selection against a fake engine: names, order, health in words, unknown names."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from _ops_fakes import FakeClient, FakeContainer, attrs

from flashdrive.labels import IMAGE_REVISION, LABEL_APP, LABEL_DATABASE, LABEL_ENGINE, LABEL_NODE, LABEL_ROLE
from flashdrive.operations import ps
from flashdrive.operations.engine import OperationError
from flashdrive.operations.stack import DeployedStack, parse_app_node

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
BUILT = "sha256:" + "12" * 32


def shop(stack: str = "shop") -> list[FakeContainer]:
    passed = {"Start": "2026-01-01T11:59:50Z", "End": "2026-01-01T11:59:55.5Z", "ExitCode": 0, "Output": ""}
    refused = {"Start": "2026-01-01T11:59:57Z", "End": "2026-01-01T11:59:58Z", "ExitCode": 1,
               "Output": "Traceback (most recent call last):\n  ...\nConnectionRefusedError: [Errno 111] Connection refused\n"}
    return [FakeContainer(a) for a in (
        attrs(stack, "edge", {LABEL_ROLE: "edge"}),
        attrs(stack, "backup", {LABEL_ROLE: "backup-job"}),
        attrs(stack, "main", {LABEL_DATABASE: "main", LABEL_ENGINE: "postgres"}, health="healthy", probes=[passed]),
        attrs(stack, "web-2", {LABEL_APP: "web", LABEL_NODE: "2", LABEL_ROLE: "web"}, health="unhealthy", probes=[passed, refused],
              restarts=3, image=BUILT),
        attrs(stack, "worker-1", {LABEL_APP: "worker", LABEL_NODE: "1", LABEL_ROLE: "worker"}, image=BUILT, memory_mib=256,
              cpus=0.25),
        attrs(stack, "web-release", {LABEL_APP: "web", LABEL_ROLE: "release"}, running=False, exit_code=0, image=BUILT,
              finished="2026-01-01T11:58:00Z"),
        attrs(stack, "web-1", {LABEL_APP: "web", LABEL_NODE: "1", LABEL_ROLE: "web"}, health="healthy", probes=[passed],
              image=BUILT, started="2026-01-01T09:30:00Z"),
    )]


IMAGES = {BUILT: {"RepoDigests": ["registry.example.com/shop/web@sha256:" + "cd" * 32],
                  "Config": {"Labels": {IMAGE_REVISION: "0123456789abcdef0123456789abcdef01234567"}}}}


def test_ps_lists_each_app_copies_then_release_then_databases_edge_and_backups():
    stack = DeployedStack(FakeClient(shop(), images=IMAGES), "shop")
    names = [row["name"] for row in ps.collect(stack, NOW)]
    assert names == ["web.1", "web.2", "web.release", "worker.1", "main", "edge", "backup-job"]


def test_ps_says_the_last_probe_result_in_words():
    rows = {row["name"]: row for row in ps.collect(DeployedStack(FakeClient(shop(), images=IMAGES), "shop"), NOW)}
    assert rows["web.1"]["last_probe"]["words"] == "passed 4s ago"
    assert rows["web.2"]["health"] == "unhealthy"
    assert rows["web.2"]["last_probe"]["words"] == "failed 2s ago: ConnectionRefusedError: [Errno 111] Connection refused"
    assert rows["worker.1"]["health"] is None and rows["worker.1"]["last_probe"] is None
    timeout = {"End": "2026-01-01T11:59:59Z", "ExitCode": -1, "Output": "Health check exceeded timeout (5s)"}
    assert ps.last_probe({"Log": [timeout]}, NOW)["words"] == "timed out 1s ago"


def test_ps_rows_carry_restarts_uptime_image_digest_commit_and_size():
    rows = {row["name"]: row for row in ps.collect(DeployedStack(FakeClient(shop(), images=IMAGES), "shop"), NOW)}
    web1, web2, release, worker = rows["web.1"], rows["web.2"], rows["web.release"], rows["worker.1"]
    assert web2["restarts"] == 3 and web1["restarts"] == 0
    assert web1["uptime_s"] == 2 * 3600 + 30 * 60
    assert release["uptime_s"] is None and release["state"] == "exited" and release["exit_code"] == 0
    assert web1["image"]["digest"] == "sha256:" + "cd" * 32
    assert web1["image"]["revision"].startswith("0123456789ab")
    assert rows["main"]["image"]["digest"] is None  # an image the engine knows by id only
    assert worker["size"] == {"cpus": 0.25, "memory_mib": 256, "processes": 256}


def test_ps_text_shows_one_line_per_container_with_status_health_and_commit():
    stack = DeployedStack(FakeClient(shop(), images=IMAGES), "shop")
    text = ps.render_text("shop", ps.collect(stack, NOW), NOW)
    lines = {line.split()[0]: line for line in text.splitlines()[3:]}
    assert "up 2h30m" in lines["web.1"] and "healthy, passed 4s ago" in lines["web.1"]
    assert "sha256:cdcdcdcdcdcd (0123456789ab)" in lines["web.1"] and "0.5 CPU, 512 MiB" in lines["web.1"]
    assert "exited (0) 2m ago" in lines["web.release"]
    assert "unhealthy, failed 2s ago" in lines["web.2"]


def test_ps_json_is_one_document_with_the_stack_and_its_containers():
    stack = DeployedStack(FakeClient(shop(), images=IMAGES), "shop")
    document = json.loads(ps.render_json("shop", ps.collect(stack, NOW)))
    assert document["stack"] == "shop"
    assert {c["container"] for c in document["containers"]} == {c.name for c in shop()}


def test_an_unknown_stack_names_the_stacks_on_the_engine():
    client = FakeClient(shop("shop") + shop("blog"))
    with pytest.raises(OperationError, match=r"no stack 'shoop' on the engine at .*; stacks there: blog, shop$"):
        DeployedStack(client, "shoop")
    with pytest.raises(OperationError, match="no flashdrive stack is deployed there"):
        DeployedStack(FakeClient([]), "shop")


def test_an_unknown_app_or_copy_names_the_ones_that_exist():
    stack = DeployedStack(FakeClient(shop()), "shop")
    with pytest.raises(OperationError, match=r"stack 'shop' has no app 'api'; its apps: web, worker$"):
        stack.copies("api")
    with pytest.raises(OperationError, match=r"app 'web' has no copy 3 .*; its copies: web.1, web.2$"):
        stack.copy("web", 3)
    assert stack.copy("web", None).display == "web.1"
    assert stack.copy("web", 2).display == "web.2"


def test_exec_without_a_number_takes_the_first_running_copy():
    containers = shop()
    for container in containers:
        if container.name == "shop-web-1":
            container.attrs["State"]["Running"] = False
    assert DeployedStack(FakeClient(containers), "shop").copy("web", None).display == "web.2"


@pytest.mark.parametrize("text, expected", [("web", ("web", None)), ("web.2", ("web", 2))])
def test_app_and_copy_number_are_read_from_app_dot_n(text, expected):
    assert parse_app_node(text) == expected


@pytest.mark.parametrize("text", ["web.0", "web.x", "web."])
def test_a_bad_copy_number_is_one_line(text):
    with pytest.raises(OperationError, match="is not APP or APP.N"):
        parse_app_node(text)


@pytest.mark.parametrize("seconds, text", [(5, "5s"), (65, "1m5s"), (3600, "1h"), (3 * 86400 + 7200, "3d2h")])
def test_durations_read_like_a_human_would_say_them(seconds, text):
    assert ps.duration(seconds) == text
