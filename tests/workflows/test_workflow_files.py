"""The GitHub workflows in .github/workflows: valid against GitHub's workflow schema (check-jsonschema,
offline, with the schema it bundles), their shell steps parse, every `flashdrive` command they run
exists with those arguments, and the preview's diff step really stops a data-losing change."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flashdrive.cli.main import build_parser
from flashdrive.diff import plan_from_json

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)


def load(path: Path) -> dict:
    # PyYAML reads the key `on` as the boolean True (YAML 1.1); GitHub reads it as "on".
    document = yaml.safe_load(path.read_text())
    if True in document:
        document["on"] = document.pop(True)
    return document


def steps(workflow: dict):
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def step(path: Path, step_id: str) -> dict:
    return next(s for _, s in steps(load(path)) if s.get("id") == step_id)


def test_the_preview_and_deploy_examples_exist():
    assert {p.name for p in WORKFLOWS} >= {"preview.yml", "deploy.yml"}


def test_workflows_are_valid_github_workflows():
    import check_jsonschema  # noqa: F401  (a dev dependency: missing, the test fails instead of skipping)
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                             *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path):
    import check_jsonschema  # noqa: F401  (a dev dependency: missing, the test fails instead of skipping)
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: x\n        run: y\n"
                      "    timeout: 5\n")
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                             str(broken)], capture_output=True, text=True)
    assert result.returncode == 1


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_shell_step_parses(path):
    for job_id, item in steps(load(path)):
        if "run" in item:
            script = EXPRESSION.sub("EXPR", item["run"])
            result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
            assert result.returncode == 0, f"{path.name} {job_id} {item.get('name')}: {result.stderr}"


# What the workflows' shell variables hold when they run, for the arguments whose type is checked.
SAMPLE_VALUES = {"PR": "7", "number": "7", "stack": "pr-7", "STACK": "dev", "HEAD_SHA": "0123abc"}
VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def _flashdrive_calls(script: str) -> list[list[str]]:
    """Each simple command of a shell script that starts with `flashdrive`, without redirections."""
    script = VARIABLE.sub(lambda m: SAMPLE_VALUES.get(m.group(1), m.group(0)), EXPRESSION.sub("EXPR", script))
    lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    calls, current, skip_next = [], [], False
    for token in [*lexer, ";"]:
        if skip_next:
            skip_next = False
            continue
        if token in (">", ">>", "<", "2>", "&>", "3<", "<&"):
            skip_next = True
            continue
        if not current and token in ("if", "then", "else", "elif", "do", "while", "until", "!"):
            continue  # a command after a shell keyword is still a command
        if set(token) <= set(";&|()") or token == "\n":
            if current and current[0] == "flashdrive":
                calls.append(current)
            current = []
            continue
        current.append(token)
    return calls


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_flashdrive_command_in_a_workflow_exists_with_those_arguments(path):
    parser = build_parser()
    seen = 0
    for _, item in steps(load(path)):
        for line in item.get("run", "").replace("\\\n", " ").splitlines():
            for call in _flashdrive_calls(line):
                args = [a for a in call[1:] if a != '"${flags[@]}"' and a != "${flags[@]}"]
                parser.parse_args(args)  # exits 2 (fails the test) on a wrong command or option
                seen += 1
    assert seen > 0, f"{path.name} runs no flashdrive command"


def test_the_preview_runs_on_pull_requests_and_may_comment():
    workflow = load(ROOT / ".github" / "workflows" / "preview.yml")
    assert "pull_request" in workflow["on"]
    assert {"labeled", "unlabeled"} <= set(workflow["on"]["pull_request"]["types"])  # the allow label re-runs it
    assert workflow["permissions"]["pull-requests"] == "write"
    uses = [s.get("uses", "") for _, s in steps(workflow)]
    assert any(u.startswith("pulumi/actions@") for u in uses), "pulumi preview runs through the official action"
    assert any(u.startswith("actions/github-script@") for u in uses)


def test_the_deploy_runs_on_merge_one_at_a_time():
    workflow = load(ROOT / ".github" / "workflows" / "deploy.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    ups = [s for _, s in steps(workflow) if s.get("uses", "").startswith("pulumi/actions@")]
    assert [s["with"]["command"] for s in ups] == ["up"]


def test_a_base_without_the_spec_is_planned_as_an_empty_plan():
    literal = re.search(r"printf '(\{.*\})\\n'", step_named("Plan base")["run"]).group(1)
    plan = plan_from_json(json.loads(literal))
    assert plan.resources == []


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plans")
    spec = (ROOT / "tests" / "diff" / "_diff_specs.py")
    sys.path.insert(0, str(spec.parent))
    try:
        import _diff_specs as specs
    finally:
        sys.path.remove(str(spec.parent))
    made = {}
    for name, mutation in (("base", None), ("env", specs.change_env), ("no-disk", specs.remove_disk)):
        result = subprocess.run([sys.executable, "-m", "flashdrive", "plan", str(specs.write_spec(folder, name, mutation)),
                                 "--format", "json"], capture_output=True, text=True, check=True)
        made[name] = result.stdout
    return made


def _run_diff_step(tmp_path: Path, plans: dict, head: str, allow: bool) -> tuple[int, dict, str]:
    runner = tmp_path / "runner"
    runner.mkdir()
    (runner / "base.plan.json").write_text(plans["base"])
    (runner / "head.plan.json").write_text(plans[head])
    output, summary = tmp_path / "output", tmp_path / "summary"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    flashdrive = shutil.which("flashdrive", path=str(Path(sys.executable).parent))
    assert flashdrive is not None
    (bin_dir / "flashdrive").symlink_to(flashdrive)
    env = {**os.environ, "RUNNER_TEMP": str(runner), "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
           "ALLOW": "true" if allow else "false", "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    script = step(ROOT / ".github" / "workflows" / "preview.yml", "diff")["run"]
    result = subprocess.run(["bash", "-eo", "pipefail", "-c", script], env=env, capture_output=True, text=True)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return result.returncode, outputs, (runner / "diff.md").read_text()


def test_the_diff_step_lets_a_safe_change_through(tmp_path, plans):
    code, outputs, comment = _run_diff_step(tmp_path, plans, "env", allow=False)
    assert (code, outputs["exit-code"]) == (0, "0")
    assert comment.startswith("<!-- flashdrive-diff -->")


def test_the_diff_step_reports_data_loss_for_the_stop_step_after_the_comment_is_written(tmp_path, plans):
    code, outputs, comment = _run_diff_step(tmp_path, plans, "no-disk", allow=False)
    assert (code, outputs["exit-code"]) == (0, "3")  # the step itself passes so the comment gets posted...
    stop = step_named("Stop on data loss")
    assert stop["if"] == "steps.diff.outputs.exit-code == '3'"  # ...and this step then fails the check
    assert "> [!CAUTION]" in comment and "disk `media`" in comment


def test_the_allow_label_turns_the_stop_into_a_warning(tmp_path, plans):
    code, outputs, comment = _run_diff_step(tmp_path, plans, "no-disk", allow=True)
    assert (code, outputs["exit-code"]) == (0, "0")
    assert "**Data loss allowed**" in comment


def step_named(name: str) -> dict:
    return next(s for _, s in steps(load(ROOT / ".github" / "workflows" / "preview.yml")) if s.get("name") == name)
