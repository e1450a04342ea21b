"""`flashdrive restart APP`: the copies restarted one at a time, each healthy before the next.

A copy stops with SIGTERM first (gunicorn finishes the requests it holds), and the next copy is
touched only once this one's health check passes again, so at most one copy is ever out; a copy
that does not come back stops the restart with the others still serving.

A web copy must also be back in the edge's rotation before the next one stops: the edge took it
out when it stopped (its active probe failed, or a request to it did: passive health), and sends
to it again only after its next passing probe and once the passive `fail_duration` is over. The
wait is read from the edge's own Caddyfile, so it follows whatever the edge was deployed with.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import IO

from flashdrive.labels import EDGE_CADDYFILE
from flashdrive.operations.engine import OperationError
from flashdrive.operations.ps import last_probe
from flashdrive.operations.stack import DeployedStack, Member

STOP_TIMEOUT_S = 30  # SIGTERM, then SIGKILL after this long
NO_HEALTHCHECK_SETTLE_S = 3  # a copy without a health check counts as up once it keeps running this long
NANOS = 1_000_000_000


def ready_within(member: Member) -> float:
    """How long a copy may take to be healthy: its start period and enough probes to pass, then some."""
    check = (member.attrs.get("Config") or {}).get("Healthcheck") or {}
    if not check or check.get("Test") in (None, [], ["NONE"]):
        return 60.0
    interval = (check.get("Interval") or 30 * NANOS) / NANOS
    timeout = (check.get("Timeout") or 30 * NANOS) / NANOS
    start = (check.get("StartPeriod") or 0) / NANOS
    retries = check.get("Retries") or 3
    return max(60.0, start + (interval + timeout) * (retries + 1))


def wait_ready(
    member: Member,
    *,
    within: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Seconds until the copy is healthy (or, without a health check, keeps running); raises when it is not."""
    started = clock()
    restarts = None
    running_since = None
    while True:
        member.container.reload()
        member.attrs = member.container.attrs
        state = member.attrs.get("State") or {}
        health = state.get("Health")
        count = member.attrs.get("RestartCount", 0)
        restarts = count if restarts is None else restarts
        elapsed = clock() - started
        if health:
            if health.get("Status") == "healthy":
                return elapsed
            if health.get("Status") == "unhealthy":
                raise _not_ready(member, "unhealthy", health)
        elif state.get("Running") and count == restarts:
            running_since = running_since if running_since is not None else clock()
            if clock() - running_since >= NO_HEALTHCHECK_SETTLE_S:
                return elapsed
        else:
            running_since = None
        if count != restarts and not state.get("Running"):
            raise _not_ready(member, f"exited ({state.get('ExitCode')}) and is restarting", health)
        if elapsed > within:
            raise _not_ready(member, f"not healthy after {within:.0f}s", health)
        sleep(0.5)


def _not_ready(member: Member, why: str, health: dict | None) -> OperationError:
    import datetime

    probe = last_probe(health, datetime.datetime.now(datetime.UTC))
    said = f" (last probe {probe['words']})" if probe else ""
    return OperationError(
        f"{member.display} is {why}{said}; the copies after it were not touched: see `flashdrive logs {member.app}`"
    )


_CADDY_DURATION = re.compile(r"^\s*(fail_duration|health_interval)\s+(\d+(?:\.\d+)?)(ms|s|m|h)\s*$", re.MULTILINE)
_CADDY_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def edge_rejoin_seconds(caddyfile: str) -> float:
    """How long after a copy is healthy the edge may still leave it out: probe interval, passive hold."""
    found = [float(number) * _CADDY_UNITS[unit] for _, number, unit in _CADDY_DURATION.findall(caddyfile)]
    return max(found, default=0.0) + (1.0 if found else 0.0)


def _edge_caddyfile(stack: DeployedStack) -> str:
    edge = next((m for m in stack.members if m.role == "edge" and m.running), None)
    if edge is None:
        return ""
    try:
        api = stack.client.api
        exec_id = api.exec_create(edge.id, ["cat", EDGE_CADDYFILE], stdout=True, stderr=False)["Id"]
        return api.exec_start(exec_id).decode(errors="replace")
    except Exception:  # noqa: BLE001 - no edge configuration to read: no edge to wait for
        return ""


def restart(
    stack: DeployedStack,
    app: str,
    *,
    out: IO[str] | None = None,
    stop_timeout: int = STOP_TIMEOUT_S,
    wait: Callable[..., float] = wait_ready,
    sleep: Callable[[float], None] = time.sleep,
) -> list[tuple[str, float]]:
    out = out or sys.stdout  # looked up at call time: a caller may have replaced it
    copies = stack.copies(app)
    if not copies:
        raise OperationError(f"app '{app}' has no copies in stack '{stack.name}'")
    behind_edge = any(m.role == "web" for m in copies)
    rejoin = edge_rejoin_seconds(_edge_caddyfile(stack)) if behind_edge and len(copies) > 1 else 0.0
    done = []
    for index, member in enumerate(copies):
        out.write(f"restarting {member.display} ({member.name}) ...\n")
        out.flush()
        # The copy's own grace period (shutdown_timeout_s) when it has one: a shorter one would kill
        # requests in flight.
        own = (member.attrs.get("Config") or {}).get("StopTimeout")
        member.container.restart(timeout=own if isinstance(own, int) and own > 0 else stop_timeout)
        seconds = wait(member, within=ready_within(member))
        out.write(f"{member.display} is up again ({seconds:.1f}s)\n")
        out.flush()
        done.append((member.display, seconds))
        if rejoin and index < len(copies) - 1:
            out.write(f"waiting {rejoin:.0f}s for the edge to send requests to {member.display} again\n")
            out.flush()
            sleep(rejoin)
    return done
