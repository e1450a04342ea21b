"""flashdrive:docker:Seed — a preview starts from the base stack's latest backup, read-only, once.

When the preview is created, before its release and its copies:
1. restore: a one-off container of the backup image (restic and the database clients) mounts the
   base's repository volume READ-ONLY (`--mount ...,readonly`: the kernel refuses every write,
   whatever the credentials), the preview's own disk volumes, and joins the preview's own internal
   network, where the preview's databases are. It restores every disk and database from the
   base's newest backup run that succeeded (its `status=ok` snapshot; one run for all, so files and
   rows agree; an item that run lacks starts empty, and the report says so), with
   `restic --no-lock --no-cache`: nothing is written to the repository, not even a lock. Nothing else of the base is touched: not its networks, not its backup server, not its
   writer's credentials. A base repository volume that is not on this Docker host fails the seed
   (the preview must run on its base's host); an empty one (no backup yet) seeds nothing and says so.
2. the release command of every app (flashdrive/docker/release.py), as on every deploy;
3. scrub: `previews.seed.scrub`, once, in a one-off container of the scrub app (its image, env,
   networks and disks), as a release runs;
4. then the copies start: every copy of every app waits for the scrub (or the restore).

Both steps are `command:local:Command`s that run at create only: `ignore_changes` on every input,
so a later `up` (new code, new env) never restores or scrubs again; a failed step is not stored and
runs again on the next `up`.

The repository password: restic needs the base's (the repository is encrypted with it). It is
derived like every credential, HMAC(master key, base stack name, purpose), so the preview stack
must have the base's `flashdrive:masterKey` (README, "Preview environments"). The password opens
the repository; the read-only mount is what keeps the preview from changing it.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

import pulumi
import pulumi_command as command
import pulumi_docker as docker
from msgspec import structs

from flashdrive.backup_scripts import DISKS_DIR, dump_file, password_env
from flashdrive.credentials import REPOSITORY_PASSWORD, Credentials
from flashdrive.docker.hardening import one_off_flags
from flashdrive.docker.release import ReleaseContainer, release_command, watched_wait
from flashdrive.engines import ENGINES
from flashdrive.labels import LABEL_APP, LABEL_ROLE, LABEL_STACK, ROLE_BACKUPS, ROLE_SCRUB, ROLE_SEED
from flashdrive.model.stack import RELEASE_TIMEOUT_S, ResolvedStack

IMAGE_VARIABLE = "FLASHDRIVE_SEED_IMAGE"
PASSWORD_VARIABLE = "RESTIC_PASSWORD"
REPOSITORY_MOUNT = "/repository"
# The preview's disk volumes, each where restic restores its folder: TARGET_DIR + /data/disks/NAME.
TARGET_DIR = "/target"
REDIS_DIR = "/redis"  # the preview's redis data volumes (redis reads an RDB only at start)
# Quoted strings and parenthesised values (PostgreSQL's "Key (email)=(...)") of an error line.
ELIDE = "sed -e \"s/'[^']*'/'...'/g\" -e 's/\"[^\"]*\"/\"...\"/g' -e 's/([^)]*)/(...)/g'"
NOTE = "flashdrive-seed:"  # the lines of the seed's report; everything else is restic's and the clients'
# Restoring files with their owners and modes, as `flashdrive backup restore` does.
CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID")
# Inputs of a Command; all ignored after create: the seed runs once.
ONCE = ["create", "environment", "triggers", "update", "delete", "logging", "dir", "interpreter", "stdin"]


def _database_restore(stack: ResolvedStack) -> list[str]:
    lines: list[str] = []
    for db in sorted(stack.databases.values(), key=lambda d: d.name):
        file = dump_file(db.name, db.engine)
        restore = ENGINES[db.engine].restore
        if restore is None:  # redis: no dump to load, the server's own files go in place
            install = ENGINES[db.engine].install_snapshot
            assert install is not None, db.engine
            apply = f'restic_ dump "$id" /{file} > "$WORK/dump.rdb" && ' + install.format(
                dir=f"{REDIS_DIR}/{db.name}", file='"$WORK/dump.rdb"'
            )
        else:
            fields = {
                "pw": password_env(db.name),
                "host": shlex.quote(db.name),
                "port": db.port,
                "user": shlex.quote(db.user),
                "name": shlex.quote(db.database),
            }
            apply = f'restic_ dump "$id" /{file} > "$WORK/dump" && ' + restore.format(**fields) + ' < "$WORK/dump"'
        lines += [
            f"id=$(item database={db.name}) || exit 1",
            'if [ -z "$id" ]; then',
            f'  note "database {db.name}: not in backup run $run of the base: it starts empty"',
            f'elif ( {apply} ) >"$WORK/out" 2>&1; then',
            f'  note "database {db.name} ({db.engine}): restored snapshot $(short "$id")"',
            "else",
            f'  cat "$WORK/out" >&2; note "database {db.name}: the restore of snapshot $(short "$id") failed" >&2; exit 1',
            "fi",
            'rm -f "$WORK/dump" "$WORK/dump.rdb"',
        ]
    return lines


def restore_script_inside(stack: ResolvedStack) -> str:
    """What the one-off container runs: each disk and database restored from the base's newest
    backup run that succeeded (one run for all: they agree with each other)."""
    preview = stack.preview
    assert preview is not None and preview.seed is not None
    base = shlex.quote(preview.base)
    lines = [
        "set -u",
        f"export RESTIC_REPOSITORY={REPOSITORY_MOUNT}",
        # --no-lock: a lock is a write, and the repository is mounted read-only.
        'restic_() { restic --no-lock --no-cache "$@"; }',
        f'note() {{ echo "{NOTE} $*"; }}',
        'short() { echo "$1" | cut -c1-8; }',
        "WORK=$(mktemp -d)",
        # The newest snapshot with every tag of "$1" (comma: all of them), by the base's own backup
        # job (its host); a repository that cannot be listed fails the seed (never an empty preview
        # that looks seeded).
        f'latest() {{ restic_ snapshots --host {base} --tag "$1" --latest 1 --json >"$WORK/list" 2>"$WORK/out" '
        f'|| {{ cat "$WORK/out" >&2; note "cannot list the snapshots of stack {preview.base}" >&2; exit 1; }}; '
        'tr -d \'\\n\' <"$WORK/list" | sed -n \'s/.*"id":"\\([0-9a-f]\\{64\\}\\)".*/\\1/p\'; }',
        # One disk or database of the chosen backup run: every item from the same run, so uploads
        # and rows agree (as the Kubernetes seed's one snapshot).
        'item() { latest "run=$run,$1"; }',
        f"if [ ! -f {REPOSITORY_MOUNT}/config ]; then",
        f'  note "stack {preview.base} has no backup yet (its repository is empty): the preview starts empty"',
        "  exit 0",
        "fi",
        'if ! restic_ cat config >/dev/null 2>"$WORK/out"; then',
        '  cat "$WORK/out" >&2',
        f'  note "the repository of stack {preview.base} does not open with the password derived from this '
        "stack's flashdrive:masterKey: a preview needs its base's master key (pulumi config cp "
        'flashdrive:masterKey --stack BASE --dest PREVIEW)" >&2',
        "  exit 1",
        "fi",
        # The newest run of the base's backup job that ended well (its status snapshot says ok): a
        # failed run may hold some items and not others.
        "status=$(latest status=ok) || exit 1",
        "run=$(tr -d '\\n' <\"$WORK/list\" | grep -o '\"run=[^\"]*\"' | tail -n 1 | tr -d '\"' | cut -d= -f2)",
        'if [ -z "$status" ] || [ -z "$run" ]; then',
        f'  note "stack {preview.base} has no successful backup run yet: the preview starts empty"',
        "  exit 0",
        "fi",
        f'note "from backup run $run of stack {preview.base}"',
    ]
    for disk in sorted(stack.disks, key=lambda d: d.name):
        source = f"{DISKS_DIR}/{disk.name}"
        lines += [
            f"id=$(item disk={disk.name}) || exit 1",
            'if [ -z "$id" ]; then',
            f'  note "disk {disk.name}: not in backup run $run of the base: it starts empty"',
            # Straight into the preview's volume, mounted where the folder restores (any restic; the
            # SNAPSHOT:FOLDER form needs 0.17), never through the container's writable layer: one
            # write, no second copy on Docker's root disk.
            f'elif restic_ restore "$id" --target {TARGET_DIR} --include {source} >"$WORK/out" 2>&1; then',
            f'  note "disk {disk.name}: restored snapshot $(short "$id")"',
            "else",
            f'  cat "$WORK/out" >&2; note "disk {disk.name}: the restore of snapshot $(short "$id") failed" >&2; exit 1',
            "fi",
        ]
    lines += _database_restore(stack)
    return "\n".join(lines) + "\n"


def seed_timeout(stack: ResolvedStack) -> int:
    """Seconds the restore may run: the largest release_timeout_s of the stack's apps (a seed is a
    release of the data: both load what a deploy needs before any copy starts)."""
    return max((app.release_timeout_s for app in stack.apps.values()), default=RELEASE_TIMEOUT_S)


def restore_script(stack: ResolvedStack, network: str) -> str:
    """What the Command runs on the machine that runs Pulumi: checks the base's repository volume is
    there (mounting a missing volume would create it), runs the one-off container, reports."""
    preview = stack.preview
    assert preview is not None and preview.seed is not None
    q = shlex.quote
    name = f"{stack.name}-seed"
    repository = preview.seed.repository
    # Servers whose data is their own file (redis): stopped while it is put in place.
    redis = [db for db in sorted(stack.databases.values(), key=lambda d: d.name) if ENGINES[db.engine].restore is None]
    flags = [
        "--name",
        name,
        f"--label={LABEL_STACK}={stack.name}",
        f"--label={LABEL_ROLE}={ROLE_SEED}",
        *one_off_flags(memory="1g", add_capabilities=CAPABILITIES, pids_limit=512, init=False, log_files=None),
        f"--network={network}",
        f"--mount=type=volume,source={repository},target={REPOSITORY_MOUNT},readonly",
        *[
            f"--mount=type=volume,source={d.volume_name},target={TARGET_DIR}{DISKS_DIR}/{d.name}"
            for d in sorted(stack.disks, key=lambda d: d.name)
        ],
        *[f"--mount=type=volume,source={db.volume_name},target={REDIS_DIR}/{db.name}" for db in redis],
        f"--env={PASSWORD_VARIABLE}",
        *[f"--env={password_env(db.name)}" for db in sorted(stack.databases.values(), key=lambda d: d.name)],
        "--entrypoint=/bin/sh",
    ]
    create = f'docker create {" ".join(q(f) for f in flags)} "${IMAGE_VARIABLE}" -c {q(restore_script_inside(stack))}'
    servers = " ".join(q(f"{stack.name}-{db.name}") for db in redis)
    timeout = seed_timeout(stack)
    base = preview.base
    script = [
        "set -u",
        f"n={q(name)}",
        f"repository={q(repository)}",
        f'note() {{ echo "{NOTE} $*"; }}',
        # Missing here: the preview runs on another host than its base (or the base was never
        # deployed). Seeding nothing would hand out an empty preview that looks seeded.
        'if ! docker volume inspect "$repository" >/dev/null 2>&1; then',
        f'  echo "error: the Docker host ${{DOCKER_HOST:-}} has no volume $repository, the backup repository of '
        f"stack {base}: a seeded preview (previews.seed) reads it there, so it runs on the Docker host of its base, "
        f"once the base is deployed. Give the preview stack the base's flashdrive:dockerHost (and an address "
        f"of its own, flashdrive:publishAddress: README, Preview environments), or remove previews.seed to "
        f'start previews empty." >&2',
        "  exit 1",
        "fi",
        # Only the base's own repository, as its backups component labels it.
        "labels=$(docker volume inspect --format "
        f'\'{{{{index .Labels "{LABEL_STACK}"}}}}/{{{{index .Labels "{LABEL_ROLE}"}}}}\' "$repository")',
        f'if [ "$labels" != {q(f"{base}/{ROLE_BACKUPS}")} ]; then',
        f'  echo "error: volume $repository is not the backup repository of stack {base} (its labels say $labels)" >&2',
        "  exit 1",
        "fi",
        'docker rm -f "$n" >/dev/null 2>&1',
        f"{create} >/dev/null || exit 1",
        "started=$(date +%s)",
        *(
            [
                # The servers stopped for their files start again on every way out: a failed start, a
                # timeout, an interrupted `up` (a signal exits, and the exit runs the trap).
                f"trap 'docker start {servers} >/dev/null || {{ echo \"error: the seed stopped {servers} and could "
                f"not start it again: docker start {servers}\" >&2; exit 1; }}' EXIT",
                "trap 'exit 143' TERM INT HUP",
                f"docker stop {servers} >/dev/null || exit 1",
            ]
            if redis
            else []
        ),
        'docker start "$n" >/dev/null || { docker rm -f "$n" >/dev/null 2>&1; exit 1; }',
        *watched_wait(timeout),
        "elapsed=$(( $(date +%s) - started ))",
        'if [ "$code" = 0 ]; then',
        f'  docker logs "$n" 2>/dev/null | grep "^{NOTE}"',
        '  docker rm -f "$n" >/dev/null 2>&1',
        '  note "seeded in $(( $(date +%s) - started )) s"',
        "  exit 0",
        "fi",
        # A failed command's output reaches the CLI and a CI log: the tools' own lines may quote
        # rows, so only the seed's report (names), the first error with its values elided, and
        # where the whole output is (the container, kept until the next `up` removes it).
        f'docker logs "$n" 2>&1 | grep "^{NOTE}" >&2',
        # The first line that says error (else the tools' last line), its values elided.
        "out=$(mktemp)",
        f'docker logs "$n" 2>&1 | grep -v "^{NOTE}" > "$out"',
        f'first=$( {{ grep -i -m 1 -E "error|fatal" "$out" || tail -n 1 "$out"; }} | {ELIDE} | cut -c1-300)',
        'rm -f "$out"',
        '[ -z "$first" ] || echo "first error (values elided): $first" >&2',
        'echo "the whole output (it may quote data): docker logs $n, on the Docker host" >&2',
        f'if [ "$elapsed" -ge {timeout} ]; then',
        f'  echo "error: the seed of preview {stack.name} ran longer than {timeout} s (the largest release_timeout_s '
        'of its apps) and was stopped" >&2',
        "fi",
        f'echo "error: the seed of preview {stack.name} from the backups of stack {base} failed (exit $code); '
        "nothing of the base was changed, the preview's copies did not start. The next `up` runs it again.\" >&2",
        "exit 1",
    ]
    return "\n".join(script) + "\n"


class Seed(pulumi.ComponentResource):
    """The restore (at creation) and, once every release ran, the scrub (`scrub()`)."""

    def __init__(
        self,
        stack: ResolvedStack,
        host: str,
        network: pulumi.Resource,
        database_passwords: Mapping[str, pulumi.Input[str]],
        depends_on: list,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("flashdrive:docker:Seed", f"{stack.name}-seed", None, opts)
        preview = stack.preview
        assert preview is not None and preview.seed is not None
        self.stack = stack
        child = pulumi.ResourceOptions(parent=self)
        image = docker.RemoteImage(
            f"{stack.name}-seed-image", name=stack.backups.image, keep_locally=True, opts=child
        ).image_id
        environment: dict[str, pulumi.Input[str]] = {
            "DOCKER_HOST": host,
            IMAGE_VARIABLE: image,
            # The base's repository password: derived from the base's name (flashdrive/credentials.py).
            PASSWORD_VARIABLE: Credentials(preview.base).derive(REPOSITORY_PASSWORD, 48),
            **{password_env(name): value for name, value in sorted(database_passwords.items())},
        }
        self.restore = command.local.Command(
            f"{stack.name}-seed-restore",
            create=restore_script(stack, f"{stack.name}-internal"),
            environment=environment,
            # Its report names disks, databases and snapshots; the tools' own output (which may quote
            # data) only reaches stderr, of a failed seed.
            logging=command.local.Logging.STDOUT,
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[network, *depends_on],
                ignore_changes=ONCE,
                additional_secret_outputs=["stderr"],
            ),
        )
        self.scrub_command: command.local.Command | None = None

    def scrub(
        self, image: pulumi.Input[str], env: Mapping[str, pulumi.Input[str]], host: str, depends_on: list
    ) -> list[pulumi.Resource]:
        """The scrub, after the restore and every release; what the copies wait for. Ends the component."""
        seed = self.stack.preview.seed if self.stack.preview else None
        gate: list[pulumi.Resource] = [self.restore]
        if seed is not None and seed.scrub is not None and seed.scrub_app is not None:
            app = structs.replace(self.stack.apps[seed.scrub_app], release=seed.scrub)
            roles = ["internal"] + (["egress"] if app.egress else [])
            name = f"{self.stack.name}-{app.name}-scrub"
            self.scrub_command = release_command(
                name,
                app,
                ReleaseContainer(
                    name=name,
                    networks=tuple(f"{self.stack.name}-{role}" for role in roles),
                    volumes=tuple((d.volume_name, d.mount, d.read_only) for d in app.disks),
                    labels={LABEL_STACK: self.stack.name, LABEL_APP: app.name, LABEL_ROLE: ROLE_SCRUB},
                ),
                host,
                image,
                env,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.restore, *depends_on], ignore_changes=ONCE),
                what=f"the scrub command of preview {self.stack.name} (previews.seed.scrub, with app '{app.name}')",
                kept="no copy started. The next `up` runs it again.",
            )
            gate = [self.scrub_command]
        self.register_outputs(
            {
                "base": self.stack.preview.base if self.stack.preview else None,
                "repository": seed.repository if seed else None,
                "scrub": seed.scrub if seed else None,
            }
        )
        return gate
