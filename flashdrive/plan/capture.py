"""Run a Pulumi program offline under the SDK's mock monitor and record every registration.

The program runs exactly as `pulumi up` would run it (`pulumi.runtime.stack.run_in_stack`: a root
`pulumi:pulumi:Stack`, the program, the stack's exports registered as its outputs, then waiting
for every outstanding RPC and output), except that the resource monitor is a
`pulumi.runtime.mocks.MockMonitor` that records each request before answering it.

Isolation: each capture runs on its own thread, so it starts from an empty `contextvars` context
(no root resource, no config) with its own event loop and its own default executor; the SDK's
settings are configured for that context only. Afterwards the loop, its executor threads and the
event loops those threads needed are closed, and the process-wide fallbacks the SDK's
`contextproperty` settings silently take on when first set in a fresh context are put back.
A second capture in the same process therefore sees nothing of the first.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import inspect
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pulumi
from msgspec import Struct, field
from msgspec.structs import replace
from pulumi.runtime import config as pulumi_config
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.mocks import MockEngine, MockMonitor, Mocks, MockSettings
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_in_stack

from flashdrive import process
from flashdrive.labels import (
    DOCKER_IMAGE,
    DOCKER_REMOTE_IMAGE,
    RANDOM_ID,
    RANDOM_INTEGER,
    RANDOM_PASSWORD,
    RANDOM_STRING,
    RANDOM_UUID,
    STACK_TYPE,
)
from flashdrive.plan import wire_values
from flashdrive.plan.plan import Plan, PlannedResource
from flashdrive.problems import FlashdriveError, InputError


class ProgramError(FlashdriveError):
    """The Pulumi program failed while being planned. `str()` is a clean message for the user;
    the original exception is `cause` (and `__cause__`); `source` the spec it planned, when the
    command read several (diff)."""

    def __init__(self, message: str, cause: BaseException | None = None, source: str | None = None):
        super().__init__(message)
        self.cause = cause
        self.source = source

    def report(self, command: str | None = None) -> str:
        if self.source is None:
            return f"error: the Pulumi program failed: {self}"
        return f"flashdrive {command}: error: {self.source}: the Pulumi program failed: {self}"


# --- mocks: deterministic answers for what only a provider would know ------------------------


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _placeholder(seed: str, length: Any) -> str:
    """A deterministic stand-in of the requested length for a random result."""
    size = int(length) if isinstance(length, (int, float)) and 0 < length <= 1024 else 16
    text = ""
    counter = 0
    while len(text) < size:
        text += _digest(seed, counter)
        counter += 1
    return text[:size]


class PlanMocks(Mocks):
    """`pulumi.runtime.Mocks` whose answers depend only on the registration: id = NAME-id; random
    results and image digests are placeholders derived from the name (and the masked inputs);
    every other resource echoes its inputs as its outputs."""

    def __init__(self) -> None:
        self._current = threading.local()

    # Set by the monitor around each registration (same thread): the masked inputs and URN, so
    # derived values never depend on a secret's plaintext.
    def _context(self) -> tuple[str, dict[str, Any]]:
        return getattr(self._current, "urn", ""), getattr(self._current, "masked", {})

    def new_resource(self, args) -> tuple[str, dict]:
        urn, masked = self._context()
        name, typ, inputs = args.name, args.typ, dict(args.inputs)
        resource_id = f"{name}-id"
        seed = urn or f"{typ}::{name}"
        if typ in (RANDOM_PASSWORD, RANDOM_STRING):
            result = _placeholder(seed, inputs.get("length"))
            state = {**inputs, "result": result}
            if typ == RANDOM_PASSWORD:
                state["bcryptHash"] = "$2a$10$" + _placeholder(seed + "#bcrypt", 53)
            return resource_id, state
        if typ == RANDOM_ID:
            hexa = _placeholder(seed, 2 * int(inputs.get("byteLength") or 8))
            raw = bytes.fromhex(hexa)
            return resource_id, {
                **inputs,
                "hex": hexa,
                "dec": str(int(hexa, 16)),
                "b64Std": base64.b64encode(raw).decode(),
                "b64Url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
            }
        if typ == RANDOM_UUID:
            return resource_id, {**inputs, "result": str(uuid.uuid5(uuid.NAMESPACE_URL, seed))}
        if typ == RANDOM_INTEGER:
            return resource_id, {**inputs, "result": inputs.get("min", 0)}
        if typ == DOCKER_IMAGE:
            image_name = str(inputs.get("imageName") or name)
            repository = image_name.split("@")[0]
            if ":" in repository.rsplit("/", 1)[-1]:
                repository = repository.rsplit(":", 1)[0]
            build = inputs.get("build")
            build = build if isinstance(build, dict) else {}
            return resource_id, {
                **inputs,
                "imageName": image_name,
                "baseImageName": image_name,
                "repoDigest": f"{repository}@sha256:{_digest(seed, masked)}",
                "context": build.get("context", "."),
                "dockerfile": build.get("dockerfile", "Dockerfile"),
                "platform": build.get("platform", ""),
                "registryServer": "",
            }
        if typ == DOCKER_REMOTE_IMAGE:
            image = str(inputs.get("name") or name)
            digest = _digest(image)
            repository = image.split("@")[0]
            if ":" in repository.rsplit("/", 1)[-1]:
                repository = repository.rsplit(":", 1)[0]
            return resource_id, {**inputs, "repoDigest": f"{repository}@sha256:{digest}", "imageId": f"sha256:{digest}"}
        if typ.startswith("docker:") and "name" not in inputs:
            # Docker names what is left unnamed; the plan's stand-in is the resource name.
            inputs["name"] = name
        return resource_id, inputs

    def call(self, args) -> tuple[dict, list[tuple[str, str]] | None]:
        """(result, failures): the SDK's mock monitor takes both this and a bare dict."""
        if args.token == "docker:index/getRegistryImage:getRegistryImage":
            image = str(args.args.get("name", ""))
            return {"name": image, "sha256Digest": f"sha256:{_digest(image)}"}, None
        return {}, None

    # Mocks' optional hooks (the monitor calls them when the program registers stack transforms).
    def register_transform(self, transform) -> None:  # pragma: no cover - transforms never run under mocks
        pass

    def register_invoke_transform(self, transform) -> None:  # pragma: no cover
        pass


# --- the recording monitor ------------------------------------------------------------------


class _Recorded(Struct):
    resources: dict[str, PlannedResource] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    logs: list[tuple[str, str]] = field(default_factory=list)


def _alias(alias) -> Any:
    if alias.WhichOneof("alias") == "urn":
        return alias.urn
    spec = alias.spec
    shown: dict[str, Any] = {}
    for key in ("name", "type", "stack", "project"):
        if getattr(spec, key):
            shown[key] = getattr(spec, key)
    if spec.WhichOneof("parent") == "parentUrn" and spec.parentUrn:
        shown["parentUrn"] = spec.parentUrn
    elif spec.WhichOneof("parent") == "noParent" and spec.noParent:
        shown["noParent"] = True
    return shown


def provider_checked(type_token: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs as the provider's Check hands them to the engine.

    pulumi-docker's Image Check adds `build.contextDigest`, a hash of exactly the files the build
    sends (its `.dockerignore` rules applied) and of the Dockerfile: the engine's diff sees a code
    change as a change of the image, which is rebuilt, and so rolls every container that takes
    its digest. The plan records the same field (our hash; the value differs from the provider's,
    the changes it shows do not)."""
    build = inputs.get("build")
    if type_token != DOCKER_IMAGE or not isinstance(build, dict) or not isinstance(build.get("context"), str):
        return inputs
    from pathlib import Path

    from flashdrive.buildpack.build_context import BadPattern, context_hash

    context = Path(build["context"])
    dockerfile = Path(build["dockerfile"]) if isinstance(build.get("dockerfile"), str) else context / "Dockerfile"
    if not context.is_dir():
        return inputs  # the build itself reports a missing context
    try:
        digest = context_hash(context, dockerfile)
    except (BadPattern, OSError) as exc:
        raise ProgramError(f"cannot read the build context {context}: {exc}") from None
    return {**inputs, "build": {**build, "contextDigest": digest}}


class RecordingMonitor(MockMonitor):
    """A MockMonitor that records each request (type, name, parent, custom, inputs with secrets
    masked, resource options) and the outputs registered for stacks and components, and that
    answers like the engine would: outputs named in `additionalSecretOutputs`, or whose input
    was secret, come back secret; a duplicate URN is an error."""

    def __init__(self, mocks: PlanMocks):
        super().__init__(mocks)
        self.recorded = _Recorded()
        self._lock = threading.Lock()

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs = provider_checked(request.type, wire_values.struct_to_python(request.object, mask=True))
        property_dependencies = {
            key: tuple(sorted(set(deps.urns))) for key, deps in sorted(request.propertyDependencies.items())
        }
        resource = PlannedResource(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=bool(request.custom),
            inputs=inputs,
            protect=request.protect if request.HasField("protect") else False,
            retain_on_delete=request.retainOnDelete if request.HasField("retainOnDelete") else False,
            delete_before_replace=bool(request.deleteBeforeReplace),
            depends_on=tuple(sorted(set(request.dependencies))),
            aliases=tuple([_alias(a) for a in request.aliases] + list(request.aliasURNs)),
            property_dependencies=property_dependencies,
            ignore_changes=tuple(request.ignoreChanges),
            replace_on_changes=tuple(request.replaceOnChanges),
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
            provider=request.provider or None,
            deleted_with=request.deletedWith or None,
            custom_timeouts={
                key: getattr(request.customTimeouts, key)
                for key in ("create", "update", "delete")
                if getattr(request.customTimeouts, key)
            },
        )
        with self._lock:
            if urn in self.recorded.resources:
                raise RuntimeError(
                    f"duplicate resource URN '{urn}': two resources of type "
                    f"{request.type} are both named '{request.name}' under the same parent"
                )
            self.recorded.resources[urn] = resource

        mocks = self.mocks  # a PlanMocks: capture() installs one
        mocks._current.urn, mocks._current.masked, mocks._current.resource = urn, inputs, resource
        try:
            response = super().RegisterResource(request)
        finally:
            mocks._current.urn, mocks._current.masked, mocks._current.resource = "", {}, None

        # The engine marks an output secret when the program asked for it or when the input of
        # the same name was secret; the plain mock does neither.
        secret = set(request.additionalSecretOutputs) | wire_values.secret_keys(request.object)
        if response.HasField("object"):
            for key in secret & set(response.object.fields.keys()):
                wrapped = wire_values.wrap_secret(response.object.fields[key])
                response.object.fields[key].CopyFrom(wrapped)
        return response

    def RegisterResourceOutputs(self, request):
        with self._lock:
            self.recorded.outputs[request.urn] = wire_values.struct_to_python(request.outputs, mask=True)
        return super().RegisterResourceOutputs(request)


class _LogCollector:
    """Stands in for the `logging.Logger` the mock engine writes `pulumi.log` messages to."""

    def __init__(self, logs: list[tuple[str, str]]):
        self._logs = logs

    def debug(self, message, *args, **kwargs) -> None:
        pass

    def info(self, message, *args, **kwargs) -> None:
        self._logs.append(("info", str(message)))

    def warning(self, message, *args, **kwargs) -> None:
        self._logs.append(("warning", str(message)))

    warn = warning

    def error(self, message, *args, **kwargs) -> None:
        self._logs.append(("error", str(message)))


# --- running a program ------------------------------------------------------------------------


def capture(
    program: Callable[[], Any],
    *,
    project: str = "flashdrive",
    stack: str = "dev",
    config: Mapping[str, str] | None = None,
    secret_config_keys: Iterable[str] = (),
    mocks: PlanMocks | None = None,
) -> Plan:
    """Run `program` (which registers resources and calls `pulumi.export`) offline and return
    what it registered.

    `config` keys are full Pulumi config keys (`flashdrive:apiToken`); a key without a namespace
    gets `project:`. Keys in `secret_config_keys` (either form) are secret, as
    `pulumi config set --secret` makes them.

    Raises `InputError` unchanged if the program raises one, and `ProgramError` (a clean message)
    for any other failure of the program or of a registration.

    `mocks` replaces the plan's answers (the end-to-end suite passes one that creates for real).
    """
    full = {_full_key(project, k): str(v) for k, v in (config or {}).items()}
    secrets = sorted({_full_key(project, k) for k in secret_config_keys})
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            with _cyclic_gc_paused(), _no_source_positions():
                outcome["plan"] = _capture_on_this_thread(program, project, stack, full, secrets, mocks)
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            outcome["error"] = exc

    # A new thread starts with an empty contextvars context: nothing of the caller's Pulumi state
    # (root resource, config, settings) is visible to the program, and nothing leaks back.
    thread = threading.Thread(target=target, name="flashdrive-plan", daemon=True)
    thread.start()
    thread.join()
    error = outcome.get("error")
    if error is not None:
        if isinstance(error, (InputError, KeyboardInterrupt, SystemExit, ProgramError)):
            raise error
        raise ProgramError(_describe(error), error) from error
    return outcome["plan"]


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Performance only: no automatic cyclic garbage collection while a program is captured, and
    the final collection of the capture walks only what was made since the capture started.

    The SDK makes an Output (a task and its futures) for every property of every resource, so
    the heap grows by hundreds of thousands of objects, and the collector's automatic full
    collections walked all of it again and again: 70% of the time of a 200-app plan. Reference
    counting still frees what is not in a cycle, and the full collection at the end of the
    capture frees the rest. Objects that were there before (modules, the caller's data) are
    frozen meanwhile (`gc.freeze`), so that collection does not walk them: a third of the time
    of a one-app plan. Process-wide settings, so counted: the first of concurrent captures pauses
    and freezes, the last one puts things back as they were."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
            gc.freeze()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0:
                gc.unfreeze()
                if _gc_was_enabled:
                    gc.enable()


_trace_lock = threading.Lock()
_trace_skips = 0
_sdk_stack_trace = pulumi_resource._get_stack_trace


def _no_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


@contextmanager
def _no_source_positions() -> Iterator[None]:
    """Performance only: the SDK reads the Python stack of every resource it registers
    (traceback.extract_stack, each frame's source line) to tell the engine where in the program
    the resource was made; no monitor of a capture reads it, and it was a sixth of a one-app
    plan's capture. Process-wide, so counted like the pause above."""
    global _trace_skips
    with _trace_lock:
        if _trace_skips == 0:
            pulumi_resource._get_stack_trace = _no_stack_trace
        _trace_skips += 1
    try:
        yield
    finally:
        with _trace_lock:
            _trace_skips -= 1
            if _trace_skips == 0:
                pulumi_resource._get_stack_trace = _sdk_stack_trace


def _full_key(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _describe(error: BaseException) -> str:
    if isinstance(error, pulumi.RunError):
        return str(error)
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _capture_on_this_thread(
    program: Callable[[], Any],
    project: str,
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
    mocks: PlanMocks | None = None,
) -> Plan:
    thread_loops: list[asyncio.AbstractEventLoop] = []
    loops_lock = threading.Lock()

    def give_worker_a_loop() -> None:
        # The mock monitor pumps an event loop of its own on the executor thread that calls it;
        # create it here so it can be closed afterwards.
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_quiet)
        asyncio.set_event_loop(loop)
        with loops_lock:
            thread_loops.append(loop)

    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_quiet)
    asyncio.set_event_loop(loop)
    executor = ThreadPoolExecutor(
        max_workers=4, thread_name_prefix="flashdrive-plan-rpc", initializer=give_worker_a_loop
    )
    loop.set_default_executor(executor)
    try:
        monitor = RecordingMonitor(mocks or PlanMocks())
        pulumi_settings.ROOT.set(None)
        pulumi_config.set_all_config(dict(config), list(secret_keys))
        # What `pulumi.runtime.set_mocks` does, minus creating and finishing a root Stack itself:
        # `run_in_stack` below creates the stack and registers the exports as its outputs once the
        # program is done (set_mocks' stack registers its outputs up front, so exports are lost).
        features = set(monitor.GetDeploymentInfo(None).supportedFeatures)
        pulumi_settings.configure(
            MockSettings(
                monitor=monitor,
                monitor_features=features,
                engine=MockEngine(_LogCollector(monitor.recorded.logs)),  # type: ignore[arg-type]  # MockEngine wants a logging.Logger; _LogCollector has the methods it calls
                project=project,
                stack=stack,
                dry_run=False,
                organization="organization",
                root_directory=None,
                callbacks=None,
                outputs=set(),
                lock=threading.Lock(),
                package_refs={},
                base_providers_by_ref={},
            )
        )
        loop.run_until_complete(run_in_stack(lambda: _settled(program)))
        recorded = monitor.recorded
        resources = []
        for urn in sorted(recorded.resources):
            resource = recorded.resources[urn]
            if urn in recorded.outputs:
                resource = _with_outputs(resource, recorded.outputs[urn])
            resources.append(resource)
        stack_urns = [r.urn for r in resources if r.type == STACK_TYPE and r.parent is None]
        outputs = recorded.outputs.get(stack_urns[0], {}) if stack_urns else {}
        plan = Plan(
            resources=resources,
            outputs=outputs,
            project=project,
            pulumi_stack=stack,
            stack=stack,
            logs=list(recorded.logs),
        )
        return _scrub_secret_config(plan, {k: config[k] for k in secret_keys if k in config})
    finally:
        _close_loop(loop)
        executor.shutdown(wait=True)
        for worker_loop in thread_loops:
            worker_loop.close()
        asyncio.set_event_loop(None)
        _restore_settings_defaults(pulumi_settings.Settings, _PRISTINE_DEFAULTS)
        # Let what the run left behind (futures, loops, resources in cycles) be finalized here,
        # on this thread, rather than at some later collection in the caller's thread; unless the
        # process ends with its command (flashdrive.cli.main.entry), which frees it all at once.
        thread_loops.clear()
        del loop, executor
        if not process.ends_after_command:
            gc.collect()


MIN_SCRUBBED_LENGTH = 4


def _scrub_secret_config(plan: Plan, secret_config: dict[str, str]) -> Plan:
    """Belt and braces: a secret config value that reached an input or output unmarked (read with
    `Config.get` instead of `get_secret`) is masked all the same, and the plan warns about it,
    because `pulumi up` would store it in plaintext."""
    needles = {key: value for key, value in secret_config.items() if len(value) >= MIN_SCRUBBED_LENGTH}
    if not needles:
        return plan
    hits: set[tuple[str, str, str]] = set()

    def scrub(value: Any, where: str, path: str, env_list: bool = False) -> Any:
        if isinstance(value, str):
            leaked = [key for key, secret in needles.items() if secret in value]
            if not leaked:
                return value
            hits.update((where, path, key) for key in leaked)
            match = wire_values._ENV_ENTRY.match(value) if env_list else None
            if match and not any(needles[key] in match.group(1) for key in leaked):
                return f"{match.group(1)}={wire_values.SECRET}"
            return wire_values.SECRET
        if isinstance(value, list):
            return [scrub(item, where, f"{path}[{i}]", env_list) for i, item in enumerate(value)]
        if isinstance(value, dict):
            return {
                scrub(key, where, path): scrub(
                    item, where, f"{path}.{key}" if path else str(key), key == wire_values.ENV_KEY
                )
                for key, item in value.items()
            }
        return value

    plan.outputs = scrub(plan.outputs, "stack outputs", "")
    resources = []
    for resource in plan.resources:
        inputs = scrub(resource.inputs, resource.urn, "")
        outputs = resource.outputs
        if resource.type == STACK_TYPE and resource.parent is None:
            outputs = plan.outputs if outputs is not None else None
        elif outputs is not None:
            outputs = scrub(outputs, resource.urn, "outputs")
        resources.append(replace(resource, inputs=inputs, outputs=outputs))
    plan.resources = resources
    for where, path, key in sorted(hits):
        plan.logs.append(
            (
                "warning",
                f"{where}: {path or 'a value'} holds the secret config value "
                f"'{key}' without being marked secret: it is masked here, but "
                "`pulumi up` would store it in plaintext; read it with "
                "Config.require_secret/get_secret",
            )
        )
    return plan


async def _settled(program: Callable[[], Any]) -> None:
    """Run `program` (as `run_in_stack` would: its result awaited if it is awaitable), then let the
    Outputs it made resolve before `run_in_stack` goes on to its own wait.

    Performance only. The SDK's final wait (`wait_for_rpcs`) waits for outstanding Outputs with
    `asyncio.wait(FIRST_COMPLETED)` in a loop: every time anything completes, it hooks and unhooks
    a callback on every Output still pending (tens of thousands). While registrations are still
    trickling in from the executor that is one pass per trickle: for a 200-app plan, 30 passes
    over up to 40,000 Outputs (900,000 hooks), a fifth of the plan's time. Waiting here with
    ALL_COMPLETED hooks each Output once per round, and the SDK's loop then finds everything
    done. Failures are left where they are: the SDK still awaits every Output afterwards and
    raises what it raised before."""
    result = program()
    if inspect.isawaitable(result):
        await result
    while True:
        with pulumi_settings.SETTINGS.lock:
            pending = [task for task in pulumi_settings.SETTINGS.outputs if not task.done()]
        if not pending:
            return
        await asyncio.wait(pending)


def _quiet(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """A failed program leaves futures whose exception nobody retrieved (the first failure is
    what `capture` raises); asyncio would print each with a traceback to stderr."""


def _with_outputs(resource: PlannedResource, outputs: dict[str, Any]) -> PlannedResource:
    return replace(resource, outputs=outputs)


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel whatever a failed program left pending, then close the loop quietly."""
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


_DEFAULT_ATTR = "_ContextProperty__default"


def _settings_defaults(settings_class: type) -> dict[str, Any]:
    """The SDK's `contextproperty` remembers the first value set in a fresh context as its
    process-wide fallback; snapshot those fallbacks so a capture leaves none behind."""
    saved = {}
    for name, prop in vars(settings_class).items():
        if hasattr(prop, _DEFAULT_ATTR):
            saved[name] = getattr(prop, _DEFAULT_ATTR)
    return saved


def _restore_settings_defaults(settings_class: type, saved: dict[str, Any]) -> None:
    for name, default in saved.items():
        setattr(vars(settings_class)[name], _DEFAULT_ATTR, default)


# Taken once, before any capture, so captures on several threads all restore the same values.
_PRISTINE_DEFAULTS = _settings_defaults(pulumi_settings.Settings)


__all__ = ["PlanMocks", "ProgramError", "RecordingMonitor", "capture"]
