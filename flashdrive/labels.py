"""The names backends write and readers rely on: labels, roles and Pulumi type names.

The backends label what they create; `plan --format mermaid`, `diff`'s data-loss guard, backups
and the operations find things again by these labels and types, in a plan or on a live engine.
A name changed here changes for writer and reader at once; a name changed on one side only would
make the reader silently find nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# --- Docker: labels on containers, volumes and networks --------------------------------------

LABEL_STACK = "flashdrive.stack"  # every container, volume and network: the spec's `stack:`
LABEL_APP = "flashdrive.app"  # an app's copies and its release container
LABEL_NODE = "flashdrive.node"  # a copy's number, 1..nodes
LABEL_ROLE = "flashdrive.role"  # a container's or volume's job, one of the roles below
LABEL_DATABASE = "flashdrive.database"  # a database's server container and data volume
LABEL_ENGINE = "flashdrive.engine"  # the database server's engine (postgres, mysql, ...)
LABEL_DISK = "flashdrive.disk"  # a disk's volume
LABEL_STRATEGY = "flashdrive.strategy"  # an app copy's deploy strategy: rolling or stop-first
LABEL_CRON_JOB_PREFIX = "flashdrive.cron."  # an app scheduler's `flashdrive.cron.<job>=<schedule as written>`
LABEL_NETWORK = "flashdrive.network"  # a network's role: internal, edge, public, egress, backup

# Values of LABEL_ROLE. An app's copies carry the app's type (web or worker).
ROLE_WEB = "web"
ROLE_WORKER = "worker"
ROLE_RELEASE = "release"
ROLE_EDGE = "edge"
ROLE_BACKUPS = "backups"  # the backup repository's volume
ROLE_BACKUP_SERVER = "backup-server"
ROLE_BACKUP_JOB = "backup-job"  # reads the disks and dumps the databases
ROLE_BACKUP_PRUNE = "backup-prune"
ROLE_BACKUP_LEDGER = "backup-ledger"  # the volume where the prune job records when it saw each remote snapshot
ROLE_DRILL = "drill"  # `flashdrive backup verify`'s scratch containers, volume and network
ROLE_RUN = "run"  # a one-off `flashdrive run` container
ROLE_UPGRADE = "upgrade"  # a temporary server of a database's major upgrade (Docker)
ROLE_CRON = "cron"  # an app's scheduler (Docker): its jobs in `flashdrive.cron.<job>` labels
ROLE_CRON_STATE = "cron-state"  # the volume of an app scheduler's run records
ROLE_SEED = "seed"  # a preview's one-off restore from its base's backups (flashdrive/docker/seed.py)
ROLE_SCRUB = "scrub"  # a preview's one-off scrub command, after the restore and the releases

# Values of LABEL_NETWORK.
NETWORK_EDGE = "edge"  # the network the edge reaches web copies on: never given to one-off runs

# The git commit an image was built from, as the OCI image spec names it: a label of the image,
# never a container input (that would replace every copy on every commit).
IMAGE_REVISION = "org.opencontainers.image.revision"

# --- Kubernetes: the recommended app.kubernetes.io labels -------------------------------------

K8S_NAME = "app.kubernetes.io/name"  # the app, database, disk or backup the object belongs to
K8S_COMPONENT = "app.kubernetes.io/component"  # web, worker, release, env, database, disk, backup, edge, network
K8S_PART_OF = "app.kubernetes.io/part-of"  # the spec's `stack:`
K8S_MANAGED_BY = "app.kubernetes.io/managed-by"

# --- Pulumi type names --------------------------------------------------------------------

STACK_TYPE = "pulumi:pulumi:Stack"

DOCKER_CONTAINER = "docker:index/container:Container"
DOCKER_VOLUME = "docker:index/volume:Volume"
DOCKER_NETWORK = "docker:index/network:Network"
DOCKER_IMAGE = "docker:index/image:Image"
DOCKER_REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"

RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
RANDOM_STRING = "random:index/randomString:RandomString"
RANDOM_ID = "random:index/randomId:RandomId"
RANDOM_UUID = "random:index/randomUuid:RandomUuid"
RANDOM_INTEGER = "random:index/randomInteger:RandomInteger"

K8S_NAMESPACE = "kubernetes:core/v1:Namespace"
K8S_SECRET = "kubernetes:core/v1:Secret"
K8S_CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
K8S_CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"
K8S_DEPLOYMENT = "kubernetes:apps/v1:Deployment"
K8S_STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
K8S_JOB = "kubernetes:batch/v1:Job"
K8S_CRON_JOB = "kubernetes:batch/v1:CronJob"
K8S_INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"

# The databases an app's secret env values come from (on Docker the copies' label, on Kubernetes an
# annotation of the app's env Secret): generated passwords derive from stack config, so no resource
# dependency says it.
DATABASES_LABEL = "flashdrive.databases"
DATABASES_ANNOTATION = "flashdrive.io/databases"

# Where the edge's Caddyfile lives (on its volume; flashdrive/docker/edge.py writes it, Caddy
# reloads it, `flashdrive restart` reads it).
EDGE_CADDYFILE = "/data/Caddyfile"


def docker_labels(inputs: Mapping[str, Any]) -> dict[str, str]:
    """The labels of a planned Docker container, volume or network, from its inputs (a plan read
    from a file may hold anything there: what is not a label is passed over)."""
    found: dict[str, str] = {}
    labels = inputs.get("labels")
    for item in labels if isinstance(labels, list) else []:
        if isinstance(item, Mapping) and isinstance(item.get("label"), str):
            found[item["label"]] = str(item.get("value", ""))
    return found
