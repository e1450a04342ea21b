"""`flashdrive logs`: the copies' logs merged in time order, each line prefixed `web.1 |`.

Following (-f) reads each container's stream in a thread and looks for new containers every
second: a copy that a deploy replaces (a new container under the same name) or restarts is
picked up from the moment it started, so nothing it printed is missed.
"""

from __future__ import annotations

import heapq
import queue
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from msgspec import Struct

from flashdrive.labels import ROLE_RELEASE
from flashdrive.operations.engine import OperationError, parse_time
from flashdrive.operations.stack import DeployedStack, Member

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str | None, now: datetime | None = None) -> float | None:
    """`10m`, `2h`, `1d`, `30s`, or an RFC 3339 time -> a UNIX timestamp."""
    if not text:
        return None
    now = now or datetime.now(UTC)
    match = _DURATION.match(text.strip())
    if match:
        return (now - timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])).timestamp()
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise OperationError(
            f"--since '{text}' is neither a duration (30s, 10m, 2h, 1d) nor a time (2026-05-01T12:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def time_key(stamp: str) -> str:
    """A sortable key for the engine's timestamps, whose fraction may lose its trailing zeros."""
    head, dot, rest = stamp.rstrip("Z").partition(".")
    fraction = rest.split("+")[0].split("-")[0] if dot else ""
    return f"{head}.{fraction.ljust(9, '0')}"


class Line(Struct, frozen=True):
    key: str
    source: str
    text: str


def split_lines(chunks: Iterable[bytes]) -> Iterator[tuple[str, str]]:
    """The engine's stream (timestamped, in chunks that need not end at a line) -> (stamp, text)."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            yield _stamped(raw)
    if pending:
        yield _stamped(pending)


def _stamped(raw: bytes) -> tuple[str, str]:
    text = raw.decode("utf-8", errors="replace").rstrip("\r")
    stamp, _, rest = text.partition(" ")
    return stamp, rest


def log_sources(stack: DeployedStack, app: str | None) -> list[Member]:
    """An app's copies and its release (every app's without APP)."""
    if app is not None:
        stack.check_app(app)
    return [
        m
        for m in stack.members
        if m.app is not None and (app is None or m.app == app) and (m.is_copy or m.role == ROLE_RELEASE)
    ]


def _read(member: Member, *, since: float | None, tail: int | None, follow: bool) -> Any:
    kwargs: dict = {
        "stdout": True,
        "stderr": True,
        "timestamps": True,
        "stream": True,
        "follow": follow,
        "tail": tail if tail is not None else "all",
    }
    if since is not None:
        kwargs["since"] = float(since)
    return member.container.logs(**kwargs)


def backlog(sources: list[Member], *, since: float | None, tail: int | None) -> list[Line]:
    """What the sources printed so far, merged in time order."""
    per_source = []
    for member in sources:
        try:
            lines = [
                Line(time_key(stamp), member.display, text)
                for stamp, text in split_lines(_read(member, since=since, tail=tail, follow=False))
            ]
        except Exception:  # noqa: BLE001 - a container removed meanwhile has no logs left to show
            lines = []
        per_source.append(sorted(lines, key=lambda line: line.key))
    return list(heapq.merge(*per_source, key=lambda line: line.key))


class Printer:
    def __init__(self, out: IO[str], width: int):
        self.out, self.width = out, width

    def print(self, line: Line) -> None:
        self.width = max(self.width, len(line.source))
        self.out.write(f"{line.source.ljust(self.width)} | {line.text}\n")


def show(
    stack: DeployedStack,
    app: str | None,
    *,
    since: float | None = None,
    tail: int | None = None,
    follow: bool = False,
    out: IO[str] | None = None,
    stop: threading.Event | None = None,
    poll_seconds: float = 1.0,
) -> None:
    out = out or sys.stdout  # looked up at call time: a caller may have replaced it
    sources = log_sources(stack, app)
    printer = Printer(out, max((len(m.display) for m in sources), default=0))
    lines = backlog(sources, since=since, tail=tail)
    for line in lines:
        printer.print(line)
    out.flush()
    if follow:
        Follower(stack, app, printer, lines, poll_seconds).run(stop or threading.Event())


class Follower:
    """Streams of the running sources; new and restarted containers joined as they start."""

    def __init__(self, stack: DeployedStack, app: str | None, printer: Printer, shown: list[Line], poll_seconds: float):
        self.stack, self.app, self.printer, self.poll = stack, app, printer, poll_seconds
        self.lines: queue.Queue = queue.Queue()
        self.active: dict[str, Any] = {}  # container id -> its open stream
        self.last: dict[str, str] = {}  # container id -> key of the last line shown
        self.lock = threading.Lock()
        self.started_at = time.time()
        for member in log_sources(stack, app):
            mine = [line for line in shown if line.source == member.display]
            if mine:
                self.last[member.id] = mine[-1].key

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self._join_new()
                deadline = time.monotonic() + self.poll
                while not stop.is_set() and time.monotonic() < deadline:
                    try:
                        line = self.lines.get(timeout=0.1)
                    except queue.Empty:
                        continue
                    self.printer.print(line)
                    self.printer.out.flush()
        finally:
            with self.lock:
                streams = list(self.active.values())
                self.active.clear()
            for stream in streams:
                close = getattr(stream, "close", None)
                if close:
                    close()

    def _join_new(self) -> None:
        try:
            self.stack.refresh()
        except Exception:  # noqa: BLE001 - the engine hiccuped: try again at the next poll
            return
        for member in log_sources(self.stack, self.app):
            with self.lock:
                if member.id in self.active or not member.running:
                    continue
            if member.id in self.last:
                since = _key_seconds(self.last[member.id])  # restarted: from where we were
            else:
                started = parse_time((member.attrs.get("State") or {}).get("StartedAt"))
                since = (started.timestamp() - 1) if started else self.started_at
            try:
                stream = _read(member, since=since, tail=None, follow=True)
            except Exception:  # noqa: BLE001 - removed between the listing and now
                continue
            with self.lock:
                self.active[member.id] = stream
            threading.Thread(target=self._pump, args=(member, stream), daemon=True).start()

    def _pump(self, member: Member, stream: Any) -> None:
        try:
            for stamp, text in split_lines(stream):
                key = time_key(stamp)
                if key <= self.last.get(member.id, ""):
                    continue  # already shown before the container restarted
                self.last[member.id] = key
                self.lines.put(Line(key, member.display, text))
        except Exception:  # noqa: BLE001 - the stream ends when the container stops or is removed
            pass
        finally:
            with self.lock:
                self.active.pop(member.id, None)


def _key_seconds(key: str) -> float:
    head, _, fraction = key.partition(".")
    moment = datetime.fromisoformat(head + "+00:00")
    return moment.timestamp() + float(f"0.{fraction}" if fraction else 0)
