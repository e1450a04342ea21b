"""`flashdrive restart APP`: the copies restarted one at a time, each healthy before the next.

A copy stops with SIGTERM first (gunicorn finishes the requests it holds), and the next copy is
touched only once this one's health check passes again, so at most one copy is ever out; a copy
that does not come back stops the restart with the others still serving.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO

from flashdrive.operations.engine import OperationError
from flashdrive.operations.ps import last_probe
from flashdrive.operations.stack import DeployedStack, Member

STOP_TIMEOUT_S = 30          # SIGTERM, then SIGKILL after this long
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


def wait_ready(member: Member, *, within: float, clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep) -> float:
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
    return OperationError(f"{member.display} is {why}{said}; the copies after it were not touched: "
                          f"see `flashdrive logs {member.app}`")


def restart(stack: DeployedStack, app: str, *, out: IO[str] = sys.stdout, stop_timeout: int = STOP_TIMEOUT_S,
            wait: Callable[..., float] = wait_ready) -> list[tuple[str, float]]:
    copies = stack.copies(app)
    if not copies:
        raise OperationError(f"app '{app}' has no copies in stack '{stack.name}'")
    done = []
    for member in copies:
        out.write(f"restarting {member.display} ({member.name}) ...\n")
        out.flush()
        member.container.restart(timeout=stop_timeout)
        seconds = wait(member, within=ready_within(member))
        out.write(f"{member.display} is up again ({seconds:.1f}s)\n")
        out.flush()
        done.append((member.display, seconds))
    return done
