"""A preview: the stack of one pull request, made from the same spec as its base stack.

`flashdrive plan --preview 123`, the stack config `flashdrive:preview` and `flashdrive up --stack
pr-123 --preview 123` all end here. The preview is the base's program under another name,
`<stack>-pr-123`: every physical name (networks, volumes, databases, images, default domains) and
every generated credential (HMAC of the master key and the stack name, flashdrive/credentials.py)
derives from that name, so nothing of the base is shared by construction. Then what previews:
says applies: every app's size and copies, no custom domains (listed, so a reviewer sees them
go), no backups, no cron unless `previews.cron: true`. The only thing of the base a preview ever
touches is its backup repository, read-only, once, to seed itself (`ResolvedSeed`).
"""

from __future__ import annotations

from typing import Any

from msgspec import Struct, structs

from flashdrive.model.stack import PIDS_LIMIT, ResolvedApp, ResolvedStack
from flashdrive.problems import InputError, Problem
from flashdrive.spec.contract import PreviewsSpec, VolumeTarget
from flashdrive.spec.sizes import SIZES

STACK_NAME_LIMIT = 30  # flashdrive.spec.contract.StackName's max_length
CONFIG_KEY = "flashdrive:preview"
MAX_NUMBER = 10**9  # GitHub's pull request numbers, with room; keeps names short


class ResolvedSeed(Struct, frozen=True):
    """What the preview is seeded from, once, when it is created."""

    repository: str  # the base's repository: its Docker volume (its claim on Kubernetes), read only
    scrub: str | None  # runs once after the restore and the release, before any copy starts
    scrub_app: str | None  # the app whose image, env, networks and disks the scrub runs with


class DroppedDomain(Struct, frozen=True):
    app: str
    host: str


class ResolvedPreview(Struct, frozen=True):
    number: int
    base: str  # the base stack's name (`stack:`), whose repository the seed reads
    expire_after_days: int
    seed: ResolvedSeed | None
    dropped_domains: tuple[DroppedDomain, ...]
    cron: bool  # scheduled jobs run in this preview

    def describe(self) -> dict[str, Any]:
        """What plans and stack outputs show of the preview (both backends export it as `preview`)."""
        seed: dict[str, Any] | None = None
        if self.seed is not None:
            seed = {
                "from": f"backups of stack {self.base} (repository {self.seed.repository}, read only)",
                "steps": seed_steps(self.seed),
                "scrub": self.seed.scrub,
                "scrub_app": self.seed.scrub_app,
                "when": "once, when the preview is created; a base with no backup yet seeds nothing",
            }
        return {
            "number": self.number,
            "base": self.base,
            "expire_after_days": self.expire_after_days,
            "seed": seed,
            "cron": self.cron,
            "dropped_domains": {d.host: d.app for d in self.dropped_domains},
        }


def seed_steps(seed: ResolvedSeed) -> list[str]:
    return [
        "restore the latest snapshot of each database and disk",
        "run the release command of each app that has one",
        *([f"run the scrub command with app {seed.scrub_app}'s image"] if seed.scrub else []),
        "start the copies",
    ]


def preview_stack_name(base: str, number: int) -> str:
    return f"{base}-pr-{number}"


def is_preview_stack(stack: str, number: int) -> bool:
    """Whether the Pulumi stack `stack` may deploy the preview of pull request `number`: `pr-N`,
    or `<base>-pr-N` (the test harness names its preview stacks so)."""
    return stack == f"pr-{number}" or stack.endswith(f"-pr-{number}")


def preview_number(value: Any, where: str) -> int:
    """A pull request number from the CLI or stack config; InputError naming `where` otherwise."""
    text = str(value).strip()
    if text.isascii() and text.isdigit() and 0 < int(text) < MAX_NUMBER:
        return int(text)
    raise InputError(
        [
            Problem(
                f"{where}: '{text}' is not a pull request number",
                None,
                "",
                f"give the number of the pull request, e.g. 123 (1 to {MAX_NUMBER - 1})",
            )
        ]
    )


def _stack_mark(loaded):
    pos, _ = loaded.document.find(("stack",))
    return pos.mark


def _problem(loaded, path: tuple, fallback: tuple, message: str, hint: str) -> Problem:
    """At `path` when the spec writes it (previews.size), else at `fallback` (what it is about)."""
    from flashdrive.spec.loader import format_path

    for where in (path, fallback):
        pos, missing = loaded.document.find(where)
        if not missing:
            return Problem(message, pos.mark, format_path(where), hint)
    return Problem(message, _stack_mark(loaded), format_path(path), hint)


def resolve_preview(loaded, detections, number: int, backend: str | None = None) -> ResolvedStack:
    """The preview's resolved stack: the spec resolved under the preview's name, then `previews:`."""
    from flashdrive.model.resolve import resolve

    spec = loaded.spec
    name = preview_stack_name(spec.stack, number)
    if len(name) > STACK_NAME_LIMIT:
        keep = STACK_NAME_LIMIT - len(name) + len(spec.stack)
        raise InputError(
            [
                Problem(
                    f"preview {number} of stack '{spec.stack}' would be named '{name}', {len(name)} characters; a stack "
                    f"name has at most {STACK_NAME_LIMIT} (it prefixes every container, volume and network)",
                    _stack_mark(loaded),
                    "stack",
                    f"shorten `stack:` to at most {keep} characters" if keep > 0 else "use a shorter stack name",
                )
            ]
        )
    renamed = structs.replace(loaded, spec=spec.model_copy(update={"stack": name}))
    return as_preview(loaded, resolve(renamed, detections, backend), number)


def as_preview(loaded, own: ResolvedStack, number: int) -> ResolvedStack:
    """`own` (the spec resolved under the preview's name) with what `previews:` says applied."""
    spec = loaded.spec
    settings: PreviewsSpec = spec.previews
    size = SIZES[settings.size]
    problems = []
    apps: dict[str, ResolvedApp] = {}
    dropped: list[DroppedDomain] = []
    for name, app in own.apps.items():
        need = sum(d.size_gb for d in app.disks)
        if need > size.disk_gb:
            problems.append(
                _problem(
                    loaded,
                    ("previews", "size"),
                    ("apps", name, "disks"),
                    f"in a preview, app '{name}' gets size {size.name} ({size.disk_gb} GB of "
                    f"disk space), and its disks need {need} GB",
                    "give previews a bigger size, e.g. previews: {size: "
                    + next((s.name for s in SIZES.values() if s.disk_gb >= need), "xl")
                    + "}",
                )
            )
        if settings.nodes > 1 and app.stop_first:
            problems.append(
                _problem(
                    loaded,
                    ("previews", "nodes"),
                    ("apps", name, "disks"),
                    f"{settings.nodes} copies of app '{name}' would all write its exclusive disk",
                    "use previews: {nodes: 1}",
                )
            )
        dropped += [DroppedDomain(name, d.host) for d in app.domains]
        apps[name] = structs.replace(
            app,
            size=size,
            nodes=settings.nodes,
            pids_limit=PIDS_LIMIT[size.name],
            domains=(),
            cron=app.cron if settings.cron else (),
        )
    if problems:
        raise InputError(problems)
    seed = None
    if settings.seed is not None:
        target = spec.backups.target
        assert isinstance(target, VolumeTarget), "validation allows a seed from a volume target only"
        scrub_app = None
        if settings.seed.scrub is not None:
            # The first web app in the spec's order, else the first app: its image has the code.
            scrub_app = next((n for n, a in own.apps.items() if a.is_web), next(iter(own.apps), None))
        seed = ResolvedSeed(repository=f"{spec.stack}-{target.volume}", scrub=settings.seed.scrub, scrub_app=scrub_app)
    preview = ResolvedPreview(
        number=number,
        base=spec.stack,
        expire_after_days=settings.expire_after_days,
        seed=seed,
        dropped_domains=tuple(dropped),
        cron=settings.cron,
    )
    cluster = own.cluster
    if cluster is not None:
        # A preview lives in a namespace of its own whatever kubernetes.namespace says: that setting
        # names the base's, and a preview in it would take over the base's objects of the same names.
        base_namespace = spec.kubernetes.namespace or spec.stack
        cluster = structs.replace(
            cluster, namespace=preview_namespace(base_namespace, number), base_namespace=base_namespace
        )
    return structs.replace(
        own, apps=apps, backups=structs.replace(own.backups, enabled=False), preview=preview, cluster=cluster
    )


def preview_namespace(base_namespace: str, number: int) -> str:
    """A preview's namespace on Kubernetes: its base's, `-pr-N` added (whatever kubernetes.namespace says)."""
    return f"{base_namespace}-pr-{number}"
