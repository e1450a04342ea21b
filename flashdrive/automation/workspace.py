"""Where a stack lives and how to reach it: the project folder, the state backend, the Pulumi CLI.

Defaults need no account: the state goes to a file backend under the project
(`.flashdrive/state/`, already git-ignored with the rest of `.flashdrive/`), secrets are encrypted
with a passphrase from PULUMI_CONFIG_PASSPHRASE. PULUMI_BACKEND_URL, or a `backend.url` in the
project's Pulumi.yaml, picks another backend (Pulumi Cloud, S3, ...).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml
from msgspec import Struct

from flashdrive.problems import FlashdriveError

PROJECT = "flashdrive"
DEFAULT_STACK = "dev"
STATE_DIR = Path(".flashdrive") / "state"
PASSPHRASE_VARS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")
INSTALL_HINT = "install it with `curl -fsSL https://get.pulumi.com | sh` (see https://www.pulumi.com/docs/install/)"


class AutomationError(FlashdriveError):
    """A one-line reason a stack command cannot run; the CLI exits 1 with it."""


class Settings(Struct, frozen=True):
    project_dir: Path  # absolute: where Pulumi.yaml (if any), the spec and the stack files are
    stack: str
    backend_url: str
    backend_origin: str  # "PULUMI_BACKEND_URL", "Pulumi.yaml" or "default"
    project_name: str
    has_project_file: bool
    spec: str | None = None  # overrides the stack config flashdrive:spec (relative to project_dir)
    overlay: str | None = None
    preview: int | None = None  # the pull request whose preview this stack is (stack config flashdrive:preview)


def default_backend_url(project_dir: Path) -> str:
    """A file backend under the project: `file:///abs/project/.flashdrive/state`."""
    return "file://" + (project_dir.resolve() / STATE_DIR).as_posix()


def _project_file(project_dir: Path) -> tuple[dict, bool]:
    for name in ("Pulumi.yaml", "Pulumi.yml"):
        path = project_dir / name
        if path.is_file():
            try:
                loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                raise AutomationError(
                    f"{path}: cannot be read as a Pulumi project file: {str(exc).splitlines()[0]}"
                ) from None
            return (loaded if isinstance(loaded, dict) else {}), True
    return {}, False


def resolve_settings(
    project_dir: str | Path = ".",
    stack: str = DEFAULT_STACK,
    *,
    spec: str | None = None,
    overlay: str | None = None,
    environ: Mapping[str, str] | None = None,
    preview: int | None = None,
) -> Settings:
    """Settings for one stack command, from the project folder and the environment."""
    environ = os.environ if environ is None else environ
    folder = Path(project_dir)
    if not folder.is_dir():
        raise AutomationError(f"{project_dir}: no such project folder")
    folder = folder.resolve()
    for label, value in (("--spec", spec), ("--overlay", overlay)):
        if value is not None and not (folder / value).is_file():
            raise AutomationError(f"{label} {value}: no such file in {folder}")
    project, has_file = _project_file(folder)
    backend = project.get("backend")
    backend_url = backend.get("url") if isinstance(backend, dict) else None
    if environ.get("PULUMI_BACKEND_URL"):
        url, origin = environ["PULUMI_BACKEND_URL"], "PULUMI_BACKEND_URL"
    elif isinstance(backend_url, str) and backend_url:
        url, origin = backend_url, "Pulumi.yaml"
    else:
        url, origin = default_backend_url(folder), "default"
    name = project.get("name")
    name = name if isinstance(name, str) else PROJECT
    return Settings(folder, stack, url, origin, name, has_file, spec, overlay, preview)


def find_pulumi(environ: Mapping[str, str] | None = None) -> str | None:
    """The Pulumi CLI: on PATH, or where get.pulumi.com installs it (~/.pulumi/bin)."""
    environ = os.environ if environ is None else environ
    found = shutil.which("pulumi", path=environ.get("PATH", os.defpath))
    if found:
        return found
    home = environ.get("PULUMI_HOME") or str(Path(environ.get("HOME", "~")).expanduser() / ".pulumi")
    candidate = Path(home) / "bin" / "pulumi"
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None


def require_pulumi(environ: Mapping[str, str] | None = None) -> str:
    found = find_pulumi(environ)
    if found is None:
        raise AutomationError(f"the Pulumi CLI is not installed (no `pulumi` on PATH); {INSTALL_HINT}")
    return found


def require_passphrase(environ: Mapping[str, str] | None = None) -> None:
    environ = os.environ if environ is None else environ
    if not any(var in environ for var in PASSPHRASE_VARS):
        raise AutomationError(
            "PULUMI_CONFIG_PASSPHRASE is not set: it encrypts this stack's secrets (generated "
            "passwords, config secrets) in its state; export it, and keep it safe"
        )


def workspace_env(settings: Settings) -> dict[str, str]:
    """Environment every Pulumi command of this workspace runs with."""
    return {"PULUMI_BACKEND_URL": settings.backend_url, "PULUMI_SKIP_UPDATE_CHECK": "true"}


def make_program(settings: Settings) -> Callable[[], None]:
    """The inline Pulumi program: what __main__.py does, with paths relative to the project."""

    def program() -> None:
        import pulumi

        from flashdrive.program import run

        config = pulumi.Config("flashdrive")
        spec = settings.spec or config.get("spec") or "flashdrive.yaml"
        overlay = settings.overlay or config.get("overlay") or None
        preview = settings.preview if settings.preview is not None else (config.get("preview") or None)
        run(str(settings.project_dir / spec), str(settings.project_dir / overlay) if overlay else None, preview)

    return program


def workspace_options(settings: Settings, pulumi_path: str):
    """`LocalWorkspaceOptions` for the settings' project, backend and Pulumi CLI."""
    from pulumi import automation as auto

    if settings.backend_origin == "default":
        (settings.project_dir / STATE_DIR).mkdir(parents=True, exist_ok=True)
    # On PATH: run it by name; elsewhere (~/.pulumi/bin/pulumi): PulumiCommand wants its root folder.
    on_path = shutil.which("pulumi") == pulumi_path
    command = auto.PulumiCommand() if on_path else auto.PulumiCommand(root=str(Path(pulumi_path).parent.parent))
    return auto.LocalWorkspaceOptions(
        work_dir=str(settings.project_dir),
        env_vars=workspace_env(settings),
        secrets_provider="passphrase",
        project_settings=None
        if settings.has_project_file
        else auto.ProjectSettings(
            name=PROJECT,
            runtime="python",
            description="A flashdrive stack: flashdrive.yaml compiled into Pulumi resources.",
        ),
        pulumi_command=command,
    )


def open_workspace(settings: Settings, pulumi_path: str):
    """The project's `LocalWorkspace`, for what concerns all its stacks (listing them)."""
    from pulumi import automation as auto

    options = workspace_options(settings, pulumi_path)
    return auto.LocalWorkspace(
        work_dir=options.work_dir,
        env_vars=options.env_vars,
        secrets_provider=options.secrets_provider,
        project_settings=options.project_settings,
        pulumi_command=options.pulumi_command,
    )


def open_stack(settings: Settings, *, create: bool, pulumi_path: str, mark_preview: bool = False):
    """A `pulumi.automation.Stack` for the settings (created if `create` and missing); with
    `mark_preview` (an `up`), a preview stack's config is marked flashdrive:preview."""
    from pulumi import automation as auto

    options = workspace_options(settings, pulumi_path)
    opener = auto.create_or_select_stack if create else auto.select_stack
    stack = opener(
        stack_name=settings.stack, project_name=settings.project_name, program=make_program(settings), opts=options
    )
    if settings.preview is not None:
        ensure_preview(settings, pulumi_path, create=create, mark=mark_preview)
    if create:
        ensure_master_key(settings, pulumi_path)
    return stack


def _pulumi_config(
    settings: Settings, pulumi_path: str, *args: str, given: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **workspace_env(settings)}
    return subprocess.run(
        [pulumi_path, "config", *args, "--stack", settings.stack],
        input=given,
        cwd=settings.project_dir,
        env=env,
        capture_output=True,
        text=True,
    )


def ensure_preview(settings: Settings, pulumi_path: str, *, create: bool, mark: bool = False) -> None:
    """`--preview N` on a stack: only the stack `pr-N` (any other, e.g. the default `dev`, would
    become the preview). Its config `flashdrive:preview` says N, written by its first `up` (`mark`)
    and never by a dry run, so a later `pulumi up` without the flag still deploys the preview, never
    the base under this stack's state; `destroy --preview N` refuses a stack that is not preview N.
    A new preview shares its base's master key (its seed derives the base's repository password
    from it): never made here."""
    from flashdrive.automation.previews import wrong_preview_stack
    from flashdrive.credentials import FULL_CONFIG_KEY
    from flashdrive.model.preview import CONFIG_KEY

    assert settings.preview is not None
    wrong = wrong_preview_stack(settings.stack, settings.preview)
    if wrong:
        raise AutomationError(wrong)
    found = _pulumi_config(settings, pulumi_path, "get", CONFIG_KEY)
    current = found.stdout.strip() if found.returncode == 0 else None
    if current is not None and current != str(settings.preview):
        raise AutomationError(
            f"stack '{settings.stack}' is the preview of pull request {current} "
            f"({CONFIG_KEY}), not {settings.preview}: check --stack and --preview"
        )
    if current is None and not create:
        raise AutomationError(
            f"stack '{settings.stack}' is not a preview (no {CONFIG_KEY} in its config): "
            f"refusing to destroy it as preview {settings.preview}"
        )
    if current is None and mark:
        made = _pulumi_config(
            settings, pulumi_path, "set", CONFIG_KEY, "--non-interactive", given=str(settings.preview)
        )
        if made.returncode != 0:
            reason = (made.stderr.strip().splitlines() or ["no output"])[-1]
            raise AutomationError(f"cannot set {CONFIG_KEY} on stack '{settings.stack}': {reason}")
    if create and _pulumi_config(settings, pulumi_path, "get", FULL_CONFIG_KEY).returncode != 0:
        raise AutomationError(
            f"preview stack '{settings.stack}' has no {FULL_CONFIG_KEY}: a preview shares its base stack's master "
            "key (its seed reads the base's backups with the password derived from it; its own credentials still "
            f"differ, they derive from its own name). Copy it: pulumi config cp {FULL_CONFIG_KEY} --stack BASE "
            f"--dest {settings.stack}"
        )


def ensure_master_key(settings: Settings, pulumi_path: str) -> None:
    """A stack's first `up`/`preview` gets the master key its credentials derive from
    (flashdrive/credentials.py); an existing one is never replaced. The value goes to
    `pulumi config set` on its stdin: never on a command line (the Automation API's set_config
    would put it there)."""
    from flashdrive.credentials import FULL_CONFIG_KEY, new_master_key

    def pulumi_config(*args: str, given: str | None = None):
        return _pulumi_config(settings, pulumi_path, *args, given=given)

    if pulumi_config("get", FULL_CONFIG_KEY).returncode == 0:
        return
    made = pulumi_config("set", "--secret", FULL_CONFIG_KEY, "--non-interactive", given=new_master_key())
    if made.returncode != 0:
        reason = (made.stderr.strip().splitlines() or ["no output"])[-1]
        raise AutomationError(f"cannot set {FULL_CONFIG_KEY} on stack '{settings.stack}': {reason}")
