"""capture(): the real program's registrations, recorded from the mock monitor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pulumi
import pytest

import _plan_programs as programs
from _plan_programs import API_TOKEN, APP, CONFIG, CONTAINER, HUSH, NETWORK, PASSWORD, SECRET_KEYS, STACK, VOLUME
from flashdrive.plan import ProgramError, capture
from flashdrive.problems import InputError, Problem


def urn(type_: str, name: str, parents: str = "") -> str:
    qualified = f"{parents}${type_}" if parents else type_
    return f"urn:pulumi:dev::flashdrive::{qualified}::{name}"


STACK_URN = urn(STACK, "flashdrive-dev")
APP_URN = urn(APP, "shop", STACK)


# --- what is recorded -------------------------------------------------------------------------

def test_every_registered_resource_appears_with_its_inputs(plan):
    assert sorted((r.type, r.name) for r in plan.resources) == sorted([
        (STACK, "flashdrive-dev"), (APP, "shop"), (NETWORK, "shop-net"), (VOLUME, "shop-data"),
        (PASSWORD, "shop-pw"), (CONTAINER, "shop-release"), (CONTAINER, "shop-1"),
    ])
    assert plan.get("shop-net").inputs == {"name": "shop-net", "internal": True}
    assert plan.get("shop-pw").inputs == {"length": 24, "special": False}
    web = plan.get("shop-1").inputs
    assert web["image"] == "python:3.12" and web["memory"] == 512
    assert web["networksAdvanced"] == [{"name": "shop-net", "aliases": ["web"]}]
    assert web["volumes"] == [{"volumeName": "shop-data", "containerPath": "/data"}]


def test_inputs_are_camel_case_as_the_engine_receives_them(plan):
    assert "mustRun" in plan.get("shop-release").inputs
    assert "must_run" not in plan.get("shop-release").inputs
    assert isinstance(plan.get("shop-1").inputs["memory"], int)


def test_components_are_planned_with_custom_false_and_parent_their_children(plan):
    app = plan.get("shop")
    assert app.custom is False and app.urn == APP_URN and app.parent == STACK_URN
    for name in ("shop-net", "shop-data", "shop-pw", "shop-1"):
        assert plan.get(name).parent == APP_URN
        assert plan.get(name).custom is True
    assert plan.get("shop-1").urn == urn(CONTAINER, "shop-1", APP)


def test_the_root_stack_is_included_without_a_parent(plan):
    stack = plan.get("flashdrive-dev")
    assert (stack.type, stack.urn, stack.parent, stack.custom) == (STACK, STACK_URN, None, False)


def test_retain_protect_and_delete_before_replace_are_captured(plan):
    volume = plan.get("shop-data").options
    assert volume["retainOnDelete"] is True and volume["protect"] is True
    assert volume["deleteBeforeReplace"] is False
    web = plan.get("shop-1").options
    assert web["deleteBeforeReplace"] is True
    assert web["retainOnDelete"] is False and web["protect"] is False


def test_depends_on_lists_the_explicit_and_the_input_dependencies(plan):
    web = plan.get("shop-1")
    release, volume, network, password = (plan.get(n).urn for n in ("shop-release", "shop-data", "shop-net", "shop-pw"))
    assert set(web.options["dependsOn"]) == {release, volume, network, password}
    assert web.options["dependsOn"] == sorted(web.options["dependsOn"])
    assert web.property_dependencies["volumes"] == (volume,)
    assert plan.get("shop-net").options["dependsOn"] == []


def test_protect_is_inherited_from_a_protected_parent():
    plan = capture(programs.protected_parent_program, config=CONFIG, secret_config_keys=SECRET_KEYS)
    assert plan.get("vault").protect is True
    assert all(r.protect for r in plan.resources if r.parent == plan.get("vault").urn)


def test_aliases_ignore_changes_and_replace_on_changes_are_captured(plan):
    web = plan.get("shop-1")
    assert web.options["aliases"] == [{"name": "shop-old"}]
    assert web.ignore_changes == ("image",)
    assert web.replace_on_changes == ("volumes",)
    assert plan.get("shop-net").options["aliases"] == []


def test_component_outputs_are_recorded(plan):
    assert plan.get("shop").outputs == {"url": "http://shop-1:8000", "password": "[secret]"}


def test_stack_exports_are_the_plan_outputs(plan):
    assert plan.outputs["url"] == "http://shop-1:8000"
    assert plan.outputs["count"] == 3
    assert plan.get("flashdrive-dev").outputs == plan.outputs


def test_config_values_reach_the_program(plan):
    assert "REGION=eu-west" in plan.get("shop-1").inputs["envs"]


# --- secrets ----------------------------------------------------------------------------------

def test_secret_inputs_never_appear_in_the_plan(plan):
    text = plan.to_json()
    assert API_TOKEN not in text and HUSH not in text
    assert "[secret]" in text


def test_a_secret_env_entry_keeps_its_name_and_masks_its_value(plan):
    envs = plan.get("shop-1").inputs["envs"]
    assert envs == ["DB_PASSWORD=[secret]", "PLAIN=hello", "API_TOKEN=[secret]", "REGION=eu-west"]


def test_a_secret_inside_a_map_or_list_masks_just_that_element(plan):
    assert plan.get("shop-1").inputs["labels"] == [{"label": "plain", "value": "yes"},
                                                   {"label": "token", "value": "[secret]"}]
    assert plan.outputs["mixed"] == {"plain": "x", "secret": "[secret]", "list": ["a", "[secret]"]}


def test_a_string_built_from_a_secret_is_entirely_secret(plan):
    assert plan.get("shop-1").inputs["command"] == ["sh", "-c", "[secret]"]


def test_secret_exports_are_masked_and_plain_exports_kept(plan):
    assert plan.outputs["token"] == "[secret]"
    assert plan.outputs["url"] == "http://shop-1:8000"


def test_random_password_results_stay_secret_wherever_they_flow(plan):
    assert plan.get("shop").outputs["password"] == "[secret]"
    assert "DB_PASSWORD=[secret]" in plan.get("shop-1").inputs["envs"]


def test_a_secret_config_value_read_as_plain_text_is_masked_and_warned_about():
    plan = capture(programs.leaky_program, config=CONFIG, secret_config_keys=SECRET_KEYS)
    assert API_TOKEN not in plan.to_json()
    assert plan.get("leaky").inputs["envs"] == ["API_TOKEN=[secret]"]
    assert plan.outputs["token"] == "[secret]"
    warnings = [m for s, m in plan.logs if s == "warning"]
    assert any("envs[0]" in m and "flashdrive:apiToken" in m and "plaintext" in m for m in warnings)
    assert all(API_TOKEN not in m for m in warnings)


# --- shape and determinism ----------------------------------------------------------------------

def test_resources_are_sorted_by_urn(plan):
    assert plan.urns == sorted(plan.urns)
    document = json.loads(plan.to_json())
    assert [r["urn"] for r in document["resources"]] == sorted(r["urn"] for r in document["resources"])


def test_json_has_the_contract_shape_with_sorted_keys(plan):
    text = plan.to_json()
    document = json.loads(text)
    assert set(document) == {"version", "stack", "backend", "resources", "outputs"}
    assert document["version"] == 1
    for resource in document["resources"]:
        # A component also says what it registered about itself (its outputs), when it did.
        registered = {"outputs"} if not resource["custom"] and resource["parent"] else set()
        assert set(resource) - registered == {"urn", "type", "name", "parent", "custom", "inputs", "options"}
        assert set(resource["options"]) == {"protect", "retainOnDelete", "deleteBeforeReplace", "dependsOn", "aliases"}
    assert text == json.dumps(document, sort_keys=True, indent=2)


def test_two_captures_in_one_process_are_byte_identical(plan):
    again = capture(programs.sample_program, config=CONFIG, secret_config_keys=SECRET_KEYS)
    assert again.to_json() == plan.to_json()


def test_a_capture_does_not_leak_into_the_next(plan):
    other = capture(programs.other_program)
    assert sorted(r.name for r in other.resources) == ["flashdrive-dev", "other-net"]
    assert other.outputs == {"only": "other"}
    # No config survives: the sample program needs apiToken and fails without it.
    with pytest.raises(ProgramError, match="apiToken"):
        capture(programs.sample_program)
    # The calling thread's Pulumi settings are untouched.
    from pulumi.runtime import settings

    assert settings.get_root_resource() is None
    assert not hasattr(settings.SETTINGS.monitor, "recorded")
    # ...and so are the fallbacks a brand-new thread would see.
    seen = {}
    probe = threading.Thread(target=lambda: seen.update(monitor=settings.get_monitor(), root=settings.get_root_resource()))
    probe.start()
    probe.join()
    assert seen == {"monitor": None, "root": None}


def test_the_stack_and_project_name_the_urns():
    plan = capture(programs.other_program, project="acme", stack="prod")
    assert plan.get("other-net").urn == "urn:pulumi:prod::acme::pulumi:pulumi:Stack$docker:index/network:Network::other-net"
    assert (plan.project, plan.pulumi_stack) == ("acme", "prod")


def test_captures_on_several_threads_at_once_do_not_mix():
    results = {}

    def run(key, program):
        results[key] = capture(program, config=CONFIG, secret_config_keys=SECRET_KEYS).to_json()

    threads = [threading.Thread(target=run, args=(i, programs.sample_program if i % 2 else programs.other_program))
               for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[1] == results[3] and results[0] == results[2] and results[0] != results[1]


def test_the_plan_does_not_depend_on_the_hash_seed(tmp_path):
    script = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import _plan_programs as p\n"
        "from flashdrive.plan import capture\n"
        "print(capture(p.sample_program, config=p.CONFIG, secret_config_keys=p.SECRET_KEYS).to_json())\n"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", script, str(Path(__file__).parent)], env=env,
                              capture_output=True, text=True, check=True)
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_mock_ids_and_image_digests_are_deterministic_and_follow_the_inputs():
    first = capture(programs.image_program)
    assert first.to_json() == capture(programs.image_program).to_json()
    digest = first.get("web").inputs["image"]
    assert digest.startswith("flashdrive/shop-app@sha256:") and len(digest.split(":")[-1]) == 64
    assert first.get("cache").inputs["image"].startswith("sha256:")
    assert first.outputs["digest"] == digest
    changed = capture(lambda: programs.image_program(dockerfile="Dockerfile.prod"))
    assert changed.get("web").inputs["image"] != digest


# --- failures -----------------------------------------------------------------------------------

def test_a_program_raising_run_error_gives_a_clean_program_error():
    with pytest.raises(ProgramError) as caught:
        capture(programs.failing_program)
    assert str(caught.value) == "the spec is valid, but the kubernetes backend is not built yet"
    assert isinstance(caught.value.cause, pulumi.RunError)
    # ...and the next capture starts clean.
    assert capture(programs.other_program).outputs == {"only": "other"}


def test_an_exception_in_an_apply_fails_the_plan():
    with pytest.raises(ProgramError, match="ZeroDivisionError"):
        capture(programs.failing_apply_program)


def test_duplicate_urns_fail_like_the_engine():
    with pytest.raises(ProgramError, match="duplicate resource URN .*::data"):
        capture(programs.duplicate_program)


def test_an_input_error_raised_by_the_program_passes_through():
    def program():
        raise InputError([Problem("bad input")])

    with pytest.raises(InputError):
        capture(program)


def test_a_failed_capture_prints_nothing(capfd):
    with pytest.raises(ProgramError):
        capture(programs.failing_program)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_program_logs_are_collected_not_printed(capfd):
    plan = capture(programs.logging_program)
    assert ("warning", "disk 'media' is shared by 2 copies") in plan.logs
    assert ("info", "just so you know") in plan.logs
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_a_capture_reads_no_python_stack_and_leaves_the_sdk_as_it_found_it(monkeypatch):
    import traceback

    import pulumi.runtime.resource as sdk_resource

    sdk_stack_trace = sdk_resource._get_stack_trace
    reads = []
    extract_stack = traceback.extract_stack
    monkeypatch.setattr(traceback, "extract_stack", lambda *a, **k: reads.append(1) or extract_stack(*a, **k))
    plan = capture(programs.sample_program, config=CONFIG, secret_config_keys=SECRET_KEYS)
    assert plan.by_type(CONTAINER) and reads == []
    assert sdk_resource._get_stack_trace is sdk_stack_trace  # a real `pulumi up` still sends source positions


def test_only_the_one_shot_command_leaves_the_capture_s_garbage_to_the_exit(monkeypatch):
    import gc

    from flashdrive import process

    def garbage_left(ends_after_command: bool) -> int:
        monkeypatch.setattr(process, "ends_after_command", ends_after_command)
        gc.collect()
        capture(programs.sample_program, config=CONFIG, secret_config_keys=SECRET_KEYS)
        return gc.collect()

    enabled = gc.isenabled()
    gc.disable()  # as the command runs: no automatic collection frees it meanwhile
    try:
        going_on, ending = garbage_left(False), garbage_left(True)
    finally:
        if enabled:
            gc.enable()
    assert going_on * 5 < ending  # the program's futures, tasks and resources are freed by the capture itself
