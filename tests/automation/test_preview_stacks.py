"""`flashdrive previews list|remove|comment`: which preview stacks the workflow destroys, that it
forgets only those, and the one comment a pull request gets about its preview."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from flashdrive.automation.previews import (COMMENT_MARKER, comment_body, expired_previews, preview_stacks,
                                            pull_request_of)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def summary(name: str, idle_days: float | None, updating: bool | None = None):
    # As the Automation API parses `pulumi stack ls --json`: a naive datetime, in UTC.
    last = None if idle_days is None else (NOW - timedelta(days=idle_days)).replace(tzinfo=None)
    return SimpleNamespace(name=name, last_update=last, update_in_progress=updating)


def stamp(idle_days: float) -> str:
    """`lastUpdate` as `pulumi stack ls --json` writes it, `idle_days` before the command runs."""
    return (datetime.now(timezone.utc) - timedelta(days=idle_days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.parametrize("name, number", [("pr-7", 7), ("acme/pr-123", 123), ("acme/flashdrive/pr-9", 9),
                                          ("dev", None), ("pr-", None), ("pr-07", None), ("pr-7-old", None),
                                          ("staging-pr-7", None)])
def test_only_stacks_named_pr_n_are_previews(name, number):
    assert pull_request_of(name) == number


def test_a_preview_idle_for_its_expiry_or_longer_expires_and_a_pushed_one_stays():
    previews = preview_stacks([summary("pr-3", 7.0), summary("pr-12", 6.9), summary("pr-5", 30),
                               summary("dev", 400)])
    assert [p.stack for p in previews] == ["pr-3", "pr-5", "pr-12"]
    assert [(p.stack, p.pull_request) for p in expired_previews(previews, NOW, 7)] == [("pr-3", 3), ("pr-5", 5)]


def test_a_preview_being_deployed_or_never_deployed_is_kept():
    previews = preview_stacks([summary("pr-1", 20, updating=True), summary("pr-2", None)])
    assert expired_previews(previews, NOW, 1) == []


def test_an_expiry_below_one_day_is_refused():
    with pytest.raises(ValueError):
        expired_previews([], NOW, 0)


def test_the_comment_lists_each_url_under_a_marker_the_workflow_finds_again():
    body = comment_body(42, "deployed", urls={"web": "https://web.shop-pr-42.example.com",
                                              "admin": "https://admin.shop-pr-42.example.com"},
                        commit="0123456789abcdef", expire_after_days=7)
    assert body.startswith(COMMENT_MARKER + "\n")
    assert "| `admin` | https://admin.shop-pr-42.example.com |\n| `web` | https://web.shop-pr-42.example.com |" in body
    assert "`0123456789ab`" in body and "after 7 days without a push" in body


def test_the_comment_of_a_failed_deploy_says_where_the_log_is_and_lists_no_url():
    body = comment_body(42, "failed", commit="0123456789abcdef", log="https://github.com/acme/shop/actions/runs/9")
    assert body.startswith(COMMENT_MARKER + "\n")
    assert "`0123456789ab` failed: [the log](https://github.com/acme/shop/actions/runs/9)" in body
    assert "| app |" not in body


def test_the_comment_of_a_closed_or_expired_preview_says_so_under_the_same_marker():
    closed = comment_body(42, "destroyed")
    expired = comment_body(42, "expired", expire_after_days=3)
    assert closed.startswith(COMMENT_MARKER) and "was closed" in closed and "https://" not in closed
    assert expired.startswith(COMMENT_MARKER) and "after 3 days without a push" in expired


def test_previews_list_expired_prints_stack_and_number_from_the_state_backend(cli, project, fake_pulumi):
    fake_pulumi.has_stack("dev", lastUpdate=stamp(100))
    fake_pulumi.has_stack("pr-4", lastUpdate=stamp(8))
    fake_pulumi.has_stack("pr-5", lastUpdate=stamp(2))
    fake_pulumi.has_stack("pr-6", lastUpdate=stamp(9), updateInProgress=True)
    assert cli("previews", "list").out == "pr-4 4\npr-5 5\npr-6 6\n"
    run = cli("previews", "list", "--expired", "--older-than-days", "7")
    assert run.code == 0, run.err
    assert run.out == "pr-4 4\n"
    assert cli("previews", "list", "--pull-request", "5").out == "pr-5 5\n"
    assert cli("previews", "list", "--pull-request", "9").out == ""
    listed = next(c for c in fake_pulumi.commands() if c[:2] == ["stack", "ls"])
    assert "--json" in listed


def test_previews_list_as_json_shows_each_preview_with_its_idle_time(cli, project, fake_pulumi):
    fake_pulumi.has_stack("pr-4", lastUpdate=stamp(8))
    fake_pulumi.has_stack("pr-5")  # never deployed
    run = cli("previews", "list", "--older-than-days", "7", "--json")
    assert run.code == 0, run.err
    shown = json.loads(run.out)
    assert shown["expire_after_days"] == 7
    assert [(p["stack"], p["expired"], p["last_update"] is None) for p in shown["previews"]] == [
        ("pr-4", True, False), ("pr-5", False, True)]
    assert 7.9 < shown["previews"][0]["idle_days"] < 8.1


def test_previews_list_as_json_without_an_expiry_leaves_expired_unknown(cli, project, fake_pulumi):
    (project / "flashdrive.yaml").unlink()
    fake_pulumi.has_stack("pr-4", lastUpdate=stamp(8))
    run = cli("previews", "list", "--json")
    assert run.code == 0, run.err
    shown = json.loads(run.out)
    assert shown["expire_after_days"] is None and shown["previews"][0]["expired"] is None


def test_previews_list_reads_the_expiry_from_the_spec(cli, project, fake_pulumi):
    (project / "flashdrive.yaml").write_text((project / "flashdrive.yaml").read_text()
                                             + "previews: {expire_after_days: 3}\n")
    fake_pulumi.has_stack("pr-4", lastUpdate=stamp(4))
    fake_pulumi.has_stack("pr-5", lastUpdate=stamp(2))
    run = cli("previews", "list", "--expired")
    assert (run.code, run.out) == (0, "pr-4 4\n"), run.err


def test_previews_list_expired_needs_an_expiry(cli, project, fake_pulumi):
    (project / "flashdrive.yaml").unlink()
    run = cli("previews", "list", "--expired")
    assert run.code == 2
    assert "give --older-than-days N" in run.err


def test_previews_list_without_pulumi_is_one_line(cli, project, no_pulumi):
    run = cli("previews", "list", "--expired", "--older-than-days", "7")
    assert run.code == 1
    assert run.err.startswith("flashdrive previews list: error: the Pulumi CLI is not installed")


def test_previews_remove_forgets_a_preview_stack_and_never_another(cli, project, fake_pulumi):
    fake_pulumi.has_stack("dev")
    fake_pulumi.has_stack("pr-4")
    run = cli("previews", "remove", "pr-4")
    assert (run.code, run.out) == (0, "removed stack pr-4\n")
    assert ["stack", "rm", "--yes", "pr-4"] in fake_pulumi.commands()
    assert cli("previews", "remove", "pr-4").out == "no stack pr-4: nothing to remove\n"
    refused = cli("previews", "remove", "dev")
    assert refused.code == 1
    assert refused.err == "flashdrive previews remove: error: 'dev' is not a preview stack (pr-N); only those are removed here\n"
    assert (fake_pulumi.state / "dev").exists()
    assert not any(c[:2] == ["stack", "rm"] and "dev" in c for c in fake_pulumi.commands())


def test_previews_comment_reads_the_urls_from_the_outputs_json(cli, tmp_path):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"urls": {"web": "https://web.shop-pr-8.localhost", "worker": None},
                                   "namespace": "shop-pr-8"}))
    run = cli("previews", "comment", "8", "--outputs", outputs, "--commit", "abc")
    assert run.code == 0, run.err
    assert run.out == comment_body(8, "deployed", urls={"web": "https://web.shop-pr-8.localhost"}, commit="abc")


def test_previews_comment_of_unreadable_outputs_is_one_line(cli, tmp_path):
    outputs = tmp_path / "outputs.json"
    outputs.write_text("urls: not json")
    run = cli("previews", "comment", "8", "--outputs", outputs)
    assert run.code == 1
    assert run.err.startswith(f"flashdrive previews comment: error: {outputs}: cannot be read as the JSON")


def _config(fake_pulumi, stack: str) -> dict:
    path = fake_pulumi.state / f"{stack}.config.json"
    return {k: v["value"] for k, v in json.loads(path.read_text()).items()} if path.exists() else {}


def _base_with_key(fake_pulumi, key: str) -> None:
    fake_pulumi.has_stack("dev")
    (fake_pulumi.state / "dev.config.json").write_text(json.dumps({"flashdrive:masterKey": {"value": key,
                                                                                             "secret": True}}))


def test_previews_prepare_gives_a_new_preview_stack_its_number_and_the_base_master_key(cli, project, fake_pulumi):
    _base_with_key(fake_pulumi, "5e" * 32)
    run = cli("previews", "prepare", "12", "--base", "dev")
    assert run.code == 0, run.err
    assert run.out == ("created stack pr-12\nset flashdrive:preview 12 on stack pr-12\n"
                       "gave stack pr-12 the master key of stack dev\n")
    assert _config(fake_pulumi, "pr-12") == {"flashdrive:preview": "12", "flashdrive:masterKey": "5e" * 32}
    assert json.loads((fake_pulumi.state / "pr-12.config.json").read_text())["flashdrive:masterKey"]["secret"]
    assert not any("5e" * 32 in " ".join(call["argv"]) for call in fake_pulumi.calls())


def test_previews_prepare_keeps_what_the_preview_stack_has(cli, project, fake_pulumi):
    _base_with_key(fake_pulumi, "5e" * 32)
    fake_pulumi.has_stack("pr-12")
    (fake_pulumi.state / "pr-12.config.json").write_text(json.dumps({
        "flashdrive:preview": {"value": "12", "secret": False}, "flashdrive:masterKey": {"value": "77" * 32,
                                                                                         "secret": True}}))
    run = cli("previews", "prepare", "12", "--base", "dev")
    assert (run.code, run.out) == (0, "")
    assert _config(fake_pulumi, "pr-12")["flashdrive:masterKey"] == "77" * 32


def test_previews_prepare_gives_the_preview_its_own_publish_address_when_one_is_given(cli, project, fake_pulumi,
                                                                                     monkeypatch):
    _base_with_key(fake_pulumi, "5e" * 32)
    run = cli("previews", "prepare", "12", "--base", "dev", "--publish-address", "10.0.0.12")
    assert run.code == 0, run.err
    assert "set flashdrive:publishAddress 10.0.0.12 on stack pr-12\n" in run.out
    assert _config(fake_pulumi, "pr-12")["flashdrive:publishAddress"] == "10.0.0.12"
    assert cli("previews", "prepare", "12", "--base", "dev", "--publish-address", "10.0.0.12").out == ""
    monkeypatch.setenv("FLASHDRIVE_PUBLISH_ADDRESS", "10.0.0.13")
    assert cli("previews", "prepare", "12", "--base", "dev").code == 0
    assert _config(fake_pulumi, "pr-12")["flashdrive:publishAddress"] == "10.0.0.13"
    wrong = cli("previews", "prepare", "12", "--base", "dev", "--publish-address", "pr-12.example.com")
    assert wrong.code == 2 and "'pr-12.example.com' is not an IP address" in wrong.err


CONFIGURED_SPEC = """\
version: 1
stack: shop
apps:
  web:
    image: ghcr.io/acme/web:1.4
    env:
      STRIPE_KEY: {config: stripeKey}
      SENTRY_DSN: {config: "flashdrive:sentryDsn"}
    domains:
      - {host: shop.example.com, certificate: {config: shopCertificate}, key: {config: shopKey}}
databases:
  main: {engine: postgres}
backups:
  target:
    s3: {bucket: shop-backups, endpoint: https://s3.example.com,
         access_key: {config: s3Id}, secret_key: {config: s3Secret}}
"""


def test_previews_prepare_lists_the_config_the_spec_reads_that_the_preview_lacks_and_copies_none(
        cli, project, fake_pulumi):
    (project / "configured.yaml").write_text(CONFIGURED_SPEC)
    _base_with_key(fake_pulumi, "5e" * 32)
    run = cli("previews", "prepare", "12", "--base", "dev", "--spec", "configured.yaml")
    assert run.code == 1
    # Its custom domain's certificate and its backups' credentials: a preview has neither.
    assert "stack 'pr-12' lacks config the spec reads: flashdrive:sentryDsn, stripeKey." in run.err
    assert "pulumi config cp flashdrive:sentryDsn --stack dev --dest pr-12" in run.err
    assert "pulumi config cp stripeKey --stack dev --dest pr-12" in run.err
    assert "shopCertificate" not in run.err and "s3Secret" not in run.err
    assert set(_config(fake_pulumi, "pr-12")) == {"flashdrive:preview", "flashdrive:masterKey"}
    for key in ("stripeKey", "flashdrive:sentryDsn"):
        config = json.loads((fake_pulumi.state / "pr-12.config.json").read_text())
        config[key] = {"value": "test-value", "secret": True}
        (fake_pulumi.state / "pr-12.config.json").write_text(json.dumps(config))
    assert cli("previews", "prepare", "12", "--base", "dev", "--spec", "configured.yaml").code == 0
    # Without --spec (a destroy), nothing is checked.
    (fake_pulumi.state / "pr-12.config.json").write_text(json.dumps({
        "flashdrive:preview": {"value": "12", "secret": False}, "flashdrive:masterKey": {"value": "77" * 32,
                                                                                         "secret": True}}))
    assert cli("previews", "prepare", "12", "--base", "dev").code == 0


def test_previews_prepare_refuses_a_stack_of_another_pull_request(cli, project, fake_pulumi):
    _base_with_key(fake_pulumi, "5e" * 32)
    fake_pulumi.has_stack("pr-12")
    (fake_pulumi.state / "pr-12.config.json").write_text(json.dumps({"flashdrive:preview": {"value": "13",
                                                                                             "secret": False}}))
    run = cli("previews", "prepare", "12", "--base", "dev")
    assert run.code == 1
    assert run.err == ("flashdrive previews prepare: error: stack 'pr-12' is the preview of pull request 13 "
                       "(flashdrive:preview), not 12\n")


def test_previews_prepare_needs_the_base_master_key_and_a_base_that_is_no_preview(cli, project, fake_pulumi):
    fake_pulumi.has_stack("dev")
    run = cli("previews", "prepare", "12", "--base", "dev")
    assert run.code == 1
    assert "the base stack 'dev' has no flashdrive:masterKey here" in run.err
    assert "stacks/Pulumi.dev.yaml" in run.err
    refused = cli("previews", "prepare", "12", "--base", "pr-3")
    assert refused.code == 1 and "'pr-3' is a preview stack" in refused.err
