"""An app's release command, run by `pulumi up` before any copy of the app is touched.

A `command:local:Command` (pulumi-command) runs a short POSIX shell script on the machine that
runs Pulumi; the script drives the Docker CLI against the stack's Docker host:
create a one-off container from the new image (hardened like the copies, the app's env, networks
and disks), start it, wait for it, print its output, remove it, and exit non-zero when it failed
or ran longer than `release_timeout_s` (a watchdog stops it).

Why a Command and not a docker.Container:
- a failed Command is an error of the deployment: the engine stops before the copies, which
  depend on it, are even registered, so the old copies keep serving; the failed create is not
  stored in the state, so the next `up` simply runs it again (no `--replace`).
- the provider's container-create timeout (20 min) no longer bounds migrations; the spec does.
- `triggers` (image digest and the release's env) replace the Command, which reruns the release;
  any other input change runs `create` again as the update. Replacement is create-before-delete
  and the Command is no container, so the engine never replaces the copies because of it.

Secrets: every env value reaches the script through the Command's `environment`, and the script
passes names only (`docker create --env NAME` copies the value from its own environment), so no
value appears on a command line, in the script text or in `ps`. Names that would change how the
shell or the Docker CLI itself runs (PATH, DOCKER_HOST, LD_PRELOAD, ...) travel under a prefixed
name and reach the container through an env file read from the script's stdin (printf is a shell
builtin: no process sees them either).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping

import pulumi
import pulumi_command as command
from msgspec import Struct

from flashdrive.docker.hardening import one_off_flags
from flashdrive.model.stack import ResolvedApp

IMAGE_VARIABLE = "FLASHDRIVE_RELEASE_IMAGE"
RESERVED_PREFIX = "FLASHDRIVE_RELEASE_ENV_"
# Seconds the release gets between SIGTERM (timeout) and SIGKILL.
STOP_GRACE_S = 10
# Variables the host's shell or Docker CLI reads: never set from the app's env.
_HOST_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        "IFS",
        "ENV",
        "BASH_ENV",
        "CDPATH",
        "SHELL",
        "TMPDIR",
        "PWD",
        "OLDPWD",
        "PS1",
        "PS2",
        "PS4",
        "LANG",
        "LC_ALL",
        "USER",
    }
)
_HOST_PREFIXES = ("DOCKER_", "LD_", "DYLD_", "PULUMI_", "SSH_", RESERVED_PREFIX)


def host_reserved(name: str) -> bool:
    return name in _HOST_NAMES or name.startswith(_HOST_PREFIXES)


class ReleaseContainer(Struct, frozen=True):
    """What the one-off container gets, besides the image and the env values."""

    name: str
    networks: tuple[str, ...]  # the first one at create, the others connected before start
    volumes: tuple[tuple[str, str, bool], ...]  # (volume, mount path, read only)
    labels: Mapping[str, str]


def _flags(app: ResolvedApp, container: ReleaseContainer, env_names: Iterable[str]) -> list[str]:
    size = app.size
    flags = ["--name", container.name]
    flags += [f"--label={k}={v}" for k, v in sorted(container.labels.items())]
    flags += one_off_flags(memory=f"{size.memory_mib}m", cpus=size.cpus, pids_limit=app.pids_limit)
    flags += [f"--network={container.networks[0]}"] if container.networks else ["--network=none"]
    for volume, path, read_only in container.volumes:
        flags.append(f"--mount=type=volume,source={volume},target={path}" + (",readonly" if read_only else ""))
    flags += [f"--env={name}" for name in sorted(env_names) if not host_reserved(name)]
    return flags


def watched_wait(timeout: int) -> list[str]:
    """Shell lines that wait for the one-off container "$n" into $code, with a watchdog that stops it
    (SIGTERM, then SIGKILL after STOP_GRACE_S) once it outlives `timeout` seconds; the watchdog is
    killed when the container ends first."""
    return [
        f'( trap \'kill "$s" 2>/dev/null; exit 0\' TERM; sleep {timeout} & s=$!; wait "$s" && '
        f'docker stop --time {STOP_GRACE_S} "$n" ) </dev/null >/dev/null 2>&1 &',
        "watchdog=$!",
        'code=$(docker wait "$n")',
        'kill "$watchdog" 2>/dev/null',
    ]


def release_script(
    app: ResolvedApp,
    container: ReleaseContainer,
    env_names: Iterable[str],
    *,
    what: str | None = None,
    kept: str | None = None,
) -> str:
    """The shell script the Command runs: names and flags only, never a value of the env. `what` and
    `kept` word its errors for another one-off command than the release (a preview's scrub)."""
    assert app.release is not None
    names = sorted(set(env_names))
    reserved = [n for n in names if host_reserved(n)]
    q = shlex.quote
    timeout = app.release_timeout_s
    create = "docker create " + " ".join(q(f) for f in _flags(app, container, names))
    if reserved:
        create += " --env-file=/dev/stdin"
    create += f' "${IMAGE_VARIABLE}" /bin/sh -c {q(app.release)}'
    if reserved:
        lines = " ".join(q(f"{n}=") + f'"${RESERVED_PREFIX}{n}"' for n in reserved)
        create = f"printf '%s\\n' {lines} | {create}"
    what = what or f"the release command of app '{app.name}'"
    kept = kept or "no copy of the app was changed; the running copies keep serving. The next `up` runs it again."
    script = [
        "set -u",
        f"n={q(container.name)}",
        # A release interrupted with its `up` may have left its container behind.
        'docker rm -f "$n" >/dev/null 2>&1',
        f"{create} >/dev/null || exit 1",
        *[
            f'docker network connect {q(net)} "$n" >/dev/null || {{ docker rm -f "$n" >/dev/null 2>&1; exit 1; }}'
            for net in container.networks[1:]
        ],
        "started=$(date +%s)",
        'docker start "$n" >/dev/null || { docker rm -f "$n" >/dev/null 2>&1; exit 1; }',
        *watched_wait(timeout),
        "elapsed=$(( $(date +%s) - started ))",
        'docker logs "$n" 2>&1',
        'docker rm -f "$n" >/dev/null 2>&1',
        '[ "$code" = 0 ] && exit 0',
        f'if [ "$elapsed" -ge {timeout} ]; then',
        f"  echo {q(f'error: {what} ran longer than release_timeout_s ({timeout} s) and was stopped; {kept}')} >&2",
        "else",
        f'  echo {q(f"error: {what} exited with code ")}"${{code:-unknown}}"{q(f"; {kept} Its output is above.")} >&2',
        "fi",
        "exit 1",
    ]
    return "\n".join(script) + "\n"


def release_environment(host: str, image: pulumi.Input[str], env: Mapping[str, pulumi.Input[str]]) -> dict:
    """The Command's environment: where Docker runs, the image, and the app's env by name."""
    values: dict[str, pulumi.Input[str]] = {"DOCKER_HOST": host, IMAGE_VARIABLE: image}
    for name, value in env.items():
        values[RESERVED_PREFIX + name if host_reserved(name) else name] = value
    return values


def release_command(
    resource_name: str,
    app: ResolvedApp,
    container: ReleaseContainer,
    host: str,
    image: pulumi.Input[str],
    env: Mapping[str, pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
    *,
    what: str | None = None,
    kept: str | None = None,
) -> command.local.Command:
    """The release as a pulumi-command local Command. Inputs used: create, environment, triggers,
    logging, add_previous_output_in_env; stdout and stderr are secret outputs."""
    # Any secret among the env values makes the whole trigger list secret in the state.
    triggers = [image, pulumi.Output.all(**{k: env[k] for k in sorted(env)}), app.release, app.release_timeout_s]
    return command.local.Command(
        resource_name,
        create=release_script(app, container, env, what=what, kept=kept),
        environment=release_environment(host, image, env),
        triggers=triggers,
        # The output may print settings; it reaches the user in the error of a failed release, and
        # is kept out of the engine's event log and encrypted in the state.
        logging=command.local.Logging.NONE,
        add_previous_output_in_env=False,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["stdout", "stderr"])),
    )
