"""Deploy, update and tear down any flashdrive spec on the local Docker engine, as `pulumi up` would.

    python tests/e2e/deploy.py up SPEC [--overlay FILE]... [--config KEY=VALUE]... [--preview N] [--json]
    python tests/e2e/deploy.py down SPEC [--overlay FILE]... [--preview N]

`up` runs the real pipeline (flashdrive.pipeline.run_pipeline) under the recording monitor, with the
engine stand-in (provider.py) creating, updating, replacing and deleting on the engine against the
stack's state, kept in `$FLASHDRIVE_E2E_HOME/<stack>/state.json` (default /tmp/flashdrive-e2e).
The spec runs with the local stand-in images (tests/e2e/images, built when missing or stale)
through its real `images:` and `build.ca_bundle` keys, in an overlay written beside the state.
`--config KEY=VALUE` sets a config value as `pulumi config set --secret` would (`KEY=@FILE` reads
the value from a file, for certificates). The stack's published ports are bound to its own
loopback address (127.x.y.z, printed), so stacks deployed side by side never clash.

With `--json`, the last line is {"stack", "address", "urls", "internal", "ca_pem", "changes"}.
A failed deploy exits 1 with its cause (a release's output, a copy that never became healthy with
its last health check output). `down` deletes every resource of the stack's state, then the
retained data volumes and the state itself: nothing of the stack is left.

The e2e fixtures and benchmarks/ deploy through `deploy_stack`/`destroy_stack`: one way to deploy.
What it proves: the program's resources, created and updated on a real engine, work together
(HTTPS, data, isolation, rolls). What only a real `pulumi up` proves: the providers themselves
(their exact diffs, read-back and timeouts), the engine's parallelism and the state backends.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for path in (str(HERE), str(ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)

from provider import (CreateFailed, EngineMocks, ProtectedResource, docker, remove_volumes,  # noqa: E402
                      teardown_stack)

from flashdrive.credentials import FULL_CONFIG_KEY, new_master_key  # noqa: E402
from flashdrive.model.preview import CONFIG_KEY as PREVIEW_KEY  # noqa: E402
from flashdrive.model.preview import preview_stack_name, resolve_preview  # noqa: E402
from flashdrive.plan import capture  # noqa: E402
from flashdrive.plan.capture import ProgramError  # noqa: E402
from flashdrive.plan.plan import Plan  # noqa: E402
from flashdrive.problems import InputError  # noqa: E402
from flashdrive.pipeline import run_pipeline  # noqa: E402
from flashdrive.spec import load_spec  # noqa: E402

HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
EDGE_ROOT_CA = "/data/caddy/pki/authorities/local/root.crt"


def home() -> Path:
    return Path(os.environ.get("FLASHDRIVE_E2E_HOME", "/tmp/flashdrive-e2e"))


def stack_folder(stack: str) -> Path:
    return home() / stack


def loopback_address(stack: str) -> str:
    """A loopback address of the stack's own (127.0.0.0/8 is all loopback on Linux)."""
    digest = hashlib.sha256(stack.encode()).digest()
    return f"127.{100 + digest[0] % 100}.{digest[1]}.{1 + digest[2] % 254}"


def load_images_builder():
    name = "flashdrive_e2e_images_build"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "images" / "build.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def stand_in_overlay(folder: Path, images: dict[str, str], stack: str | None = None, extra: str = "") -> Path:
    """The e2e layer over a spec: local stand-in images and the host's CA, through real spec keys."""
    lines = ([f"stack: {stack}"] if stack else []) + ["images:"]
    lines += [f"  {key}: {value}" for key, value in sorted(images.items())]
    lines += ["build:", f"  ca_bundle: {HOST_CA_BUNDLE}"]
    folder.mkdir(parents=True, exist_ok=True)
    overlay = folder / "e2e.overlay.yaml"
    overlay.write_text("\n".join(lines) + "\n" + extra)
    return overlay


@dataclass
class Deployed:
    """What one `up` did and made."""

    stack: str
    address: str
    plan: Plan
    changes: dict[str, int]
    steps: list[tuple[str, str]]
    seconds: float
    build_seconds: dict[str, float] = field(default_factory=dict)
    ca_pem: Path | None = None

    @property
    def urls(self) -> dict:
        return self.plan.outputs.get("urls", {})

    @property
    def internal(self) -> dict:
        return self.plan.outputs.get("internal", {})

    def summary(self) -> dict:
        return {"stack": self.stack, "address": self.address, "urls": self.urls, "internal": self.internal,
                "ca_pem": str(self.ca_pem) if self.ca_pem else None, "changes": self.changes}


class DeployFailed(Exception):
    """`str()` is the cause, as a person should read it."""


def resolve_stack_name(spec: Path, overlays: list[Path]) -> str:
    """The stack's name as the spec and its overlays say (the stand-in overlay does not change it)."""
    return load_spec(spec, overlays).spec.stack


def deploy_stack(spec: Path | str, *, overlays: list[Path] | None = None, config: dict[str, str] | None = None,
                 images: dict[str, str] | None = None, stack: str | None = None, log=None,
                 preview: int | None = None) -> Deployed:
    """Deploy or update SPEC on the local engine; raises DeployFailed with the cause. `preview`: deploy
    the spec's preview for that pull request instead (stack `<stack>-pr-N`), as `flashdrive up
    --preview N` would: with the base's master key, copied as `pulumi config cp` would."""
    spec = Path(spec)
    overlays = [Path(p) for p in overlays or []]
    log = log or (lambda line: None)
    try:
        name = stack or resolve_stack_name(spec, overlays)
    except InputError as exc:  # a broken spec fails before anything is built
        raise DeployFailed("\n".join(p.format() for p in exc.problems)) from None
    base = name
    if images is None:
        builder = load_images_builder()
        if not builder.engine_answers():
            raise DeployFailed("no Docker engine answers; start one with `bash tests/e2e/engine.sh` (as root)")
        images = builder.build_all(log=log)
    try:
        e2e_overlay = stand_in_overlay(stack_folder(name), images, stack)
        # Load → validate → detect now; `program` resolves and builds under the engine stand-in below.
        checked, program = run_pipeline(spec, overlays + [e2e_overlay], preview=preview,
                                        build_in=lambda checked, program: (checked, program))
        loaded = checked.loaded
        if preview is not None:
            base = loaded.spec.stack
            resolve_preview(loaded, checked.detections, preview)  # a preview that cannot be made fails here, as the spec's own problems
    except InputError as exc:
        raise DeployFailed("\n".join(p.format() for p in exc.problems)) from None
    name = loaded.spec.stack if preview is None else preview_stack_name(loaded.spec.stack, preview)
    address = loopback_address(name)
    mocks = EngineMocks(stack_folder(name) / "state.json", publish_address=address)
    own = stack_config(name, master_from=base if preview is not None else None)
    config = {**own, **({PREVIEW_KEY: str(preview)} if preview is not None else {}), **(config or {})}
    started = time.perf_counter()
    try:
        plan = capture(program, config=config, secret_config_keys=list(config),
                       mocks=mocks)
        changes = mocks.finish()
    except (ProgramError, CreateFailed, ProtectedResource) as exc:
        cause = exc.cause if isinstance(exc, ProgramError) and exc.cause is not None else exc
        raise DeployFailed(f"deploy of {name} failed: {cause}") from None
    deployed = Deployed(stack=name, address=address, plan=plan, changes=changes.summary(), steps=changes.steps,
                        seconds=time.perf_counter() - started, build_seconds=dict(mocks.build_seconds))
    edge = plan.outputs.get("edge")
    if isinstance(edge, str) and loaded.spec.backend == "docker":
        deployed.ca_pem = _edge_root_ca(edge, stack_folder(name) / "ca.pem")
    return deployed


def stack_config(stack: str, master_from: str | None = None) -> dict[str, str]:
    """The stack's own config, as `stacks/Pulumi.<stack>.yaml` keeps it beside the state: the master
    key that every generated credential derives from, made on the first `up` as `flashdrive up`
    does, and kept by `pulumi destroy` (only `down` removes it). `master_from`: a preview's base,
    whose master key it shares (`pulumi config cp flashdrive:masterKey --stack BASE --dest PREVIEW`)."""
    path = stack_folder(stack) / "config.json"
    if path.is_file():
        return json.loads(path.read_text())
    config = {FULL_CONFIG_KEY: stack_config(master_from)[FULL_CONFIG_KEY] if master_from else new_master_key()}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(config, handle)
    return config


def _edge_root_ca(edge: str, target: Path, seconds: float = 60) -> Path | None:
    """Caddy writes its internal root when it first starts; wait for it, keep a copy."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = docker("exec", edge, "cat", EDGE_ROOT_CA, check=False)
        if found.returncode == 0 and "BEGIN CERTIFICATE" in found.stdout:
            target.write_text(found.stdout)
            return target
        time.sleep(0.5)
    return None


def pulumi_destroy(stack: str) -> dict[str, int]:
    """`pulumi destroy`: every resource of the state deleted, dependents first; what is retained on
    delete (data volumes) stays on the engine and leaves the state."""
    mocks = EngineMocks(stack_folder(stack) / "state.json", publish_address=loopback_address(stack))
    return mocks.destroy().summary()


def destroy_stack(spec: Path | str | None = None, *, overlays: list[Path] | None = None,
                  stack: str | None = None, preview: int | None = None) -> dict[str, int]:
    """Everything `up` made, gone: `pulumi destroy`, then the retained data volumes (which it
    leaves on purpose) and the state. With `preview`: the preview `<stack>-pr-N`, only."""
    name = stack or resolve_stack_name(Path(spec), [Path(p) for p in overlays or []])
    if preview is not None:
        name = preview_stack_name(name, preview)
    folder = stack_folder(name)
    changes = pulumi_destroy(name)
    teardown_stack(name)  # anything labelled with the stack that a failed run left outside the state
    remove_volumes(name)
    shutil.rmtree(folder, ignore_errors=True)
    return changes


def _config_pairs(pairs: list[str]) -> dict[str, str]:
    config = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"deploy.py: --config wants KEY=VALUE (or KEY=@FILE), got {pair!r}")
        if value.startswith("@"):
            value = Path(value[1:]).read_text()
        config[key if ":" in key else f"flashdrive:{key}"] = value
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("spec", type=Path)
    parser.add_argument("--overlay", action="append", type=Path, default=[])
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--stack", help="deploy under this stack name instead of the spec's")
    parser.add_argument("--preview", type=int, metavar="N",
                        help="the stack's preview for pull request N (<stack>-pr-N), seeded from its backups")
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    args = parser.parse_args(argv)
    log = (lambda line: print(f"[images] {line}", file=sys.stderr))
    try:
        if args.command == "down":
            changes = destroy_stack(args.spec, overlays=args.overlay, stack=args.stack, preview=args.preview)
            print(json.dumps({"changes": changes}) if args.json else f"deleted: {changes}")
            return 0
        deployed = deploy_stack(args.spec, overlays=args.overlay, config=_config_pairs(args.config),
                                stack=args.stack, log=log, preview=args.preview)
    except DeployFailed as exc:
        print(f"deploy.py: {exc}", file=sys.stderr)
        return 1
    except InputError as exc:
        print("\n".join(p.format() for p in exc.problems), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(deployed.summary(), sort_keys=True))
    else:
        print(f"{deployed.stack} at {deployed.address} in {deployed.seconds:.1f}s: {deployed.changes}")
        for app, url in sorted(deployed.urls.items()):
            print(f"  {app}: {url}  (curl --resolve {url.split('//')[1]}:443:{deployed.address} "
                  f"--cacert {deployed.ca_pem} {url})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
