"""Whatever a plan JSON file holds, `flashdrive diff` answers with a result or one positioned line
and exit 1: never a traceback, a recursion error or a hang. The reviewer's cases are kept below;
the fuzzer mutates a real plan the way files break (a value of another type, a key dropped, deep
nesting, huge numbers) and explores within the suite's budget (tests/fuzzing.py)."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
from pathlib import Path

import pytest
from fuzzing import example, fuzz
from hypothesis import given
from hypothesis import strategies as st

from flashdrive.cli.main import main

GOLDEN = Path(__file__).resolve().parents[1] / "docker" / "golden" / "django-shop.plan.json"
PLAN = json.loads(GOLDEN.read_text())


def run_diff(base_text: str, head_text: str) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as folder:
        base, head = Path(folder) / "base.json", Path(folder) / "head.json"
        base.write_text(base_text)
        head.write_text(head_text)
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            try:
                code = main(["diff", str(base), str(head)])
            except SystemExit as exc:  # argparse
                code = exc.code
        return code, err.getvalue()


def assert_clean(code: int, err: str) -> None:
    assert "Traceback" not in err
    assert code in (0, 1, 3), err
    if code == 1:
        lines = [line for line in err.splitlines() if not line.startswith("    ")]
        assert lines and all(": error: " in line for line in lines), err


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


REVIEWED = {
    "a list nested 100000 deep": '{"version": 1, "resources": ' + deep(100_000) + "}",
    "inputs nested 5000 deep": json.dumps({**PLAN, "resources": [
        {**PLAN["resources"][1], "inputs": {"x": 0}}]}).replace('{"x": 0}', '{"x": ' + deep(5000) + "}"),
    "a 5000-digit integer": json.dumps(PLAN).replace('"version": 1', '"version": ' + "9" * 5000, 1),
    "resources is an object": json.dumps({**PLAN, "resources": {"a": 1}}),
    "a resource is a string": json.dumps({**PLAN, "resources": ["urn:pulumi:x"]}),
    "urn is a number": json.dumps({**PLAN, "resources": [{**PLAN["resources"][0], "urn": 7}]}),
    "inputs is a list": json.dumps({**PLAN, "resources": [{**PLAN["resources"][1], "inputs": [1, 2]}]}),
    "options.protect is text": json.dumps({**PLAN, "resources": [
        {**PLAN["resources"][1], "options": {**PLAN["resources"][1]["options"], "protect": "yes"}}]}),
    "dependsOn holds numbers": json.dumps({**PLAN, "resources": [
        {**PLAN["resources"][1], "options": {**PLAN["resources"][1]["options"], "dependsOn": [1, 2]}}]}),
    "NaN": json.dumps(PLAN).replace('"version": 1', '"version": NaN', 1),
    "outputs is a list": json.dumps({**PLAN, "outputs": [1]}),
    "the document is a list": "[1, 2, 3]",
    "a urn without its parts": json.dumps({**PLAN, "resources": [{**PLAN["resources"][1], "urn": "urn"}]}),
}


@pytest.mark.parametrize("name", sorted(REVIEWED))
def test_a_malformed_plan_is_one_error_line_never_a_traceback(name):
    text = REVIEWED[name]
    for base, head in ((text, GOLDEN.read_text()), (GOLDEN.read_text(), text)):
        code, err = run_diff(base, head)
        assert_clean(code, err)
        assert code == 1, err


def test_the_golden_plan_passes_the_schema():
    code, err = run_diff(GOLDEN.read_text(), GOLDEN.read_text())
    assert (code, err) == (0, "")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


PATHS = list(_paths(PLAN))


@st.composite
def mutated_plans(draw):
    plan = copy.deepcopy(PLAN)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(PATHS))
        parent, key = plan, None
        try:
            for part in path[:-1]:
                parent = parent[part]
            key = path[-1] if path else None
            if key is None:
                continue
            action = draw(st.sampled_from(["replace", "delete", "nest"]))
            if action == "replace":
                parent[key] = draw(JSON_VALUES)
            elif action == "delete":
                del parent[key]
            else:
                parent[key] = [parent[key]]
        except (KeyError, IndexError, TypeError):
            continue
    return json.dumps(plan)


@fuzz
@given(mutated_plans(), st.booleans())
def test_mutated_plans_never_crash_diff(text, as_head):
    with example("plan-json"):
        golden = json.dumps(PLAN)
        code, err = run_diff(golden, text) if as_head else run_diff(text, golden)
        assert_clean(code, err)
