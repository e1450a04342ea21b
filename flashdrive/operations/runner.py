"""`flashdrive run` (a one-off container like the app's copies) and `flashdrive exec` (in a copy).

The one-off takes its image, env (secrets included), networks, disks and size from a copy's
configuration through the engine API: secrets travel from the engine to the engine, never through
a command line or this terminal. It joins every stack network of the app except the edge's, and
takes no network alias, so neither the edge nor other apps can reach it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import select
import signal
import socket
import sys
from collections.abc import Iterator
from typing import IO, Any

from flashdrive.labels import LABEL_APP, LABEL_ROLE, LABEL_STACK, NETWORK_EDGE, ROLE_RUN
from flashdrive.operations.engine import OperationError
from flashdrive.operations.stack import DeployedStack, Member


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def one_off_settings(stack: DeployedStack, app: str, command: list[str], *, tty: bool) -> tuple[dict, list[str]]:
    """containers.create() arguments for a one-off of `app`, and the networks to join after the first."""
    template = stack.template(app)
    config, host = template.attrs.get("Config") or {}, template.attrs.get("HostConfig") or {}
    roles = stack.network_roles()
    networks = [
        name
        for name in (template.attrs.get("NetworkSettings") or {}).get("Networks") or {}
        if name in roles and roles[name] != NETWORK_EDGE
    ]
    env = [item for item in config.get("Env") or [] if not item.startswith("FLASHDRIVE_NODE=")]
    env.append("FLASHDRIVE_NODE=run")
    name = f"{stack.name}-{app}-run-{secrets.token_hex(3)}"
    settings: dict = {
        "image": template.attrs.get("Image") or config.get("Image"),  # the copy's exact image, by id
        "command": command,
        "name": name,
        "hostname": f"{app}-run",
        "environment": env,
        "user": config.get("User") or None,
        "working_dir": config.get("WorkingDir") or None,
        "labels": {LABEL_STACK: stack.name, LABEL_APP: app, LABEL_ROLE: ROLE_RUN},
        "volumes": list(host.get("Binds") or []),
        "mounts": list(host.get("Mounts") or []),
        "network": networks[0] if networks else "none",
        "init": host.get("Init"),
        "mem_limit": host.get("Memory") or None,
        "memswap_limit": host.get("MemorySwap") or None,
        "nano_cpus": host.get("NanoCpus") or None,
        "pids_limit": host.get("PidsLimit") or None,
        "ulimits": [_ulimit(u) for u in host.get("Ulimits") or []],
        "cap_drop": host.get("CapDrop") or None,
        "cap_add": host.get("CapAdd") or None,
        "security_opt": host.get("SecurityOpt") or None,
        "read_only": bool(host.get("ReadonlyRootfs")),
        "tmpfs": host.get("Tmpfs") or None,
        "log_config": host.get("LogConfig") or None,
        "tty": tty,
        "stdin_open": tty,
    }
    return {k: v for k, v in settings.items() if v is not None}, networks[1:]


def _ulimit(raw: dict) -> Any:
    from docker.types import Ulimit

    return Ulimit(name=raw["Name"], soft=raw["Soft"], hard=raw["Hard"])


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP end a one-off like Ctrl-C does: through the cleanup."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        try:
            previous[signum] = signal.signal(signum, interrupt)
        except ValueError:  # not the main thread: leave signals alone
            pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run(
    stack: DeployedStack,
    app: str,
    command: list[str],
    *,
    tty: bool | None = None,
    out: IO[bytes] | None = None,
    err: IO[bytes] | None = None,
) -> int:
    """Run `command` in a one-off container of `app`; its exit code; the container is always removed."""
    if not command:
        raise OperationError("no command: write `flashdrive run APP -- COMMAND...`, e.g. `-- python manage.py shell`")
    stack.check_app(app)
    tty = interactive() if tty is None else tty
    settings, more_networks = one_off_settings(stack, app, command, tty=tty)
    client = stack.client
    container = None
    with _signals_interrupt():
        try:
            container = client.containers.create(**settings)
            for network in more_networks:
                client.networks.get(network).connect(container)
            if tty:
                attached = client.api.attach_socket(
                    container.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
                )
                container.start()
                _resize(client.api.resize, container.id)
                _pump(attached)
            else:
                stream = client.api.attach(container.id, stdout=True, stderr=True, stream=True, logs=True, demux=True)
                container.start()
                copy_demuxed(stream, out, err)
            return int(container.wait().get("StatusCode", 1))
        finally:
            if container is not None:
                with contextlib.suppress(Exception):
                    container.remove(force=True, v=True)  # v: anonymous volumes only; disks are named


def exec_in(
    stack: DeployedStack,
    member: Member,
    command: list[str],
    *,
    tty: bool | None = None,
    out: IO[bytes] | None = None,
    err: IO[bytes] | None = None,
) -> int:
    """Run `command` inside a running copy; its exit code."""
    if not command:
        raise OperationError("no command: write `flashdrive exec APP[.N] -- COMMAND...`, e.g. `-- sh`")
    if not member.running:
        raise OperationError(
            f"{member.display} is not running ({(member.attrs.get('State') or {}).get('Status')}): "
            f"`flashdrive restart {member.app} --deployed {stack.name}` starts it"
        )
    tty = interactive() if tty is None else tty
    api = stack.client.api
    exec_id = api.exec_create(member.id, command, stdout=True, stderr=True, stdin=tty, tty=tty)["Id"]
    with _signals_interrupt():
        if tty:
            attached = api.exec_start(exec_id, tty=True, socket=True)
            _resize(api.exec_resize, exec_id)
            _pump(attached)
        else:
            copy_demuxed(api.exec_start(exec_id, stream=True, demux=True), out, err)
    code = api.exec_inspect(exec_id).get("ExitCode")
    return 1 if code is None else int(code)


def copy_demuxed(stream, out: IO[bytes] | None, err: IO[bytes] | None) -> None:
    out = out or sys.stdout.buffer
    err = err or sys.stderr.buffer
    for chunk_out, chunk_err in stream:
        if chunk_out:
            out.write(chunk_out)
            out.flush()
        if chunk_err:
            err.write(chunk_err)
            err.flush()


def _resize(resize, ident: str) -> None:
    with contextlib.suppress(Exception):
        size = os.get_terminal_size(sys.stdout.fileno())
        resize(ident, height=size.lines, width=size.columns)


def _pump(attached: Any) -> None:
    """The terminal, raw, wired to the container's TTY until the command ends."""
    import termios
    import tty as ttymod

    sock = getattr(attached, "_sock", attached)
    fd_in, fd_out = sys.stdin.fileno(), sys.stdout.fileno()
    saved = termios.tcgetattr(fd_in)
    ttymod.setraw(fd_in)
    try:
        stdin_open = True
        while True:
            readable, _, _ = select.select([sock] + ([fd_in] if stdin_open else []), [], [])
            if sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                os.write(fd_out, data)
            if fd_in in readable:
                data = os.read(fd_in, 65536)
                if data:
                    sock.sendall(data)
                else:
                    stdin_open = False
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_WR)
    finally:
        termios.tcsetattr(fd_in, termios.TCSADRAIN, saved)
