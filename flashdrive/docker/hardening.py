"""Settings every container of a stack gets: least privilege, bounded logs, restarts."""

from __future__ import annotations

import pulumi_docker as docker

from flashdrive.spec.sizes import Size

# The official database and redis images start as root to fix ownership of their data
# directory, then drop to their own user with gosu: that needs exactly these back.
DATA_IMAGE_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]
# Caddy binds 80 and 443, which are privileged ports.
EDGE_CAPABILITIES = ["NET_BIND_SERVICE"]


def hardened(*, size: Size | None = None, pids_limit: int | None = None,
             add_capabilities: list[str] | None = None, restart: str = "unless-stopped") -> dict:
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
        args["cpus"] = str(size.cpus)
    if pids_limit is not None:
        # The docker provider has no pids-limit input; RLIMIT_NPROC bounds the processes of the
        # container's user, which for app copies is their own non-root uid.
        args["ulimits"] = [docker.ContainerUlimitArgs(name="nproc", soft=pids_limit, hard=pids_limit)]
    return args


def labels(stack: str, **extra: str) -> list[docker.ContainerLabelArgs]:
    """Stable labels (a label change replaces a container): which stack and role a container is."""
    values = {"flashdrive.stack": stack, **{f"flashdrive.{k}": v for k, v in extra.items()}}
    return [docker.ContainerLabelArgs(label=k, value=v) for k, v in sorted(values.items())]
