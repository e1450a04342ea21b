"""`.github/workflows/preview-env.yml`: a pull request's preview deployed and its URLs commented once
(then updated), destroyed and its stack removed on close, destroyed when idle past its expiry.

Its shell steps run here as GitHub runs them (bash -eo pipefail), with flashdrive from this checkout
and tests/automation/fake_pulumi.py as the Pulumi CLI; its comment scripts run under node with a
stand-in for the GitHub client.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "preview-env.yml"
FAKE_PULUMI = ROOT / "tests" / "automation" / "fake_pulumi.py"
MARKER = "<!-- flashdrive-preview-env -->"

SPEC = """\
version: 1
stack: shop
apps:
  web:
    image: ghcr.io/acme/web:1.4
databases:
  main: {engine: postgres}
previews:
  expire_after_days: 5
"""


def load() -> dict:
    document = yaml.safe_load(WORKFLOW.read_text())
    document["on"] = document.pop(True)  # PyYAML reads the key `on` as the boolean True
    return document


def job(name: str) -> dict:
    return load()["jobs"][name]


def step(job_name: str, step_id: str) -> dict:
    return next(s for s in job(job_name)["steps"] if s.get("id") == step_id)


def test_it_runs_on_every_pull_request_event_that_changes_a_preview_and_daily():
    on = load()["on"]
    assert set(on["pull_request"]["types"]) == {"opened", "synchronize", "reopened", "closed"}
    assert on["schedule"] and "workflow_dispatch" in on
    assert load()["permissions"]["pull-requests"] == "write"


def test_one_run_per_pull_request_at_a_time_never_cancelled_halfway():
    concurrency = load()["concurrency"]
    assert "github.event.pull_request.number" in concurrency["group"]
    assert concurrency["cancel-in-progress"] is False


def test_each_event_runs_its_own_job_and_forks_get_no_preview():
    deploy, destroy, expire = job("deploy")["if"], job("destroy")["if"], job("expire")["if"]
    assert "github.event.action != 'closed'" in deploy and "github.event.action == 'closed'" in destroy
    for condition in (deploy, destroy):
        assert "github.event.pull_request.head.repo.full_name == github.repository" in condition
    assert "github.event_name == 'schedule'" in expire


class Runner:
    """A project folder, a fake Pulumi CLI with its stacks, and a step's script run in between."""

    def __init__(self, tmp_path: Path):
        self.root = tmp_path
        self.project = tmp_path / "project"
        self.project.mkdir()
        (self.project / "flashdrive.yaml").write_text(SPEC)
        self.temp = tmp_path / "runner"
        self.temp.mkdir()
        self.state = tmp_path / "pulumi-state"
        self.log = tmp_path / "pulumi-calls.jsonl"
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        for name, target in (("pulumi", f'"{sys.executable}" "{FAKE_PULUMI}"'),
                             ("flashdrive", f'"{sys.executable}" -m flashdrive')):
            script = bin_dir / name
            script.write_text(f'#!/bin/sh\nexec {target} "$@"\n')
            script.chmod(script.stat().st_mode | stat.S_IXUSR)
        self.env = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path),
            "PYTHONPATH": str(ROOT),  # `python -m flashdrive`: this checkout's flashdrive
            "RUNNER_TEMP": str(self.temp), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "GITHUB_OUTPUT": str(tmp_path / "output"), "SPEC": "flashdrive.yaml",
            "PULUMI_CONFIG_PASSPHRASE": "correct horse battery staple",
            "FAKE_PULUMI_STATE": str(self.state), "FAKE_PULUMI_LOG": str(self.log),
        }

    def base_has_master_key(self, key: str = "0f" * 32) -> None:
        self.state.mkdir(exist_ok=True)
        (self.state / "dev").write_text("created\n")
        (self.state / "dev.config.json").write_text(json.dumps({"flashdrive:masterKey": {"value": key,
                                                                                          "secret": True}}))

    def config(self, stack: str) -> dict:
        path = self.state / f"{stack}.config.json"
        return {k: v["value"] for k, v in json.loads(path.read_text()).items()} if path.exists() else {}

    def has_stack(self, name: str, idle_days: float) -> None:
        self.state.mkdir(exist_ok=True)
        stamp = datetime.now(timezone.utc) - timedelta(days=idle_days)
        (self.state / name).write_text(json.dumps({"lastUpdate": stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}))

    def stacks(self) -> set[str]:
        return {p.name for p in self.state.iterdir() if "." not in p.name}

    def commands(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [[a for a in json.loads(line)["argv"] if a != "--non-interactive"] for line in self.log.read_text().splitlines()]

    def run(self, job_name: str, step_id: str, **env: str) -> subprocess.CompletedProcess:
        script = step(job_name, step_id)["run"]
        return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                              cwd=self.project, env={**self.env, **env}, capture_output=True, text=True)


@pytest.fixture
def runner(tmp_path) -> Runner:
    return Runner(tmp_path)


def test_the_deploy_step_brings_up_the_preview_stack_and_writes_the_comment_with_its_urls(runner):
    runner.base_has_master_key("ab" * 32)
    result = runner.run("deploy", "deploy", PR="7", HEAD_SHA="0123456789abcdef0123", STACK="dev")
    assert result.returncode == 0, result.stderr
    up = next(c for c in runner.commands() if c[:1] == ["up"])
    assert up[up.index("--stack") + 1] == "pr-7"
    # The preview's stack, made on this runner, shares the base's master key; the key was on no command line.
    assert runner.config("pr-7") == {"flashdrive:preview": "7", "flashdrive:masterKey": "ab" * 32}
    assert not any("ab" * 32 in " ".join(c) for c in runner.commands())
    comment = (runner.temp / "comment.md").read_text()
    assert comment.startswith(MARKER + "\n")
    assert "| `web` | https://shop.example.com |" in comment  # the fake stack's `urls` output
    assert "`0123456789ab`" in comment and "after 5 days without a push" in comment


def test_the_deploy_gives_the_preview_the_publish_address_the_repository_variable_names(runner):
    runner.base_has_master_key("ab" * 32)
    assert load()["env"]["FLASHDRIVE_PUBLISH_ADDRESS"] == "${{ vars.PREVIEW_PUBLISH_ADDRESS }}"
    result = runner.run("deploy", "deploy", PR="7", HEAD_SHA="0123456789abcdef0123", STACK="dev",
                        FLASHDRIVE_PUBLISH_ADDRESS="10.0.0.12")
    assert result.returncode == 0, result.stderr
    assert runner.config("pr-7")["flashdrive:publishAddress"] == "10.0.0.12"
    # Unset (an empty variable): the stack keeps every address, as any stack.
    result = runner.run("deploy", "deploy", PR="8", HEAD_SHA="0123456789abcdef0123", STACK="dev",
                        FLASHDRIVE_PUBLISH_ADDRESS="")
    assert result.returncode == 0, result.stderr
    assert "flashdrive:publishAddress" not in runner.config("pr-8")


def test_the_deploy_stops_before_up_when_the_preview_lacks_config_the_spec_reads(runner):
    runner.base_has_master_key("ab" * 32)
    (runner.project / "flashdrive.yaml").write_text(SPEC.replace(
        "image: ghcr.io/acme/web:1.4", "image: ghcr.io/acme/web:1.4\n    env:\n      STRIPE_KEY: {config: stripeKey}"))
    result = runner.run("deploy", "deploy", PR="7", HEAD_SHA="0123456789abcdef0123", STACK="dev")
    assert result.returncode != 0
    assert "stack 'pr-7' lacks config the spec reads: stripeKey" in result.stderr
    assert not any(c[:1] == ["up"] for c in runner.commands())


def test_a_failed_deploy_turns_the_comment_into_a_failure_with_the_log(runner):
    result = runner.run("deploy", "deploy", PR="7", HEAD_SHA="0123456789abcdef0123", STACK="dev")
    assert result.returncode != 0  # the base's master key is missing: `previews prepare` stops the deploy
    assert "has no flashdrive:masterKey" in result.stderr
    failed = step("deploy", "failed")
    assert failed["if"] == "failure() && steps.deploy.outcome == 'failure'"
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", failed["run"]], cwd=runner.project,
                          env={**runner.env, "PR": "7", "HEAD_SHA": "0123456789abcdef0123",
                               "LOG_URL": "https://github.com/acme/shop/actions/runs/9"},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    comment = (runner.temp / "comment.md").read_text()
    assert comment.startswith(MARKER) and "failed: [the log](https://github.com/acme/shop/actions/runs/9)" in comment
    posting = next(s for s in job("deploy")["steps"] if s.get("name") == "Comment the URLs")
    assert "steps.failed.outcome == 'success'" in posting["if"]


def test_closing_destroys_that_preview_alone_and_removes_its_stack(runner):
    for name in ("pr-7", "pr-8"):
        runner.has_stack(name, idle_days=1)
    runner.base_has_master_key()
    result = runner.run("destroy", "destroy", PR="7", STACK="dev")
    assert result.returncode == 0, result.stderr
    destroys = [c for c in runner.commands() if c[:1] == ["destroy"]]
    assert [c[c.index("--stack") + 1] for c in destroys] == ["pr-7"]
    assert runner.stacks() == {"dev", "pr-8"}
    assert runner.config("pr-8") == {}  # the other preview's config untouched
    assert "was closed" in (runner.temp / "comment.md").read_text()


def test_closing_a_pull_request_that_had_no_preview_destroys_nothing(runner):
    runner.base_has_master_key()
    result = runner.run("destroy", "destroy", PR="9", STACK="dev")
    assert result.returncode == 0, result.stderr
    assert not any(c[:1] == ["destroy"] or c[:2] == ["stack", "rm"] for c in runner.commands())
    assert runner.stacks() == {"dev"}


def test_the_schedule_destroys_previews_idle_past_the_spec_expiry_and_keeps_the_rest(runner):
    runner.base_has_master_key()
    runner.has_stack("dev", idle_days=90)  # the base: never a preview, however old
    runner.has_stack("pr-3", idle_days=6)
    runner.has_stack("pr-4", idle_days=2)
    runner.has_stack("pr-5", idle_days=30)
    result = runner.run("expire", "expire", STACK="dev")
    assert result.returncode == 0, result.stderr
    assert runner.stacks() == {"dev", "pr-4"}
    assert sorted(p.name for p in (runner.temp / "comments").iterdir()) == ["3.md", "5.md"]
    assert "after 5 days without a push" in (runner.temp / "comments" / "3.md").read_text()


def test_one_preview_that_cannot_be_destroyed_fails_the_run_after_the_others_went(runner):
    runner.base_has_master_key()
    runner.has_stack("pr-3", idle_days=6)
    runner.has_stack("pr-5", idle_days=30)
    result = runner.run("expire", "expire", FAKE_PULUMI_FAIL="destroy:pr-3", STACK="dev")
    assert result.returncode == 1
    assert "::error title=preview not destroyed::pr-3 (pull request #3)" in result.stdout
    assert runner.stacks() == {"dev", "pr-3"}  # kept, with its state, for the next run
    assert [p.name for p in (runner.temp / "comments").iterdir()] == ["5.md"]


def _run_comment_script(tmp_path: Path, job_name: str, step_name: str, existing: list[dict], env: dict) -> list:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the comment scripts run under GitHub's node")
    script = next(s for s in job(job_name)["steps"] if s.get("name") == step_name)["with"]["script"]
    harness = tmp_path / "harness.js"
    harness.write_text("""
const calls = [];
const existing = JSON.parse(process.env.EXISTING);
const github = {
  paginate: async (method, args) => { calls.push(['list', args.issue_number]); return existing; },
  rest: { issues: {
    listComments: 'listComments',
    updateComment: async (args) => { calls.push(['update', args.comment_id, args.body]); },
    createComment: async (args) => { calls.push(['create', args.issue_number, args.body]); },
  } },
};
const context = { repo: { owner: 'acme', repo: 'shop' }, issue: { number: Number(process.env.ISSUE) } };
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction('require', 'github', 'context', process.env.SCRIPT)(require, github, context)
  .then(() => console.log(JSON.stringify(calls)), (error) => { console.error(error); process.exit(1); });
""")
    result = subprocess.run([node, str(harness)], env={**os.environ, **env, "SCRIPT": script,
                                                       "EXISTING": json.dumps(existing)},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_first_deploy_comments_and_later_pushes_update_that_comment(tmp_path):
    body = f"{MARKER}\n### Preview environment `pr-7`\n\nDeployed.\n"
    comment_file = tmp_path / "comment.md"
    comment_file.write_text(body)
    env = {"COMMENT_FILE": str(comment_file), "ISSUE": "7"}
    other = {"id": 1, "user": {"type": "Bot"}, "body": "<!-- flashdrive-diff -->\nthe plan diff"}
    first = _run_comment_script(tmp_path, "deploy", "Comment the URLs", [other], env)
    assert first[-1] == ["create", 7, body]
    mine = {"id": 2, "user": {"type": "Bot"}, "body": f"{MARKER}\nan older deploy"}
    human = {"id": 3, "user": {"type": "User"}, "body": f"{MARKER}\nquoted by a person"}
    later = _run_comment_script(tmp_path, "deploy", "Comment the URLs", [other, human, mine], env)
    assert later[-1] == ["update", 2, body]


def test_the_schedule_updates_the_comment_of_each_expired_preview_only(tmp_path):
    comments = tmp_path / "comments"
    comments.mkdir()
    (comments / "3.md").write_text(f"{MARKER}\nexpired\n")
    existing = [{"id": 30, "user": {"type": "Bot"}, "body": f"{MARKER}\nDeployed."}]
    calls = _run_comment_script(tmp_path, "expire", "Update their comments", existing,
                                {"COMMENTS_DIR": str(comments), "ISSUE": "0"})
    assert calls == [["list", 3], ["update", 30, f"{MARKER}\nexpired\n"]]
