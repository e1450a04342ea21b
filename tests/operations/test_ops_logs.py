"""logs against a fake engine: merged in time order, prefixed, and followed across a replacement."""

from __future__ import annotations

import io
import threading
import time
from datetime import UTC, datetime

import pytest
from _ops_fakes import FakeClient, FakeContainer, attrs

from flashdrive.labels import LABEL_APP, LABEL_NODE, LABEL_ROLE
from flashdrive.operations import logs
from flashdrive.operations.engine import OperationError
from flashdrive.operations.stack import DeployedStack


def copy(node: int, chunks: list[bytes], *, app: str = "web", running: bool = True,
         started: str = "2026-01-01T11:00:00Z") -> FakeContainer:
    return FakeContainer(attrs("shop", f"{app}-{node}", {LABEL_APP: app, LABEL_NODE: str(node), LABEL_ROLE: "web"},
                               running=running, started=started), logs=chunks)


def test_lines_of_both_copies_come_merged_in_time_order_with_their_prefix():
    # Chunks need not end at a line; the engine trims trailing zeros off the fraction.
    one = copy(1, [b"2026-01-01T11:00:00.1Z booting\n2026-01-01T11:00:0", b"2.000000003Z GET /a\n"])
    two = copy(2, [b"2026-01-01T11:00:00.05Z booting\n2026-01-01T11:00:01.9Z GET /b\n"])
    worker = copy(1, [b"2026-01-01T11:00:01Z waiting\n"], app="worker")
    out = io.StringIO()
    logs.show(DeployedStack(FakeClient([one, two, worker]), "shop"), None, out=out)
    assert out.getvalue().splitlines() == [
        "web.2    | booting", "web.1    | booting", "worker.1 | waiting", "web.2    | GET /b", "web.1    | GET /a"]


def test_one_app_only_and_since_and_tail_reach_the_engine():
    one = copy(1, [b"2026-01-01T11:00:00Z a\n"])
    worker = copy(1, [b"2026-01-01T11:00:01Z w\n"], app="worker")
    out = io.StringIO()
    logs.show(DeployedStack(FakeClient([one, worker]), "shop"), "web", since=1767265200.0, tail=5, out=out)
    assert out.getvalue() == "web.1 | a\n"
    assert one.log_calls[0]["since"] == 1767265200.0 and one.log_calls[0]["tail"] == 5
    assert one.log_calls[0]["timestamps"] and not one.log_calls[0]["follow"]
    assert worker.log_calls == []


def test_an_unknown_app_names_the_apps():
    with pytest.raises(OperationError, match="its apps: web$"):
        logs.show(DeployedStack(FakeClient([copy(1, [])]), "shop"), "wbe", out=io.StringIO())


def test_since_takes_durations_and_times():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert logs.parse_since("10m", now) == now.timestamp() - 600
    assert logs.parse_since("1d", now) == now.timestamp() - 86400
    assert logs.parse_since("2026-01-01T11:00:00Z", now) == now.timestamp() - 3600
    with pytest.raises(OperationError, match="neither a duration"):
        logs.parse_since("yesterday", now)


def test_follow_picks_up_the_copy_a_deploy_replaces():
    old = copy(1, [b"2026-01-01T11:00:00Z old copy\n"])
    # The deploy removed web-1 and created a new container under the same name.
    new = copy(1, [b"2026-01-01T11:05:00Z new copy\n"], started="2026-01-01T11:04:59Z")
    client = FakeClient([old], [old], [new])
    out = io.StringIO()
    stop = threading.Event()
    stack = DeployedStack(client, "shop")
    thread = threading.Thread(target=logs.show, args=(stack, "web"),
                              kwargs={"follow": True, "out": out, "stop": stop, "poll_seconds": 0.05})
    thread.start()
    deadline = time.monotonic() + 5
    while "new copy" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(5)
    assert out.getvalue().splitlines() == ["web.1 | old copy", "web.1 | new copy"]
    assert new.log_calls[0]["follow"] is True
    assert new.log_calls[0]["since"] == datetime(2026, 1, 1, 11, 4, 58, tzinfo=UTC).timestamp()


def test_follow_does_not_repeat_what_a_restarted_copy_printed_before():
    same = copy(1, [b"2026-01-01T11:00:00Z before\n", b"2026-01-01T11:00:09Z after restart\n"])
    client = FakeClient([same])
    out = io.StringIO()
    stop = threading.Event()
    shown = logs.Line(logs.time_key("2026-01-01T11:00:00Z"), "web.1", "before")
    follower = logs.Follower(DeployedStack(client, "shop"), "web", logs.Printer(out, 5), [shown], 0.05)
    thread = threading.Thread(target=follower.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 5
    while "after restart" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # a few more polls, each reopening the stream from where it was
    stop.set()
    thread.join(5)
    assert out.getvalue().splitlines() == ["web.1 | after restart"]
    assert "before" not in out.getvalue()
