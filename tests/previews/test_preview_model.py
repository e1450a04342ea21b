"""A preview is the base spec under its own name, with what `previews:` says applied: the model."""

from __future__ import annotations

import pytest

from flashdrive.credentials import derive_value
from flashdrive.model import resolve
from flashdrive.model.preview import preview_number
from flashdrive.problems import InputError
from flashdrive.pipeline import check_spec

SPEC = """\
version: 1
stack: shop
apps:
  web:
    image: ghcr.io/acme/web:1
    size: m
    nodes: 3
    env:
      SITE: https://${apps.web.host}/
      STACK: ${stack.name}
    disks: [{name: media, mount: /app/media, size_gb: 1}]
    domains: [shop.example.com, {host: www.example.com}]
    cron: [{name: nightly, schedule: "@daily", command: echo hi}]
  worker:
    image: ghcr.io/acme/web:1
    type: worker
databases:
  main: {engine: postgres}
tls: {email: ops@example.com}
"""

PREVIEWS = """\
previews:
  expire_after_days: 3
  size: xs
  nodes: 1
  seed: {from: backups, scrub: python manage.py scrub}
"""


def load(tmp_path, text: str):
    path = tmp_path / "flashdrive.yaml"
    path.write_text(text)
    return check_spec(path)


def test_a_preview_has_its_own_name_for_everything_that_holds_data_or_routes(tmp_path):
    loaded = load(tmp_path, SPEC + PREVIEWS)
    base, preview = resolve(*loaded), resolve(*loaded, preview=123)
    assert preview.name == "shop-pr-123"
    assert [d.volume_name for d in preview.disks] == ["shop-pr-123-disk-media"]
    assert preview.databases["main"].volume_name == "shop-pr-123-db-main"
    assert preview.edge_volume_name == "shop-pr-123-edge-data"
    assert preview.apps["web"].default_domain == "web.shop-pr-123.localhost"
    # Nothing physical is shared with the base.
    assert not {d.volume_name for d in preview.disks} & {d.volume_name for d in base.disks}
    assert base.name == "shop" and base.preview is None


def test_custom_domains_are_dropped_and_listed_backups_are_off_sizes_and_copies_come_from_previews(tmp_path):
    preview = resolve(*load(tmp_path, SPEC + PREVIEWS), preview=7)
    web = preview.apps["web"]
    assert web.domains == () and web.public_url == "https://web.shop-pr-7.localhost"
    assert {(d.app, d.host) for d in preview.preview.dropped_domains} == {("web", "shop.example.com"),
                                                                            ("web", "www.example.com")}
    assert not preview.backups.enabled
    assert (web.size.name, web.nodes, web.pids_limit) == ("xs", 1, 128)
    assert preview.apps["worker"].size.name == "xs"
    assert web.cron == ()  # previews.cron defaults to false
    assert preview.databases["main"].size.name == "s"  # databases keep their size: the seed needs the room


def test_cron_runs_in_a_preview_only_when_previews_say_so(tmp_path):
    preview = resolve(*load(tmp_path, SPEC + "previews: {cron: true}\n"), preview=7)
    assert [job.name for job in preview.apps["web"].cron] == ["nightly"]


def test_the_resolved_preview_says_what_both_backends_and_the_plan_read(tmp_path):
    preview = resolve(*load(tmp_path, SPEC + PREVIEWS), preview=42).preview
    assert (preview.number, preview.base, preview.expire_after_days) == (42, "shop", 3)
    assert preview.seed is not None
    assert preview.seed.repository == "shop-backups"  # the base's, read only
    assert (preview.seed.scrub, preview.seed.scrub_app) == ("python manage.py scrub", "web")
    described = preview.describe()
    assert described["dropped_domains"] == {"shop.example.com": "web", "www.example.com": "web"}
    assert described["seed"]["steps"][-2:] == ["run the scrub command with app web's image", "start the copies"]


def test_without_previews_a_preview_starts_empty_with_the_defaults(tmp_path):
    preview = resolve(*load(tmp_path, SPEC), preview=1)
    assert preview.preview.seed is None and preview.preview.expire_after_days == 7
    assert preview.apps["web"].size.name == "xs"


def test_generated_credentials_differ_from_the_base_s_with_the_same_master_key():
    # Every credential is HMAC(master key, stack name + purpose): the preview's name makes its own.
    for purpose in ("databases/main/password", "backups/repository-password", "env/SECRET_KEY"):
        assert derive_value("k", "shop", purpose, 48) != derive_value("k", "shop-pr-1", purpose, 48)


def test_a_preview_name_longer_than_a_stack_name_may_be_is_an_error_naming_both(tmp_path):
    loaded = load(tmp_path, SPEC.replace("stack: shop", "stack: a-very-long-stack-name-of-25"))
    with pytest.raises(InputError) as caught:
        resolve(*loaded, preview=12345)
    (problem,) = caught.value.problems
    text = problem.format()
    assert text.startswith(f"{tmp_path / 'flashdrive.yaml'}:2:8: error: stack: ")
    assert "a-very-long-stack-name-of-25" in text and "'a-very-long-stack-name-of-25-pr-12345'" in text
    assert "shorten `stack:` to at most 21 characters" in text


def test_an_app_whose_disks_do_not_fit_the_preview_size_is_an_error_at_previews_size(tmp_path):
    text = SPEC.replace("size_gb: 1", "size_gb: 3") + "previews:\n  size: xs\n"
    with pytest.raises(InputError) as caught:
        resolve(*load(tmp_path, text), preview=1)
    (problem,) = caught.value.problems
    assert problem.path == "previews.size" and problem.mark.line == SPEC.count("\n") + 2
    assert "needs 3 GB" in problem.message or "need 3 GB" in problem.message
    assert "size: s" in problem.hint


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "12345678901", "١٢"])
def test_a_preview_number_is_a_positive_whole_number(value):
    with pytest.raises(InputError) as caught:
        preview_number(value, "stack config flashdrive:preview")
    assert "is not a pull request number" in caught.value.problems[0].format()
    assert preview_number(" 17 ", "x") == 17
