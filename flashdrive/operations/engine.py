"""The Docker engine client the operations share, and the one-line errors they raise."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from flashdrive.problems import FlashdriveError


class OperationError(FlashdriveError):
    """A one-line explanation for the operator; the CLI prints it and exits 1."""


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def unreachable(detail: str = "") -> OperationError:
    why = f" ({detail})" if detail else ""
    return OperationError(
        f"no Docker engine answers at {engine_address()}{why}: start it (`systemctl start docker`), "
        "or point DOCKER_HOST at one (ssh://user@host, tcp://host:2376 with DOCKER_TLS_VERIFY=1)"
    )


def connect() -> Any:
    """A client for the engine DOCKER_HOST names (the local socket without it), checked to answer."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:  # pragma: no cover - a dependency of flashdrive
        raise OperationError("the Docker SDK for Python is missing: pip install 'docker>=7.1'") from None
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except DockerException as exc:
        raise unreachable(_short(exc)) from None
    except Exception as exc:  # noqa: BLE001 - connection errors of requests or ssh: the engine is not there
        raise unreachable(_short(exc)) from None
    # The 30 s above bounds the first answer only: a one-off, an exec or a followed log may stay
    # silent for longer than any read timeout, as the docker CLI lets them.
    client.api.timeout = None
    return client


_CAUSES = (  # what the SDK's nested exceptions mean, in the words an operator needs
    ("Permission denied", "permission denied: run as root or as a member of the docker group"),
    ("FileNotFoundError", "no socket there"),
    ("No such file", "no socket there"),
    ("Connection refused", "connection refused"),
    ("NewConnectionError", "cannot connect"),
    ("timed out", "no answer in time"),
    ("Timeout", "no answer in time"),
)


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    for needle, words in _CAUSES:
        if needle in text:
            return words
    first = text.splitlines()[0] if text else type(exc).__name__
    return first if len(first) <= 120 else first[:119] + "…"


def parse_time(value: str | None) -> datetime | None:
    """The engine's RFC 3339 times (nanoseconds, Z); None for the zero time of a never-started container."""
    if not value or value.startswith("0001-"):
        return None
    text = value.rstrip("Z")
    offset = "+00:00"
    if "+" in text[10:] or "-" in text[10:]:
        cut = max(text.rfind("+"), text.rfind("-"))
        text, offset = text[:cut], text[cut:]
    if "." in text:
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    return datetime.fromisoformat(text + offset).astimezone(UTC)
