"""The release runs as a pulumi-command Command: its script, run by /bin/sh against a recording
`docker`, keeps every env value off command lines, fails with the release's output, and stops a
release that outlives release_timeout_s. Its plan: triggers, secrets, and the copies' gate."""

from __future__ import annotations

from msgspec import structs
import json
import os
import subprocess
from pathlib import Path

import pytest

from flashdrive.docker.release import ReleaseContainer, release_environment, release_script
from flashdrive.model import resolve
from cli_helpers import copy_of
from flashdrive.plan import plan_spec
from flashdrive.pipeline import check_spec

COMMAND = "command:local:Command"
CONTAINER = "docker:index/container:Container"

# A stand-in for the Docker CLI: records each call (argv, and stdin for --env-file=/dev/stdin),
# answers `wait` with $FAKE_EXIT_CODE (or blocks until `stop` when FAKE_HANG is set).
FAKE_DOCKER = r"""#!/bin/sh
log="$FAKE_DOCKER_LOG"
printf 'ARGV' >> "$log"; for a in "$@"; do printf ' [%s]' "$a" >> "$log"; done; echo >> "$log"
for a in "$@"; do [ "$a" = "--env-file=/dev/stdin" ] && { printf 'STDIN ' >> "$log"; cat >> "$log"; }; done
case "$1" in
  wait) if [ -n "${FAKE_HANG:-}" ]; then while [ ! -e "$log.stopped" ]; do sleep 0.1; done; echo 143;
        else echo "$FAKE_EXIT_CODE"; fi ;;
  stop) : > "$log.stopped" ;;
  logs) echo "applying migration 0042_orders" ;;
esac
exit 0
"""

SPEC = """\
version: 1
stack: shop
apps:
  web:
    image: ghcr.io/acme/web:1.4
    release: ./manage.py migrate
    release_timeout_s: 600
    env:
      API_TOKEN: {config: apiToken}
      PATH: /opt/app/bin:/usr/bin:/bin
      PLAIN: hello
    disks: [{name: media, mount: /app/media, size_gb: 1}]
databases:
  main: {engine: postgres}
"""

SECRET = "tok-very-secret-value"


@pytest.fixture
def app(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text(SPEC)
    return resolve(*check_spec(spec)).apps["web"]


CONTAINER_SETTINGS = ReleaseContainer(name="shop-web-release", networks=("shop-internal", "shop-egress"),
                                      volumes=(("shop-disk-media", "/app/media", False),),
                                      labels={"flashdrive.stack": "shop", "flashdrive.role": "release"})


def run_script(tmp_path: Path, app, exit_code: int = 0, hang: bool = False) -> tuple[subprocess.CompletedProcess, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "docker"
    fake.write_text(FAKE_DOCKER)
    fake.chmod(0o755)
    log = tmp_path / "docker.log"
    env = {"API_TOKEN": SECRET, "PATH": "/opt/app/bin:/usr/bin:/bin", "PLAIN": "hello"}
    environment = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE_DOCKER_LOG=str(log),
                       FAKE_EXIT_CODE=str(exit_code), **({"FAKE_HANG": "1"} if hang else {}))
    environment.update(release_environment("ssh://deploy@server", "sha256:abc", env))
    result = subprocess.run(["/bin/sh", "-c", release_script(app, CONTAINER_SETTINGS, env)], env=environment,
                            capture_output=True, text=True, timeout=30)
    return result, log.read_text()


def test_a_release_passes_env_values_by_name_only_never_on_a_command_line(tmp_path, app):
    result, log = run_script(tmp_path, app)
    assert result.returncode == 0, result.stderr
    argv = [line for line in log.splitlines() if line.startswith("ARGV")]
    create = next(line for line in argv if line.startswith("ARGV [create]"))
    assert SECRET not in "\n".join(argv)
    assert "[--env=API_TOKEN]" in create and "[--env=PLAIN]" in create
    # PATH would change how the script finds docker: it travels on stdin instead.
    assert "[--env=PATH]" not in create and "STDIN PATH=/opt/app/bin:/usr/bin:/bin" in log
    assert "[sha256:abc] [/bin/sh] [-c] [./manage.py migrate]" in create
    assert "[--mount=type=volume,source=shop-disk-media,target=/app/media]" in create
    assert "[--network=shop-internal]" in create and "ARGV [network] [connect] [shop-egress] [shop-web-release]" in log
    assert "[--pids-limit=256]" in create and "[--cap-drop=ALL]" in create
    # The container is removed whatever happened.
    assert argv[-1] == "ARGV [rm] [-f] [shop-web-release]"


def test_a_failed_release_fails_the_command_with_its_output_and_exit_code(tmp_path, app):
    result, _ = run_script(tmp_path, app, exit_code=3)
    assert result.returncode == 1
    assert "applying migration 0042_orders" in result.stdout
    assert "the release command of app 'web' exited with code 3" in result.stderr
    assert "the running copies keep serving" in result.stderr


def test_a_release_that_outlives_its_timeout_is_stopped_and_fails(tmp_path, app):
    quick = structs.replace(app, release_timeout_s=1)
    result, log = run_script(tmp_path, quick, hang=True)
    assert result.returncode == 1
    assert "ARGV [stop] [--time] [10] [shop-web-release]" in log
    assert "ran longer than release_timeout_s (1 s) and was stopped" in result.stderr


@pytest.fixture
def plan(tmp_path):
    spec = tmp_path / "flashdrive.yaml"
    spec.write_text(SPEC)
    return plan_spec(spec, config={"flashdrive:apiToken": SECRET, "flashdrive:dockerHost": "ssh://deploy@server"})


def test_the_release_command_reruns_on_a_new_image_or_env_and_keeps_its_output_secret(plan):
    release = plan.get("shop-web-release", COMMAND)
    image, env, command, timeout = release.inputs["triggers"]
    assert image == release.inputs["environment"]["FLASHDRIVE_RELEASE_IMAGE"]
    assert env == "[secret]"  # holds API_TOKEN
    assert (command, timeout) == ("./manage.py migrate", 600)
    assert set(release.additional_secret_outputs) == {"stdout", "stderr"}
    assert release.inputs["logging"] == "none"
    assert SECRET not in json.dumps(plan.to_json())


def test_the_release_runs_on_the_configured_docker_host_after_the_database(plan):
    release = plan.get("shop-web-release", COMMAND)
    assert release.inputs["environment"]["DOCKER_HOST"] == "ssh://deploy@server"
    assert plan.get("shop-main", CONTAINER).urn in release.depends_on
    assert plan.get("shop-disk-media", "docker:index/volume:Volume").urn in release.depends_on


def test_every_docker_resource_goes_through_the_explicit_provider(plan):
    provider = plan.get("shop-docker", "pulumi:providers:docker")
    assert provider.inputs["host"] == "ssh://deploy@server"
    docker_resources = [r for r in plan.resources if r.custom and r.type.startswith("docker:")]
    assert docker_resources
    for resource in docker_resources:
        assert resource.provider and resource.provider.startswith(provider.urn), resource.name


def test_a_copy_waits_for_the_release_and_takes_nothing_from_it(plan):
    release = plan.get("shop-web-release", COMMAND)
    copy = copy_of(plan, "shop-web-1")
    assert release.urn in copy.depends_on
    assert all(release.urn not in urns for urns in copy.property_dependencies.values())
    assert copy.delete_before_replace is True
