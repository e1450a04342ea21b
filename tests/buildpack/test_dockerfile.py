"""The generated Dockerfile: byte-for-byte goldens per layout, and the properties every one must have.

Regenerate the goldens after an intended change with `UPDATE_GOLDEN=1 pytest tests/buildpack`.
"""

from __future__ import annotations

import os
import re

import pytest

from buildpack_helpers import FIXTURES, GOLDEN, django_app
from flashdrive.buildpack import BuildpackError, default_dockerignore, detect, procfile_command, render_dockerfile
from flashdrive.buildpack.dockerignore import is_excluded

CORPORATE = {"ca_bundle": ".flashdrive/ca.pem", "pip_index_url": "https://pypi.corp.example.com/simple"}

CASES = {
    "pip_django": ("pip_django", {}),
    "pip_django_corporate": ("pip_django", {
        **CORPORATE,
        "base_image": "registry.corp.example.com/hub/python:3.12-slim",
        "build_args": ["SENTRY_ENVIRONMENT", "DJANGO_SETTINGS_MODULE"],
    }),
    "pipenv_flask": ("pipenv_flask", {}),
    "pipenv_flask_corporate": ("pipenv_flask", CORPORATE),
    "poetry_django": ("poetry_django", {}),
    "poetry_django_corporate": ("poetry_django", CORPORATE),
    "uv_celery": ("uv_celery", {}),
    "uv_celery_corporate": ("uv_celery", CORPORATE),
    "pip_worker": ("pip_worker", {}),
    "pip_editable": ("pip_editable", {}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_dockerfile_matches_its_golden(case):
    fixture, options = CASES[case]
    text = render_dockerfile(detect(FIXTURES / fixture), **options)
    golden = GOLDEN / f"{case}.Dockerfile"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(text)
    assert golden.is_file(), f"no golden for {case}; run with UPDATE_GOLDEN=1 to write it"
    assert text == golden.read_text()


def _stages(text: str) -> tuple[list[str], list[str]]:
    """The build stage's lines and the runtime stage's lines."""
    lines = text.splitlines()
    froms = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    assert len(froms) == 2, froms
    return lines[froms[0]:froms[1]], lines[froms[1]:]


@pytest.mark.parametrize("fixture", ["pip_django", "pipenv_flask", "poetry_django", "uv_celery", "pip_worker"])
def test_dependencies_install_before_the_source_is_copied_in_both_stages(fixture):
    detection = detect(FIXTURES / fixture)
    build, runtime = _stages(render_dockerfile(detection))
    source_in_build = build.index("COPY . .") if "COPY . ." in build else len(build)
    copies = [i for i, line in enumerate(build) if line.startswith("COPY ") and i < source_in_build]
    assert all(name in " ".join(build[i] for i in copies) for name in detection.dependency_files)
    install = next(i for i in range(max(copies) + 1, len(build)) if build[i].startswith("RUN "))
    assert install < source_in_build
    source_in_runtime = runtime.index("COPY --chown=10001:10001 . .")
    takes = [i for i, line in enumerate(runtime) if "from=build" in line]
    assert takes and max(takes) < source_in_runtime


@pytest.mark.parametrize("fixture, command", [
    ("pip_django", "RUN pip wheel --no-cache-dir --wheel-dir /opt/flashdrive/wheels -r requirements.txt"),
    ("pipenv_flask", "RUN /opt/pipenv/bin/pipenv verify \\"),
    ("poetry_django", "RUN /opt/poetry/bin/poetry sync --only main --no-root --no-ansi"),
    ("uv_celery", "RUN uv sync --locked --no-dev --no-install-project"),
])
def test_each_manager_installs_exactly_what_is_locked(fixture, command):
    assert command in render_dockerfile(detect(FIXTURES / fixture)).splitlines()


@pytest.mark.parametrize("fixture", ["pip_django", "pipenv_flask", "poetry_django", "uv_celery", "pip_editable"])
def test_the_runtime_stage_installs_what_the_build_stage_built_and_no_toolchain(fixture):
    text = render_dockerfile(detect(FIXTURES / fixture), base_image="slim:1", build_image="full:1")
    build, runtime = _stages(text)
    assert build[0] == "FROM full:1 AS build" and runtime[0] == "FROM slim:1"
    runtime_text = "\n".join(runtime)
    # nothing that downloads or compiles a Python package runs in the runtime stage
    for tool in ("pip wheel", "pipenv", "poetry", "uv ", "gcc", "-dev", "build-essential", "-r requirements.txt"):
        assert tool not in runtime_text, tool
    assert "COPY --from=build /opt/flashdrive/runtime-packages /opt/flashdrive/runtime-packages" in runtime
    if detect(FIXTURES / fixture).package_manager in ("poetry", "uv"):
        assert "COPY --from=build /opt/venv /opt/venv" in runtime
        assert "    PATH=/opt/venv/bin:$PATH \\" in runtime
    else:
        assert "pip install --no-cache-dir --no-index --no-deps" in runtime_text
        assert "--mount=type=bind,from=build,source=/opt/flashdrive/wheels" in runtime_text


def test_runtime_libraries_come_from_scanning_the_built_extension_modules():
    build, runtime = _stages(render_dockerfile(detect(FIXTURES / "pip_django")))
    scan = "\n".join(build[next(i for i, line in enumerate(build) if "ldd" in line) - 3:])
    assert "-exec ldd {} +" in scan and 'dpkg -S "$lib"' in scan and "> /opt/flashdrive/runtime-packages" in scan
    # the runtime stage downloads only packages it lacks, and nothing when it lacks none
    installing = "\n".join(runtime)
    assert 'if [ -n "$missing" ]; then' in installing
    assert "apt-get install -y --no-install-recommends $missing" in installing


def test_aptfile_packages_install_in_both_stages(make_app):
    app = make_app({
        "Procfile": "web: gunicorn app:app\n",
        "requirements.txt": "gunicorn\n",
        "Aptfile": "# for pdf rendering\nlibcairo2-dev\n\nghostscript libcairo2-dev\n",
    })
    detection = detect(app)
    assert detection.apt_packages == ("libcairo2-dev", "ghostscript")
    build, runtime = _stages(render_dockerfile(detection))
    assert " && apt-get install -y --no-install-recommends libcairo2-dev ghostscript \\" in build
    assert any("$(cat /opt/flashdrive/runtime-packages) libcairo2-dev ghostscript;" in line for line in runtime)


@pytest.mark.parametrize("line, message", [
    ("https://example.com/x.deb", "adds a repository or a .deb file"),
    (":repo:deb http://apt.example.com stable main", "adds a repository or a .deb file"),
    ("LibFoo", "not a Debian package name"),
])
def test_aptfile_lines_that_are_not_package_names_are_errors_at_their_line(make_app, line, message):
    app = make_app({"Procfile": "web: python app.py\n", "requirements.txt": "flask\n", "Aptfile": f"curl\n{line}\n"})
    with pytest.raises(BuildpackError, match=message) as raised:
        detect(app)
    assert raised.value.line == 2 and raised.value.file == app / "Aptfile"


def test_runs_as_a_fixed_non_root_user_that_owns_the_app_folder():
    text = render_dockerfile(detect(FIXTURES / "pip_django"))
    assert "useradd --uid 10001" in text and "install -d -o 10001 -g 10001 /app" in text
    # everything after USER runs unprivileged, including collectstatic, so the static files are the app's
    assert text.index("USER 10001:10001") < text.index("collectstatic")


def test_cmd_is_the_web_process_else_the_first_one():
    for fixture, process in [("pip_django", "web"), ("pip_worker", "worker")]:
        detection = detect(FIXTURES / fixture)
        cmd = render_dockerfile(detection).rstrip("\n").splitlines()[-1]
        assert cmd == "CMD " + __import__("json").dumps(procfile_command(detection, process))
    assert "EXPOSE" not in render_dockerfile(detect(FIXTURES / "pip_worker"))


def test_collectstatic_only_when_detection_says_so(make_app):
    app = make_app(django_app())
    assert "collectstatic --noinput" in render_dockerfile(detect(app))
    assert "collectstatic" not in render_dockerfile(detect(app, build_env={"DISABLE_COLLECTSTATIC": "1"}))


def test_build_args_are_sorted_and_deduplicated():
    text = render_dockerfile(detect(FIXTURES / "pip_worker"), build_args=["ZED", "ALPHA", "ZED"])
    assert re.findall(r"^ARG (\w+)$", text, re.M) == ["ALPHA", "ZED"]


def test_index_url_and_ca_bundle_are_build_time_only():
    for fixture in ("pip_django", "pipenv_flask", "poetry_django", "uv_celery"):
        text = render_dockerfile(detect(FIXTURES / fixture), **CORPORATE)
        env_blocks = re.findall(r"^ENV (?:.*\\\n)*.*$", text, re.M)
        assert env_blocks and not any("corp.example.com" in block or "ca-bundle" in block for block in env_blocks)
        assert "ARG PIP_INDEX_URL=https://pypi.corp.example.com/simple" in text
        assert "ARG SSL_CERT_FILE=/etc/flashdrive/ca-bundle.pem" in text
        assert "COPY .flashdrive/ca.pem /etc/flashdrive/extra-ca.pem" in text
        # the CA must be trusted before anything is downloaded
        assert text.index("ARG PIP_CERT=") < text.index("RUN ", text.index("ARG PIP_CERT="))


def test_ca_bundle_must_be_inside_the_build_context():
    detection = detect(FIXTURES / "pip_worker")
    for bad in ("/etc/ssl/corp.pem", "../certs/corp.pem"):
        with pytest.raises(ValueError, match="inside the build context"):
            render_dockerfile(detection, ca_bundle=bad)


def test_build_arg_names_must_be_env_var_names():
    with pytest.raises(ValueError, match="not an environment variable name"):
        render_dockerfile(detect(FIXTURES / "pip_worker"), build_args=["NOT-VALID"])


def test_the_same_detection_always_gives_the_same_text():
    assert render_dockerfile(detect(FIXTURES / "uv_celery")) == render_dockerfile(detect(FIXTURES / "uv_celery"))


def test_dockerfile_command_prints_it_with_warnings_on_stderr(cli):
    result = cli("dockerfile", FIXTURES / "pip_worker", "--build-env", "FOO=bar")
    assert result.code == 0
    assert result.out == render_dockerfile(detect(FIXTURES / "pip_worker"), build_args=["FOO"])
    assert result.err.startswith("warning: no Python version is pinned")


def test_dockerfile_command_with_a_broken_app_exits_1(cli, make_app):
    result = cli("dockerfile", make_app({"Procfile": "web: x\n"}))
    assert result.code == 1 and result.out == "" and "error:" in result.err


def test_dependency_files_in_subfolders_keep_their_paths():
    text = render_dockerfile(detect(FIXTURES / "pip_django"))
    assert "COPY requirements.txt ./\nCOPY requirements/base.txt requirements/\n" in text


def test_default_dockerignore_keeps_local_state_out_but_flashdrive_inputs_in():
    patterns = [line for line in default_dockerignore().splitlines() if line and not line.startswith("#")]
    for path in (".git/HEAD", ".venv/bin/python", "venv/pyvenv.cfg", "shop/__pycache__/x.pyc", "shop/models.pyc",
                 ".env", "node_modules/x/index.js"):
        assert is_excluded(patterns, path), path
    for path in (".flashdrive/ca.pem", "requirements.txt", "shop/settings.py", "Procfile", ".python-version",
                 "environment.py"):
        assert not is_excluded(patterns, path), path


# The 25 common secret files a review sent to images with the old default (19 got through).
SECRET_FILES = ("id_rsa", "id_rsa.pub", "deploy/id_ed25519", ".ssh/config", "home/.ssh/id_ecdsa",
                ".aws/credentials", ".aws/config", ".docker/config.json", ".npmrc", ".pypirc", ".netrc",
                ".git-credentials", "certs/server.key", "tls/privkey.pem", "certs/server-key.pem", "keys/app.p12",
                "Pulumi.prod.yaml", "infra/Pulumi.staging.yaml", ".flashdrive/state/dev.json", "terraform.tfstate",
                "infra/terraform.tfstate.backup", "prod.tfvars", ".kube/config", ".pgpass", "gcp/credentials.json")


def test_default_dockerignore_keeps_common_secret_files_out_of_images():
    patterns = [line for line in default_dockerignore().splitlines() if line and not line.startswith("#")]
    leaked = [path for path in SECRET_FILES if not is_excluded(patterns, path)]
    assert leaked == []
    # Certificates are public and apps need them at run time (a database's CA); so is the build's CA.
    for path in ("certs/rds-ca.pem", "certs/chain.crt", ".flashdrive/ca.pem", "shop/keys.py", "Pulumi.yaml.md"):
        assert not is_excluded(patterns, path), path


def test_dockerignore_negations_follow_dockers_last_match_rule():
    assert not is_excluded([".*", "!.flashdrive"], ".flashdrive/ca.pem")
    assert is_excluded(["!.flashdrive", ".*"], ".flashdrive/ca.pem")
    assert is_excluded(["**/*.log"], "logs/deep/app.log")
