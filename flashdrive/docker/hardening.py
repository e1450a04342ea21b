"""Settings every container of a stack gets: least privilege, bounded logs, restarts."""

from __future__ import annotations

from collections.abc import Iterable

import pulumi_docker as docker

from flashdrive.docker import readback
from flashdrive.spec.sizes import Size

# The official database and redis images start as root to fix ownership of their data
# directory, then drop to their own user with gosu: that needs these back. And KILL: the init
# process (root, see `init` below) must forward `docker stop`'s signal to a server that now runs
# as another user; without it the init exits on EPERM and the server dies unclean (Postgres:
# "database system was not properly shut down" on the next start).
DATA_IMAGE_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"]
# Caddy binds 80 and 443, which are privileged ports.
EDGE_CAPABILITIES = ["NET_BIND_SERVICE"]


def one_off_flags(
    *,
    memory: str,
    cpus: float | None = None,
    add_capabilities: Iterable[str] = (),
    pids_limit: int | None = None,
    init: bool = True,
    log_files: int | None = 3,
) -> list[str]:
    """`docker run`/`create` flags of a one-off container (a release, an upgrade's copy, a seed):
    what `hardened` gives a long-running one, as the CLI spells it, never restarted. `log_files`:
    the json-file logs kept (None: Docker's default). `memory` as the CLI takes it (`512m`, `1g`), no
    swap beyond it."""
    flags = ["--cap-drop=ALL", *(f"--cap-add={c}" for c in sorted(add_capabilities))]
    flags += ["--security-opt=no-new-privileges:true", *(["--init"] if init else []), "--restart=no"]
    flags += [f"--memory={memory}", f"--memory-swap={memory}"]
    flags += [f"--cpus={readback.cpus(cpus)}"] if cpus is not None else []
    # A real per-container limit: the CLI has it, pulumi-docker's Container has not.
    flags += [f"--pids-limit={pids_limit}"] if pids_limit is not None else []
    flags += ["--log-driver=json-file", "--log-opt=max-size=10m"]
    return flags + ([f"--log-opt=max-file={log_files}"] if log_files is not None else [])


def hardened(
    *, size: Size | None = None, add_capabilities: list[str] | None = None, restart: str = "unless-stopped"
) -> dict:
    """Container arguments shared by every long-running container; never privileged, no socket."""
    args: dict = dict(
        capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"], adds=sorted(add_capabilities or [])),
        security_opts=["no-new-privileges:true"],
        privileged=False,
        restart=restart,
        log_driver="json-file",
        log_opts={"max-size": "10m", "max-file": "3"},
        init=True,  # reaps zombies and forwards signals for shells started from a Procfile
    )
    if size is not None:
        args["memory"] = size.memory_mib
        args["memory_swap"] = size.memory_mib  # no swap beyond the limit: the size is the size
        args["cpus"] = readback.cpus(size.cpus)
    # No process limit: Docker's per-container one (`--pids-limit`, the cgroup's pids.max) is not
    # an input of pulumi-docker's Container (5.x, terraform-provider-docker v4.5), and the
    # RLIMIT_NPROC ulimit it does have counts every process of the uid on the whole host: all
    # copies of all apps (uid 10001) would share one budget, threads included. Memory and CPU
    # limits stay per container; the release one-off, run by the Docker CLI, gets --pids-limit.
    return args


def labels(stack: str, **extra: str) -> list[docker.ContainerLabelArgs]:
    """Stable labels (a label change replaces a container): which stack and role a container is."""
    values = {"flashdrive.stack": stack, **{f"flashdrive.{k}": v for k, v in extra.items()}}
    return [docker.ContainerLabelArgs(label=k, value=v) for k, v in sorted(values.items())]
