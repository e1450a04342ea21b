"""Label keys flashdrive puts on what it creates on a Docker engine, and reads back to find it.

The operations (ps, logs, run, exec, restart, backup) find a deployed stack by these labels
alone, so they work on any machine that reaches the engine, whoever deployed the stack.
"""

from __future__ import annotations

PREFIX = "flashdrive."
STACK = "flashdrive.stack"          # every container, network and volume of a stack
APP = "flashdrive.app"              # an app's copies, its release and its one-off runs
NODE = "flashdrive.node"            # the copy's number, 1-based
ROLE = "flashdrive.role"            # web, worker, release, run, edge, backup-job, backup-server, backup-prune, ...
DATABASE = "flashdrive.database"    # a database server (its name in the spec)
ENGINE = "flashdrive.engine"        # a database server's engine: postgres, mysql, mongodb, redis
DISK = "flashdrive.disk"            # a disk's volume
NETWORK = "flashdrive.network"      # a stack network's role: internal, edge, public, egress

# Roles of app containers.
COPY_ROLES = ("web", "worker")
RELEASE_ROLE = "release"
RUN_ROLE = "run"
EDGE_NETWORK = "edge"

# The git commit an image was built from, as the OCI image spec names it: a label of the image,
# never a container input (that would replace every copy on every commit).
IMAGE_REVISION = "org.opencontainers.image.revision"
