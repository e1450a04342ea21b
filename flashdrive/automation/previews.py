"""Preview stacks (`pr-N`) as the preview-env workflow sees them: which ones expired, and the
pull request comment that lists a preview's URLs.

A preview expires `previews.expire_after_days` after its last deploy, the stack's last update as
the state backend records it (`pulumi stack ls --json`, `lastUpdate`): every backend keeps it, so
nothing extra is written when a preview is created, and a pull request that keeps getting pushes
keeps its preview. An idle one goes; its next push makes it again, seeded afresh.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from msgspec import Struct

from flashdrive.automation.workspace import AutomationError, Settings

# The Pulumi stack of pull request N, optionally as ORG/STACK or ORG/PROJECT/STACK.
PREVIEW_STACK = re.compile(r"^(?:[^/]+/){0,2}pr-([1-9][0-9]*)$")
COMMENT_MARKER = "<!-- flashdrive-preview-env -->"
PUBLISH_ADDRESS_KEY = "flashdrive:publishAddress"  # read by flashdrive/docker/host.py
SECONDS_PER_DAY = 86400


def preview_stack_name(pull_request: int) -> str:
    return f"pr-{pull_request}"


def pull_request_of(stack: str) -> int | None:
    """N for the stack `pr-N` (or ORG/pr-N), None for any other stack."""
    found = PREVIEW_STACK.match(stack)
    return int(found.group(1)) if found else None


def wrong_preview_stack(stack: str, number: int) -> str | None:
    """Why `stack` cannot be the preview of pull request `number`; None when it is its stack `pr-N`.
    Any other stack (the default `dev`, the base) would be turned into the preview by its deploy."""
    if pull_request_of(stack) == number:
        return None
    return f"the preview of pull request {number} is the stack {preview_stack_name(number)}, not '{stack}'"


class PreviewStack(Struct, frozen=True):
    stack: str
    pull_request: int
    last_update: datetime | None  # UTC; None: never deployed
    updating: bool

    def idle_days(self, now: datetime) -> float | None:
        if self.last_update is None:
            return None
        return (now - self.last_update).total_seconds() / SECONDS_PER_DAY

    def expired(self, now: datetime, days: int) -> bool:
        """Idle for `days` days or more. A preview being deployed right now, or never deployed
        (its first `up` may be starting: its stack exists before its first update), is kept."""
        idle = self.idle_days(now)
        return not self.updating and idle is not None and idle >= days

    def to_json(self, now: datetime, days: int | None) -> dict[str, Any]:
        """`expired` is null when no expiry is known (no spec, no --older-than-days)."""
        idle = self.idle_days(now)
        return {
            "stack": self.stack,
            "pull_request": self.pull_request,
            "last_update": self.last_update.strftime("%Y-%m-%dT%H:%M:%SZ") if self.last_update else None,
            "idle_days": round(idle, 2) if idle is not None else None,
            "updating": self.updating,
            "expired": self.expired(now, days) if days is not None else None,
        }


def _utc(moment: datetime | None) -> datetime | None:
    # The Automation API parses `lastUpdate` (written in UTC, "...Z") into a naive datetime.
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def preview_stacks(summaries: Iterable[Any]) -> list[PreviewStack]:
    """The previews among a workspace's stacks (`StackSummary`s), by pull request number."""
    found = []
    for summary in summaries:
        number = pull_request_of(summary.name)
        if number is not None:
            found.append(
                PreviewStack(summary.name, number, _utc(summary.last_update), bool(summary.update_in_progress))
            )
    return sorted(found, key=lambda preview: preview.pull_request)


def expired_previews(previews: Iterable[PreviewStack], now: datetime, days: int) -> list[PreviewStack]:
    if days < 1:
        raise ValueError("a preview lives at least one day")
    return [preview for preview in previews if preview.expired(now, days)]


def _command_error(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return next(
        (line.removeprefix("error: ") for line in reversed(lines) if "error" in line.lower()),
        lines[-1] if lines else "no output",
    )


def list_previews(settings: Settings) -> list[PreviewStack]:
    """Every `pr-N` stack of the project in the settings' state backend."""
    from pulumi import automation as auto

    from flashdrive.automation.workspace import open_workspace, require_pulumi

    try:
        return preview_stacks(open_workspace(settings, require_pulumi()).list_stacks())
    except auto.CommandError as exc:
        raise AutomationError(f"cannot list the stacks in {settings.backend_url}: {_command_error(exc)}") from None


def remove_preview(settings: Settings, stack: str) -> bool:
    """Forget a destroyed preview stack (`pulumi stack rm`); False when there is no such stack.
    Only a `pr-N` stack: whatever the workflow passes, a base stack is never removed here. The CLI
    refuses a stack that still has resources, so a preview whose destroy failed stays listed."""
    from pulumi import automation as auto

    from flashdrive.automation.workspace import open_workspace, require_pulumi

    if pull_request_of(stack) is None:
        raise AutomationError(f"'{stack}' is not a preview stack (pr-N); only those are removed here")
    workspace = open_workspace(settings, require_pulumi())
    try:
        if stack not in {summary.name for summary in workspace.list_stacks()}:
            return False
        workspace.remove_stack(stack)
    except auto.CommandError as exc:
        raise AutomationError(
            f"cannot remove stack '{stack}' from {settings.backend_url}: {_command_error(exc)}"
        ) from None
    return True


def preview_config_keys(spec: Any) -> list[str]:
    """The config keys a preview of `spec` reads: every `{config: KEY}` of the spec but those of its
    custom domains (a preview drops them) and of its backup target (a preview makes no backups)."""
    from flashdrive.spec.contract import config_keys

    apps = {name: app.model_copy(update={"domains": []}) for name, app in spec.apps.items()}
    return config_keys(spec.model_copy(update={"apps": apps, "backups": None}))


def prepare_preview(
    settings: Settings, number: int, base: str, *, publish_address: str | None = None, config_keys: Iterable[str] = ()
) -> list[str]:
    """Make stack `pr-N` ready for `flashdrive up|destroy --stack pr-N --preview N`, as a fresh CI
    runner needs: Pulumi keeps a stack's config in its stack file (stacks/Pulumi.pr-N.yaml), not in
    the state backend, so a runner starts without it. The stack is created if missing; its config
    gets `flashdrive:preview` N, and the master key of its `base` stack (a preview shares it: its seed
    derives the base's repository password from it, its own credentials derive from its own name).
    The key goes through the Pulumi CLI's standard input, never a command line; a key the stack
    already has is never replaced. `publish_address`: the preview's flashdrive:publishAddress (the
    host address its edge publishes 80/443 on, beside its base's edge), set when given.
    `config_keys`: what the spec reads (preview_config_keys); any the stack lacks fails with the
    list and how to give each (copied from the base or a preview's own value: never copied here,
    a live third-party key may not belong in a preview). What was done, one line each."""
    from msgspec import structs
    from pulumi import automation as auto

    from flashdrive.automation.workspace import _pulumi_config, open_workspace, require_passphrase, require_pulumi
    from flashdrive.credentials import FULL_CONFIG_KEY
    from flashdrive.model.preview import CONFIG_KEY

    stack = settings.stack
    wrong = wrong_preview_stack(stack, number)
    if wrong:
        raise AutomationError(wrong)
    if pull_request_of(base) is not None or base == stack:
        raise AutomationError(f"'{base}' is a preview stack: the base is the stack previews are made from (dev, prod)")
    pulumi_path = require_pulumi()
    require_passphrase()
    done = []
    workspace = open_workspace(settings, pulumi_path)
    try:
        workspace.select_stack(stack)
    except auto.StackNotFoundError:
        workspace.create_stack(stack)
        done.append(f"created stack {stack}")
    except auto.CommandError as exc:
        raise AutomationError(f"cannot select stack '{stack}': {_command_error(exc)}") from None

    def config(on: str, *args: str, given: str | None = None):
        return _pulumi_config(structs.replace(settings, stack=on), pulumi_path, *args, given=given)

    def must(result, what: str) -> None:
        if result.returncode != 0:
            raise AutomationError(f"cannot {what}: {(result.stderr.strip().splitlines() or ['no output'])[-1]}")

    found = config(stack, "get", CONFIG_KEY)
    if found.returncode == 0 and found.stdout.strip() != str(number):
        raise AutomationError(
            f"stack '{stack}' is the preview of pull request {found.stdout.strip()} ({CONFIG_KEY}), not {number}"
        )
    if found.returncode != 0:
        must(config(stack, "set", CONFIG_KEY, str(number), "--non-interactive"), f"set {CONFIG_KEY} on '{stack}'")
        done.append(f"set {CONFIG_KEY} {number} on stack {stack}")
    if config(stack, "get", FULL_CONFIG_KEY).returncode != 0:
        key = config(base, "get", FULL_CONFIG_KEY)
        if key.returncode != 0 or not key.stdout.strip():
            raise AutomationError(
                f"the base stack '{base}' has no {FULL_CONFIG_KEY} here: its stack file (stacks/Pulumi.{base}.yaml, "
                "the key encrypted by the passphrase) must be committed for previews to share it"
            )
        must(
            config(stack, "set", "--secret", FULL_CONFIG_KEY, "--non-interactive", given=key.stdout.strip()),
            f"set {FULL_CONFIG_KEY} on '{stack}'",
        )
        done.append(f"gave stack {stack} the master key of stack {base}")
    if publish_address is not None:
        found = config(stack, "get", PUBLISH_ADDRESS_KEY)
        if found.returncode != 0 or found.stdout.strip() != publish_address:
            must(
                config(stack, "set", PUBLISH_ADDRESS_KEY, publish_address, "--non-interactive"),
                f"set {PUBLISH_ADDRESS_KEY} on '{stack}'",
            )
            done.append(f"set {PUBLISH_ADDRESS_KEY} {publish_address} on stack {stack}")
    missing = [key for key in config_keys if config(stack, "get", key).returncode != 0]
    if missing:
        fixes = "; ".join(f"pulumi config cp {key} --stack {base} --dest {stack}" for key in missing)
        raise AutomationError(
            f"stack '{stack}' lacks config the spec reads: {', '.join(missing)}. A preview gets only "
            f"{CONFIG_KEY} and the master key; give it each of these, the base's value ({fixes}) or one of "
            f"its own for previews (pulumi config set --secret KEY --stack {stack}; in CI, in the workflow "
            "before `previews prepare`), then run it again"
        )
    return done


def comment_body(
    pull_request: int,
    state: str,
    *,
    urls: Mapping[str, str] | None = None,
    commit: str | None = None,
    expire_after_days: int | None = None,
    log: str | None = None,
) -> str:
    """The pull request's one preview comment (found again by its marker), for a `state`:
    `deployed` (its URLs), `failed` (the deploy of `commit`; `log`: where to read why),
    `destroyed` (the pull request closed) or `expired`."""
    stack = preview_stack_name(pull_request)
    lines = [COMMENT_MARKER, f"### Preview environment `{stack}`", ""]
    at = f" at `{commit[:12]}`" if commit else ""
    if state == "failed":
        where = f": [the log]({log}) says why" if log else ""
        lines.append(f"The deploy{at} failed{where}. What this comment listed before may not be running.")
    elif state == "deployed":
        if urls:
            lines += [f"Deployed{at}.", "", "| app | URL |", "|---|---|"]
            lines += [f"| `{app}` | {url} |" for app, url in sorted(urls.items())]
        else:
            lines.append(f"Deployed{at}. It has no web app, so no URL.")
        if expire_after_days is not None:
            lines += [
                "",
                f"It is destroyed when this pull request closes, or after {expire_after_days} "
                f"day{'s' if expire_after_days != 1 else ''} without a push.",
            ]
    elif state == "destroyed":
        lines.append(
            "Destroyed: this pull request was closed. Its data went with it; the base stack and "
            "its backups are untouched."
        )
    elif state == "expired":
        idle = f"after {expire_after_days} days without a push" if expire_after_days else "after days without a push"
        lines.append(f"Destroyed {idle}. The next push deploys it again, from the latest backup.")
    else:
        raise ValueError(f"unknown preview state {state!r}")
    return "\n".join(lines) + "\n"
