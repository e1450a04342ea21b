"""`up`, `preview`, `destroy` and `outputs` of a stack, through the Pulumi CLI (Automation API).

The CLI's own output streams to the terminal line by line as it comes; failures end as one line.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from flashdrive.automation.workspace import (
    INSTALL_HINT,
    AutomationError,
    Settings,
    open_stack,
    require_passphrase,
    require_pulumi,
)

OPERATIONS = ("up", "preview", "destroy", "outputs")
# The provider plugins the program uses, at the versions of the installed SDKs.
PLUGINS = (("pulumi-docker", "docker"), ("pulumi-command", "command"))
RETAINED_NOTE = (
    "note: volumes that hold data (disks, database data, the edge's certificates) are retained on "
    "delete: they stay on the Docker host; `docker volume ls --filter label=flashdrive.stack` lists them"
)

Printer = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _stdout(line: str) -> None:
    print(line, flush=True)


def plugin_versions() -> list[tuple[str, str]]:
    """(plugin name, version) the Pulumi CLI needs for this program."""
    found = []
    for dist, plugin in PLUGINS:
        try:
            found.append((plugin, "v" + importlib.metadata.version(dist)))
        except importlib.metadata.PackageNotFoundError:
            raise AutomationError(f"the Python package {dist} is not installed; reinstall flashdrive") from None
    return found


def _last_error(lines: list[str], fallback: str) -> str:
    text = [line.strip() for line in lines if line.strip()]
    for line in reversed(text):
        if "error" in line.lower():
            return line.removeprefix("error: ")
    return text[-1] if text else fallback


def _error_text(exc: Exception) -> list[str]:
    """The stderr part of a CommandError's text ("code: ... stdout: ... stderr: ...")."""
    text = str(exc)
    return text.split(" stderr:", 1)[1].splitlines() if " stderr:" in text else text.splitlines()


def format_outputs(outputs: Mapping[str, Any], *, show_secrets: bool, as_json: bool) -> str:
    """Stack outputs as `key: value` lines (or one JSON object); secrets as [secret] unless shown."""
    shown = {
        key: (value.value if show_secrets or not value.secret else "[secret]") for key, value in sorted(outputs.items())
    }
    if as_json:
        return json.dumps(shown, indent=2, sort_keys=True) + "\n"
    if not shown:
        return "(this stack has no outputs)\n"
    return "".join(
        f"{key}: {value if isinstance(value, str) else json.dumps(value, sort_keys=True)}\n"
        for key, value in shown.items()
    )


def run_operation(
    operation: str,
    settings: Settings,
    *,
    show_secrets: bool = False,
    as_json: bool = False,
    out: Printer = _stdout,
    err: Printer = _stderr,
    color: str | None = None,
) -> None:
    """Run one stack operation; AutomationError (one line) when it cannot run or fails."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}")
    pulumi_path = require_pulumi()
    require_passphrase()
    color = color or ("always" if sys.stdout.isatty() else "never")
    errors: list[str] = []

    def on_error(line: str) -> None:
        errors.append(line)
        err(line)

    from pulumi import automation as auto

    try:
        stack = open_stack(
            settings, create=operation in ("up", "preview"), pulumi_path=pulumi_path, mark_preview=operation == "up"
        )
        if operation == "outputs":
            text = format_outputs(stack.outputs(), show_secrets=show_secrets, as_json=as_json)
            for line in text.rstrip("\n").split("\n"):
                out(line)
            return
        for plugin, version in plugin_versions():
            stack.workspace.install_plugin(plugin, version)
        if operation == "up":
            stack.up(on_output=out, on_error=on_error, color=color)
        elif operation == "preview":
            stack.preview(on_output=out, on_error=on_error, color=color)
        else:
            stack.destroy(on_output=out, on_error=on_error, color=color)
            out(RETAINED_NOTE)
    except auto.StackNotFoundError:
        raise AutomationError(
            f"stack '{settings.stack}' does not exist in {settings.backend_url}; "
            f"`flashdrive up --stack {settings.stack}` creates it"
        ) from None
    except auto.ConcurrentUpdateError:
        raise AutomationError(
            f"stack '{settings.stack}' is locked by another update; wait for it to finish, "
            f"or run `pulumi cancel --stack {settings.stack}` if that update died"
        ) from None
    except auto.InvalidVersionError as exc:
        raise AutomationError(
            f"this Pulumi CLI is too old ({str(exc).splitlines()[0]}); upgrade: {INSTALL_HINT}"
        ) from None
    except auto.CommandError as exc:
        reason = _last_error(errors or _error_text(exc), "see the output above")
        raise AutomationError(f"pulumi {operation} failed: {reason}") from None
    except RuntimeError as exc:  # the SDK's own checks, e.g. a preview that reported no summary
        raise AutomationError(f"pulumi {operation} did not finish as expected: {exc}") from None
