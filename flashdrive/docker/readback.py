"""Container inputs written the way pulumi-docker reads them back, so a second `up` is a no-op.

pulumi-docker 5.x bridges terraform-provider-docker v4: after creating a container it inspects it
and stores what Docker reports, and the next `up` diffs the program's inputs against that. An
input written differently from the read-back (`"1"` against `"1.0"`) is a change, and for a
ForceNew field a replacement on every run. The read-back rules (internal/provider/
resource_docker_container_funcs.go, resourceDockerContainerRead; helpers.go):
- `cpus`: NanoCPUs formatted by nanoInt64ToDecimalString: whole numbers with one decimal
  ("1.0", "2.0"), fractions without trailing zeros ("0.5", "0.25").
- healthcheck durations: Go's time.Duration.String(): "30s", "1m0s", "1m30s", "1h0m0s".
- memory and memory_swap: bytes / 1024 / 1024, so MiB as whole numbers.
"""

from __future__ import annotations

from decimal import Decimal


def cpus(value: float) -> str:
    """A CPU count as the provider reads it back."""
    text = format(Decimal(str(value)).normalize(), "f")
    return text if "." in text else f"{text}.0"


def duration(seconds: int) -> str:
    """Whole seconds as Go's time.Duration.String() writes them."""
    if seconds < 0:
        raise ValueError(f"negative duration: {seconds}")
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
