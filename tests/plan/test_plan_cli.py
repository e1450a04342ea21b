"""`flashdrive plan`, with the build step (flashdrive.program.build_stack) replaced by a small test program."""

from __future__ import annotations

import json
import textwrap

import pulumi
import pulumi_docker as docker
import pytest

import flashdrive.program
from _plan_programs import failing_program
from flashdrive.plan import config_keys
from flashdrive.spec import load_spec

SPEC = """\
version: 1
stack: shop
apps:
  web:
    image: ghcr.io/acme/web:1.4
    env:
      API_TOKEN: {config: apiToken}
      PLAIN: hello
    domains:
      - host: shop.example.com
        certificate: {config: shopCert}
        key: {config: "tls:shopKey"}
backups:
  target:
    s3: {endpoint: "https://s3.example.com", bucket: b, access_key: {config: s3Access}, secret_key: {config: s3Secret},
         prune: {access_key: {config: s3PruneAccess}, secret_key: {config: s3PruneSecret}}}
"""


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "flashdrive.yaml"
    path.write_text(SPEC)
    return path


@pytest.fixture
def seen(monkeypatch):
    """Replace the real program with one that records what it was given and reads the config."""
    calls: dict = {}

    def build_stack(model):
        calls["backend"], calls["stack"] = model.backend, model.name
        token = pulumi.Config().require_secret("apiToken")
        calls["cert"] = pulumi.Config().get("shopCert")
        docker.Container("shop-web-1", image="ghcr.io/acme/web:1.4", name="shop-web-1",
                         envs=["PLAIN=hello", token.apply(lambda t: f"API_TOKEN={t}")])
        pulumi.export("urls", {"web": "https://shop.example.com"})

    monkeypatch.setattr(flashdrive.program, "build_stack", build_stack)
    return calls


def test_plan_prints_the_json_contract(cli, spec, seen):
    run = cli("plan", spec, "--format", "json")
    assert run.code == 0, run.err
    document = json.loads(run.out)
    assert (document["version"], document["stack"], document["backend"]) == (1, "shop", "docker")
    assert document["outputs"] == {"urls": {"web": "https://shop.example.com"}}
    container = next(r for r in document["resources"] if r["name"] == "shop-web-1")
    assert container["urn"] == "urn:pulumi:dev::flashdrive::pulumi:pulumi:Stack$docker:index/container:Container::shop-web-1"
    assert container["inputs"]["envs"] == ["PLAIN=hello", "API_TOKEN=[secret]"]
    assert run.out == json.dumps(document, sort_keys=True, indent=2) + "\n"


def test_plan_needs_no_config_values_and_masks_them(cli, spec, seen):
    run = cli("plan", spec, "--format", "json")
    assert run.code == 0, run.err
    assert seen["cert"].startswith("placeholder-")
    assert "placeholder" not in run.out  # the placeholders are secrets too


def test_config_keys_are_found_everywhere_in_the_spec(spec):
    assert config_keys(load_spec(spec).spec) == ["apiToken", "s3Access", "s3PruneAccess", "s3PruneSecret", "s3Secret",
                                                   "shopCert", "tls:shopKey"]


def test_text_is_the_default_format(cli, spec, seen):
    run = cli("plan", spec)
    assert run.code == 0, run.err
    assert "+ docker:index/container:Container  shop-web-1" in run.out
    assert run.out.rstrip().endswith("Resources: 2 to create (1 custom, 1 component)")


def test_backend_and_stack_flags_reach_the_program_and_the_urns(cli, spec, seen):
    run = cli("plan", spec, "--format", "json", "--backend", "kubernetes", "--stack", "prod")
    assert run.code == 0, run.err
    document = json.loads(run.out)
    assert seen["backend"] == "kubernetes" and document["backend"] == "kubernetes"
    assert all(r["urn"].startswith("urn:pulumi:prod::flashdrive::") for r in document["resources"])


def test_a_program_raising_run_error_exits_1_with_one_clean_line(cli, spec, monkeypatch):
    monkeypatch.setattr(flashdrive.program, "build_stack", lambda model: failing_program())
    run = cli("plan", spec)
    assert run.code == 1
    assert run.out == ""
    assert run.err == "error: the Pulumi program failed: the spec is valid, but the kubernetes backend is not built yet\n"


def test_a_program_bug_exits_1_without_a_traceback(cli, spec, monkeypatch):
    def broken(model):
        return {}["missing"]

    monkeypatch.setattr(flashdrive.program, "build_stack", broken)
    run = cli("plan", spec)
    assert run.code == 1
    assert run.err == "error: the Pulumi program failed: KeyError: 'missing'\n"


def test_the_program_can_be_planned_twice_in_one_process(cli, spec, seen):
    first = cli("plan", spec, "--format", "json")
    second = cli("plan", spec, "--format", "json")
    assert first.code == second.code == 0
    assert first.out == second.out


def test_an_unknown_format_is_a_usage_error(cli, spec, seen):
    run = cli("plan", spec, "--format", "html")
    assert run.code == 2 and "invalid choice: 'html'" in run.err


def test_a_wrong_spec_exits_1_with_its_problems(cli, tmp_path, seen):
    bad = tmp_path / "flashdrive.yaml"
    bad.write_text("version: 1\nstack: Shop\n")
    run = cli("plan", bad)
    assert run.code == 1 and run.out == ""
    assert "flashdrive.yaml:2:8: error: stack:" in run.err


def test_program_warnings_go_to_stderr(cli, spec, monkeypatch):
    def build_stack(model):
        pulumi.log.warn("the edge has no TLS email")
        docker.Network("n", name="n")

    monkeypatch.setattr(flashdrive.program, "build_stack", build_stack)
    run = cli("plan", spec, "--format", "json")
    assert run.code == 0
    assert run.err == "warning: the edge has no TLS email\n"
    json.loads(run.out)


def test_spec_warnings_go_to_stderr_and_json_stays_clean(cli, tmp_path, seen):
    path = tmp_path / "flashdrive.yaml"
    path.write_text(textwrap.dedent("""\
        version: 1
        stack: shop
        apps:
          web:
            image: ghcr.io/acme/web:1.4
            nodes: 2
            env: {API_TOKEN: {config: apiToken}}
            disks: [{name: media, mount: /app/media, size_gb: 1}]
          """))
    run = cli("plan", path, "--format", "json")
    assert run.code == 0, run.err
    assert "warning:" in run.err
    json.loads(run.out)
