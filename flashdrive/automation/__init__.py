"""Deploy a flashdrive stack through the Pulumi CLI with the Automation API (`flashdrive up` & co.).

settings = resolve_settings(".", "dev")      # project folder, state backend, Pulumi project
run_operation("up", settings)                # streams the CLI's output; AutomationError on failure
"""

from flashdrive.automation.operations import OPERATIONS, format_outputs, plugin_versions, run_operation
from flashdrive.automation.workspace import (
    DEFAULT_STACK,
    AutomationError,
    Settings,
    default_backend_url,
    find_pulumi,
    make_program,
    open_stack,
    resolve_settings,
)

__all__ = [
    "DEFAULT_STACK",
    "OPERATIONS",
    "AutomationError",
    "Settings",
    "default_backend_url",
    "find_pulumi",
    "format_outputs",
    "make_program",
    "open_stack",
    "plugin_versions",
    "resolve_settings",
    "run_operation",
]
