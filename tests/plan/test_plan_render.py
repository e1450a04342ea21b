"""The text format reads like `pulumi preview`; json is Plan.to_json."""

from __future__ import annotations

import pytest

from flashdrive.plan import render
from flashdrive.plan.render import abbreviate


def test_text_is_a_tree_indented_by_parent(plan):
    lines = render(plan, "text").splitlines()
    stack = lines.index("+ pulumi:pulumi:Stack  flashdrive-dev")
    app = lines.index("    + flashdrive:test:App  shop")
    web = lines.index("        + docker:index/container:Container  shop-1  [delete-before-replace]")
    assert stack < app < web


def test_text_shows_options_as_flags(plan):
    text = render(plan, "text")
    assert "+ docker:index/volume:Volume  shop-data  [protect] [retain]\n" in text
    assert "(depends on: " in text and "shop-release" in text


def test_text_shows_inputs_abbreviated_and_secrets_masked(plan):
    text = render(plan, "text")
    assert '              memory: 512\n' in text
    assert 'envs: ["DB_PASSWORD=[secret]", "PLAIN=hello", "API_TOKEN=[secret]", "REGION=eu-west"]' in text
    assert all(len(line) < 140 for line in text.splitlines() if not line.lstrip().startswith("(depends on"))


def test_text_ends_with_the_outputs_and_a_resource_count(plan):
    text = render(plan, "text")
    outputs = text[text.index("\nOutputs:\n"):]
    assert '    token: "[secret]"\n' in outputs
    assert '    url: "http://shop-1:8000"\n' in outputs
    assert text.endswith("Resources: 7 to create (5 custom, 2 components)\n")


def test_json_format_is_the_plan_json(plan):
    assert render(plan, "json") == plan.to_json() + "\n"


def test_long_values_are_cut_to_one_line():
    assert abbreviate("x" * 500, width=20) == '"' + "x" * 16 + "..."
    assert abbreviate({"b": 1, "a": [True, None]}) == '{"a": [true, null], "b": 1}'
