"""A preview on Kubernetes: its own namespace, and a seed from the base stack's latest backup that
reads the base's repository and nothing else of the base, never able to write it.

A preview (`plan --preview N`, `up --stack pr-N --preview N`) is the same program with its own
namespace, `<base namespace>-pr-N`: its own claims, databases, secrets and policies. Of the base it
touches one thing, the backup repository, through three objects the preview stack owns:

- `flashdrive:kubernetes:RepositoryReader`, in the base's namespace (the repository's claim lives
  there and a pod mounts only claims of its own namespace): `backup-reader-pr-N`, a Deployment and
  Service running `rclone serve restic` over the base's repository claim mounted read-only (in the
  claim reference and in the mount, so the kernel refuses every write whatever the server is asked).
  rclone has no read-only switch for `serve restic` (its options are --append-only, --private-repos,
  --cache-objects, --stdio and the HTTP ones), so it also runs `--append-only`: no delete and no
  overwrite at the API, should the mount ever be writable. It runs on the node of the base's
  backup-server (the claim is ReadWriteOnce), with a user and password of the preview's own, and
  goes with the preview (`pulumi destroy`); the claim is never the preview's.
- a NetworkPolicy beside it that lets in the seed pod of the preview's namespace alone, on the
  server's port: the base's default-deny keeps everything else of the preview (its apps, its
  databases) out of the base's namespace, and the base's pods out of the preview's.
- `seed`, a Job in the preview's namespace, created once with the preview: `fetch` restores the
  base's latest snapshot (restic `--no-lock`: a lock would be a write) of each disk into the
  preview's claim and takes out each database dump; `load-<db>` loads each dump into the preview's
  own server. The apps' release Jobs depend on it, the scrub Job (the scrub app's image, env and
  disks: flashdrive.kubernetes.app) on them, and the Deployments on the scrub: Pulumi waits for a
  Job to complete before it creates what depends on it, so no copy starts on unscrubbed data, and a
  failed seed or scrub stops the deploy with no copy started. (An init container waiting in each
  copy would need the Kubernetes API, and pods here get no service account token.) Later deploys
  leave both Jobs alone (changes to them are ignored), so a push never restores or scrubs again
  over the preview's own writes; one that failed is replaced by the next deploy. A base with no
  backup yet seeds nothing and the Job's log says so.

Redis is not seeded: its snapshot loads only into a stopped server's data directory, and a preview's
cache may start cold.
"""

from __future__ import annotations

import shlex

import pulumi
import pulumi_kubernetes as k8s
from msgspec import Struct

from flashdrive.backup_scripts import RESTIC_NO_REPOSITORY_EXIT, grep_no_repository
from flashdrive.engines import ENGINES
from flashdrive.kubernetes.app import REPLACE_UNREADY
from flashdrive.kubernetes.backup import BACKUP_ROOT, DUMPS, REPOSITORY, SERVER_PORT, dump_env, repository_claim_name
from flashdrive.kubernetes.hardening import (
    DATABASE_UID,
    colocated_with,
    container_security,
    labels,
    pod_defaults,
    pod_labels,
    pod_security,
    resources,
    selector,
)
from flashdrive.kubernetes.network_policy import DNS_PORTS, NAMESPACE_NAME
from flashdrive.model.stack import ClusterSettings, ResolvedDatabase, ResolvedDisk
from flashdrive.spec.sizes import SIZES

SEED = "seed"  # the seed Job's name and its pods' component label
SEED_DIR = "/seed"
SEED_TTL_S = 3600  # seconds a finished seed Job (and its pod) stays, to read its log
READER_USER = "reader"


def reader_name(number: int) -> str:
    return f"backup-reader-pr-{number}"


def reader_url_tail(number: int, base_namespace: str) -> str:
    """host:port/ of the reader as the preview's pods resolve it (another namespace: `.svc`)."""
    return f"@{reader_name(number)}.{base_namespace}.svc:{SERVER_PORT}/"


class SeedSource(Struct, frozen=True):
    """Where a preview's seed reads from: the base stack's repository claim, in its namespace."""

    base_stack: str
    base_namespace: str
    number: int
    volume: str  # the base's `backups.target.volume`

    @property
    def claim(self) -> str:
        return repository_claim_name(self.base_stack, self.volume)


class RepositoryReader(pulumi.ComponentResource):
    """`backup-reader-pr-N` in the base's namespace: the base's repository, read-only, to one preview."""

    def __init__(
        self,
        preview_stack: str,
        source: SeedSource,
        preview_ns: str,
        image: str,
        password: pulumi.Input[str],
        pull_secrets: tuple[str, ...] = (),
        *,
        uid: int,
        opts: pulumi.ResourceOptions | None = None,
    ):
        name = reader_name(source.number)
        super().__init__("flashdrive:kubernetes:RepositoryReader", f"{preview_stack}-{name}", None, opts)
        child = pulumi.ResourceOptions(parent=self)
        base_ns = source.base_namespace
        self.secret = k8s.core.v1.Secret(
            f"{preview_stack}-{name}",
            metadata={"name": name, "namespace": base_ns, "labels": labels(preview_stack, name, "backup")},
            type="Opaque",
            string_data={"RCLONE_PASS": password},
            opts=child,
        )
        container = {
            "name": "rclone",
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            # --user and --pass come from RCLONE_USER and RCLONE_PASS, never the command line.
            "command": ["rclone", "serve", "restic", "--append-only", "--addr", f"0.0.0.0:{SERVER_PORT}", REPOSITORY],
            "env": [
                {"name": "RCLONE_USER", "value": READER_USER},
                {
                    "name": "RCLONE_PASS",
                    "valueFrom": {"secretKeyRef": {"name": self.secret.metadata.name, "key": "RCLONE_PASS"}},
                },
                {"name": "RCLONE_CONFIG", "value": "/tmp/rclone.conf"},
            ],
            "ports": [{"containerPort": SERVER_PORT, "name": "restic"}],
            "readinessProbe": {"tcpSocket": {"port": SERVER_PORT}, "periodSeconds": 5},
            "resources": resources(SIZES["xs"]),
            "securityContext": {**container_security(uid), "readOnlyRootFilesystem": True},
            "volumeMounts": [
                {"name": "repository", "mountPath": REPOSITORY, "readOnly": True},
                {"name": "tmp", "mountPath": "/tmp"},
            ],
        }
        match = selector(name, "backup")
        self.deployment = k8s.apps.v1.Deployment(
            f"{preview_stack}-{name}",
            metadata={"name": name, "namespace": base_ns, "labels": labels(preview_stack, name, "backup")},
            spec={
                "replicas": 1,
                "selector": {"matchLabels": match},
                "template": {
                    "metadata": {"labels": pod_labels(preview_stack, name, "backup", egress=False)},
                    "spec": {
                        **pod_defaults(pull_secrets),
                        # No fsGroup: the kubelet changes no ownership on a read-only volume, and the files
                        # are the base's server's, written as this same user.
                        "securityContext": pod_security(run_as_user=uid),
                        # The claim is ReadWriteOnce: pods of one node may share it, the base's server's node.
                        "affinity": colocated_with(["backup-server"]),
                        "containers": [container],
                        "volumes": [
                            {
                                "name": "repository",
                                "persistentVolumeClaim": {"claimName": source.claim, "readOnly": True},
                            },
                            {"name": "tmp", "emptyDir": {}},
                        ],
                    },
                },
            },
            opts=child,
        )
        self.service = k8s.core.v1.Service(
            f"{preview_stack}-{name}",
            metadata={"name": name, "namespace": base_ns, "labels": labels(preview_stack, name, "backup")},
            spec={"selector": match, "ports": [{"port": SERVER_PORT, "targetPort": SERVER_PORT, "name": "restic"}]},
            opts=child,
        )
        # The base's namespace denies every ingress it does not allow: this opens the reader to the
        # seed pod of this preview's namespace, and to nothing else outside the base.
        self.policy = k8s.networking.v1.NetworkPolicy(
            f"{preview_stack}-allow-{name}",
            metadata={
                "name": f"allow-pr-{source.number}-seed-to-{name}",
                "namespace": base_ns,
                "labels": labels(preview_stack, f"allow-pr-{source.number}-seed-to-{name}", "network"),
            },
            spec={
                "podSelector": {"matchLabels": match},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {"matchLabels": {NAMESPACE_NAME: preview_ns}},
                                "podSelector": {"matchLabels": selector(SEED, SEED)},
                            }
                        ],
                        "ports": [{"port": SERVER_PORT, "protocol": "TCP"}],
                    }
                ],
            },
            opts=child,
        )
        self.register_outputs({"service": self.service.metadata.name, "policy": self.policy.metadata.name})


def _dump(db: ResolvedDatabase) -> tuple[str, str]:
    """(path in the snapshot, path in the seed's scratch folder) of a database's dump."""
    name = f"{db.name}.{ENGINES[db.engine].job_dump.extension}"  # as the backup job wrote it
    return f"{DUMPS}/{name}", f"{SEED_DIR}/databases/{name}"


def fetch_script(source: SeedSource, disks: list[ResolvedDisk], databases: list[ResolvedDatabase]) -> str:
    """Restores the base's latest snapshot: each disk into the preview's claim mounted at
    /seed/disks/NAME, each database dump into /seed/databases/; what it did in /seed/report."""
    host = shlex.quote(source.base_stack)
    lines = [
        "set -u",
        # Group-writable: the loaders run as the databases' user, in the apps' group (fsGroup).
        "umask 0002",
        f"mkdir -p {SEED_DIR}/databases",
        # A failed fetch ends the pod before any load: the dumps it fetched go with it.
        f'trap \'code=$?; [ "$code" -eq 0 ] || rm -rf {SEED_DIR}/databases; exit "$code"\' EXIT',
        f'report() {{ echo "flashdrive-seed: $1"; echo "$1" >> {SEED_DIR}/report; }}',
        # Reading needs no lock; taking one would be a write, which the reader refuses.
        f"found=$(restic --no-lock snapshots --json --host {host} --tag flashdrive --latest 1 2>{SEED_DIR}/error)",
        "status=$?",
        # No repository yet: restic 0.17 exits 10; older ones say so (as `flashdrive backup list` reads it).
        f'if [ "$status" -eq {RESTIC_NO_REPOSITORY_EXIT} ] || [ "$found" = "[]" ] || [ "$found" = "null" ] \\',
        f'   || {{ [ "$status" -ne 0 ] && {grep_no_repository(f"{SEED_DIR}/error")}; }}; then',
        f"  report \"the base stack '{source.base_stack}' has no backup yet: the preview starts empty\"",
        "  exit 0",
        "fi",
        f'if [ "$status" -ne 0 ]; then cat {SEED_DIR}/error >&2; exit 1; fi',
        # The snapshot's own id (64 hex digits; "short_id" has 8): every item from the same snapshot.
        'snapshot=$(printf \'%s\' "$found" | grep -o \'"id":"[0-9a-f]\\{64\\}"\' | head -n 1 | cut -d \'"\' -f 4)',
        'if [ -z "$snapshot" ]; then echo "flashdrive-seed: no snapshot id in: $found" >&2; exit 1; fi',
        'report "from snapshot $(printf %.8s "$snapshot") of the base stack"',
        # What the snapshot holds (each disk's folder, each dump: the listed folders' direct children):
        # an item added to the spec after it was taken is not there. A listing that fails fails the seed.
        f'listing=$(restic --no-lock ls --json "$snapshot" {BACKUP_ROOT}/disks {DUMPS}) || exit 1',
        'holds() { printf "%s\\n" "$listing" | grep -q "\\"path\\":\\"$1\\""; }',
    ]
    for disk in disks:
        path = f"{BACKUP_ROOT}/disks/{disk.name}"
        lines += [
            f"if holds {path}; then",
            f'  restic --no-lock restore "$snapshot:{path}" --target {SEED_DIR}/disks/{disk.name} || exit 1',
            f"  report 'disk {disk.name}: restored'",
            f"else report 'disk {disk.name}: not in the snapshot, starts empty'; fi",
        ]
    for db in databases:
        if not loadable(db):
            lines.append(f"report 'database {db.name} ({db.engine}): not seeded, starts empty'")
            continue
        inside, scratch = _dump(db)
        lines += [
            f"if holds {inside}; then",
            f'  restic --no-lock dump "$snapshot" {inside} > {scratch}.partial || exit 1',
            f"  mv {scratch}.partial {scratch}",
            f"else report 'database {db.name}: no dump in the snapshot, starts empty'; fi",
        ]
    return "\n".join(lines)


def loadable(db: ResolvedDatabase) -> bool:
    """Whether a dump of it loads into a running server (Redis's snapshot needs a stopped one)."""
    return ENGINES[db.engine].restore is not None


def load_command(db: ResolvedDatabase) -> str:
    """Loads the database's dump, when the fetch found one, into the preview's own server, with the
    engine's restore command (flashdrive.engines), the password from the container's env."""
    facts = ENGINES[db.engine]
    assert facts.restore is not None
    _, dump = _dump(db)
    source = dump.removesuffix(".gz")  # the backup job compresses what the restore command reads plain
    # The dump is the base's unscrubbed data: gone once loaded, or when the load fails (the pod and
    # its emptyDir outlive the container).
    files = " ".join(dict.fromkeys((dump, f"{dump}.partial", source)))
    lines = ["set -eu", f"trap 'rm -f {files}' EXIT", f"[ -f {dump} ] || exit 0"]
    if dump.endswith(".gz"):
        lines.append(f"gunzip -c {dump} > {source}")
    lines += [
        facts.restore.format(pw=facts.job_password_env, host=db.name, port=db.port, user=db.user, name=db.database)
        + f" < {source}",
        f"echo 'database {db.name}: restored' >> {SEED_DIR}/report",
        f"echo 'flashdrive-seed: database {db.name}: restored'",
    ]
    return "\n".join(lines)


class Seed(pulumi.ComponentResource):
    """The `seed` Job in the preview's namespace, its Secret and its way out to the base's reader."""

    def __init__(
        self,
        preview_stack: str,
        cluster: ClusterSettings,
        source: SeedSource,
        namespace: pulumi.Input[str],
        restic_image: str,
        disks: list[ResolvedDisk],
        claims: dict[str, pulumi.Input[str]],
        databases: list[ResolvedDatabase],
        database_secrets: dict[str, pulumi.Input[str]],
        reader_password: pulumi.Input[str],
        repository_password: pulumi.Input[str],
        depends_on: list,
        *,
        uid: int,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("flashdrive:kubernetes:Seed", f"{preview_stack}-{SEED}", None, opts)
        child = pulumi.ResourceOptions(parent=self)
        url = pulumi.Output.concat(
            f"rest:http://{READER_USER}:", reader_password, reader_url_tail(source.number, source.base_namespace)
        )
        # The reader's URL with the preview's own credentials, and the base repository's password,
        # which decrypts and opens nothing for writing through the reader. Only `fetch` reads it.
        self.secret = k8s.core.v1.Secret(
            f"{preview_stack}-{SEED}",
            metadata={"name": SEED, "namespace": namespace, "labels": labels(preview_stack, SEED, SEED)},
            type="Opaque",
            string_data={"RESTIC_REPOSITORY": url, "RESTIC_PASSWORD": repository_password},
            opts=child,
        )
        # Once a pod is selected by an egress policy it may go only where one allows: its own stack
        # (the preview's databases, to load them), DNS, and the base's reader, nothing else.
        name = f"allow-seed-to-{reader_name(source.number)}"
        self.policy = k8s.networking.v1.NetworkPolicy(
            f"{preview_stack}-{name}",
            metadata={"name": name, "namespace": namespace, "labels": labels(preview_stack, name, "network")},
            spec={
                "podSelector": {"matchLabels": selector(SEED, SEED)},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"podSelector": {}}]},
                    {
                        "to": [{"namespaceSelector": {}}, *({"ipBlock": {"cidr": c}} for c in cluster.dns_cidrs)],
                        "ports": DNS_PORTS,
                    },
                    {
                        "to": [
                            {
                                "namespaceSelector": {"matchLabels": {NAMESPACE_NAME: source.base_namespace}},
                                "podSelector": {"matchLabels": selector(reader_name(source.number), "backup")},
                            }
                        ],
                        "ports": [{"port": SERVER_PORT, "protocol": "TCP"}],
                    },
                ],
            },
            opts=child,
        )
        secret = self.secret.metadata.name
        fetch = {
            "name": "fetch",
            "image": restic_image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["/bin/sh", "-c", fetch_script(source, disks, databases)],
            "env": [
                *(
                    {"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
                    for key in ("RESTIC_REPOSITORY", "RESTIC_PASSWORD")
                ),
                {"name": "RESTIC_CACHE_DIR", "value": "/cache"},
            ],
            "resources": resources(SIZES["s"]),
            "securityContext": container_security(uid),
            "volumeMounts": [
                {"name": "seed", "mountPath": SEED_DIR},
                {"name": "cache", "mountPath": "/cache"},
                *({"name": f"disk-{d.name}", "mountPath": f"{SEED_DIR}/disks/{d.name}"} for d in disks),
            ],
        }
        loads = [
            {
                "name": f"load-{db.name}",
                "image": db.image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", load_command(db)],
                "env": dump_env(db, database_secrets[db.name]),
                "resources": resources(SIZES["s"]),
                "securityContext": container_security(DATABASE_UID),
                "volumeMounts": [{"name": "seed", "mountPath": SEED_DIR}],
            }
            for db in databases
            if loadable(db)
        ]
        report = {
            "name": "report",
            "image": restic_image,
            "imagePullPolicy": "IfNotPresent",
            # Whatever a load left of the base's dumps goes before the report; the report has names only.
            "command": ["/bin/sh", "-c", f"rm -rf {SEED_DIR}/databases; cat {SEED_DIR}/report"],
            "resources": resources(SIZES["xs"]),
            "securityContext": container_security(uid),
            "volumeMounts": [{"name": "seed", "mountPath": SEED_DIR}],
        }
        timeout = f"{cluster.release_timeout_s}s"
        self.job = k8s.batch.v1.Job(
            f"{preview_stack}-{SEED}",
            metadata={
                "name": SEED,
                "namespace": namespace,
                "labels": labels(preview_stack, SEED, SEED),
                # A seed that failed is replaced, so run again, by the next `pulumi up`.
                "annotations": {REPLACE_UNREADY: "true"},
            },
            spec={
                "backoffLimit": 0,
                "activeDeadlineSeconds": cluster.release_timeout_s,
                # The finished Job and its pod (its scratch emptyDir) go after a while, long enough
                # to read its log; Pulumi does not look again (no refresh), and ignores its spec.
                "ttlSecondsAfterFinished": SEED_TTL_S,
                "template": {
                    "metadata": {"labels": pod_labels(preview_stack, SEED, SEED, egress=False)},
                    "spec": {
                        **pod_defaults(cluster.image_pull_secrets),
                        "restartPolicy": "Never",
                        # The apps' group owns what is restored, as what the apps write.
                        "securityContext": pod_security(run_as_user=uid, fs_group=uid),
                        "initContainers": [fetch, *loads],
                        "containers": [report],
                        "volumes": [
                            {"name": "seed", "emptyDir": {}},
                            {"name": "cache", "emptyDir": {}},
                            *(
                                {"name": f"disk-{d.name}", "persistentVolumeClaim": {"claimName": claims[d.name]}}
                                for d in disks
                            ),
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*depends_on, self.policy],
                # Once, when the preview is created: a later deploy that changes it (an image, a new
                # disk) must not restore again over what the preview wrote since.
                ignore_changes=["spec"],
                delete_before_replace=True,
                custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout),
            ),
        )
        self.register_outputs({"job": self.job.metadata.name})
