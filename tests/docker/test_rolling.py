"""How a deploy changes an app's copies: rolling (new versions beside the old, the old stopped
gracefully at the end) or stop-first for an exclusive disk; databases stop cleanly."""

from __future__ import annotations

import json

import pytest
from cli_helpers import copy_of, unversioned

from flashdrive.plan import plan_spec

CONTAINER = "docker:index/container:Container"

SPEC = """\
version: 1
stack: shop
apps:
  web:
    image: ghcr.io/acme/web:1.4
    nodes: 2
    shutdown_timeout_s: 45
    health_check: {path: /up, interval_s: 5, timeout_s: 2, retries: 3, start_period_s: 20}
    env: {LOG_LEVEL: INFO}
  notes:
    image: ghcr.io/acme/notes:1
    disks: [{name: db, mount: /data, size_gb: 1, exclusive: true}]
  jobs:
    image: ghcr.io/acme/web:1.4
    type: worker
databases:
  main: {engine: postgres}
"""


def plan_of(tmp_path, text: str = SPEC, name: str = "flashdrive.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return plan_spec(path)


def labels(resource) -> dict:
    return {label["label"]: label["value"] for label in resource.inputs["labels"]}


@pytest.fixture
def plan(tmp_path):
    return plan_of(tmp_path)


def test_a_rolling_copy_is_named_by_its_version_and_waits_until_healthy(plan):
    web = copy_of(plan, "shop-web-1")
    assert web.name != "shop-web-1" and web.inputs["name"] == web.name
    assert labels(web)["flashdrive.strategy"] == "rolling"
    # Old and new versions answer to the same names while both run.
    assert web.inputs["networksAdvanced"][0]["aliases"] == ["web", "web-1"]
    assert web.inputs["hostname"] == "web-1"
    # start period, then (retries + 1) checks of interval + timeout
    assert (web.inputs["wait"], web.inputs["waitTimeout"]) == (True, 20 + 4 * (5 + 2))
    assert (web.inputs["destroyGraceSeconds"], web.inputs["stopTimeout"]) == (45, 45)


def test_a_worker_rolls_too_but_has_no_health_check_to_wait_for(plan):
    jobs = copy_of(plan, "shop-jobs-1")
    assert labels(jobs)["flashdrive.strategy"] == "rolling"
    assert "wait" not in jobs.inputs or jobs.inputs["wait"] is False
    assert jobs.inputs["destroyGraceSeconds"] == 30  # the default shutdown_timeout_s


def test_an_exclusive_disk_deploys_its_app_stop_first_under_a_fixed_name(plan):
    notes = copy_of(plan, "shop-notes-1")
    assert notes.name == "shop-notes-1" and notes.delete_before_replace
    assert labels(notes)["flashdrive.strategy"] == "stop-first"


def test_versions_are_the_same_for_the_same_spec_and_change_only_for_the_app_that_changed(tmp_path, plan):
    again = plan_of(tmp_path, name="again.yaml")
    assert {r.name for r in again.by_type(CONTAINER)} == {r.name for r in plan.by_type(CONTAINER)}
    changed = plan_of(tmp_path, SPEC.replace("LOG_LEVEL: INFO", "LOG_LEVEL: DEBUG"), "changed.yaml")
    assert copy_of(changed, "shop-web-1").name != copy_of(plan, "shop-web-1").name
    assert copy_of(changed, "shop-jobs-1").name == copy_of(plan, "shop-jobs-1").name
    # A size change, which Docker could apply in place, rolls as well: new copies, then the old go.
    bigger = plan_of(tmp_path, SPEC.replace("    nodes: 2\n", "    nodes: 2\n    size: m\n"), "bigger.yaml")
    assert copy_of(bigger, "shop-web-2").name != copy_of(plan, "shop-web-2").name


def test_more_nodes_add_copies_without_touching_the_others(tmp_path, plan):
    more = plan_of(tmp_path, SPEC.replace("nodes: 2", "nodes: 3"), "more.yaml")
    before = {unversioned(r.name): r.name for r in plan.by_type(CONTAINER)}
    after = {unversioned(r.name): r.name for r in more.by_type(CONTAINER)}
    assert after["shop-web-1"] == before["shop-web-1"] and after["shop-web-2"] == before["shop-web-2"]
    assert "shop-web-3" in after


def test_a_database_gets_time_for_a_clean_shutdown_and_is_replaced_stop_first(plan):
    main = plan.get("shop-main", CONTAINER)
    assert main.inputs["destroyGraceSeconds"] >= 60 and main.inputs["stopTimeout"] == main.inputs["destroyGraceSeconds"]
    assert main.delete_before_replace and main.inputs["name"] == "shop-main"


def test_an_exclusive_disk_cannot_have_two_copies(tmp_path, cli):
    path = tmp_path / "flashdrive.yaml"
    path.write_text(SPEC.replace("    disks: [{name: db", "    nodes: 2\n    disks: [{name: db"))
    run = cli("validate", path)
    assert run.code != 0
    assert any("apps.notes.nodes: 2 copies would all write disk 'db', which is exclusive" in line
               for line in run.error_lines), run.err


def test_the_edge_keeps_one_caddy_and_takes_new_routes_live(tmp_path, plan):
    more = plan_of(tmp_path, SPEC.replace("nodes: 2", "nodes: 3"), "more.yaml")
    edge, edge_after = plan.get("shop-edge", CONTAINER), more.get("shop-edge", CONTAINER)
    # The container never changes with the routes: same inputs, so the engine leaves it running.
    assert edge.inputs == edge_after.inputs
    assert edge.inputs["command"][-1] == "--watch" and "uploads" not in edge.inputs
    routes, routes_after = (p.get("shop-edge-routes", "command:local:Command") for p in (plan, more))
    assert "web-3:8000" in routes_after.inputs["environment"]["FLASHDRIVE_CADDYFILE"]
    assert routes.inputs["triggers"] != routes_after.inputs["triggers"]
    assert routes.urn in edge.depends_on
    assert copy_of(more, "shop-web-3").urn in routes_after.depends_on


ROLLING_WHY = "no disk is exclusive: new copies start beside the old ones"
STOP_FIRST_WHY = "disk 'db' is exclusive: never two writers"


def test_every_plan_format_names_each_apps_strategy_and_why(tmp_path, cli):
    path = tmp_path / "flashdrive.yaml"
    path.write_text(SPEC)
    text = cli("plan", path).out
    assert text[text.index("\nDeploys:\n"):text.index("\nResources:")].splitlines()[2:] == [
        f"    jobs: rolling ({ROLLING_WHY})",
        f"    notes: stop-first ({STOP_FIRST_WHY})",
        f"    web: rolling ({ROLLING_WHY})",
    ]
    document = json.loads(cli("plan", path, "--format", "json").out)
    apps = {r["name"]: r["outputs"] for r in document["resources"] if r["type"] == "flashdrive:docker:App"}
    assert {name: (o["strategy"], o["strategy_reason"]) for name, o in apps.items()} == {
        "shop-jobs": ("rolling", ROLLING_WHY), "shop-notes": ("stop-first", STOP_FIRST_WHY),
        "shop-web": ("rolling", ROLLING_WHY)}
    markdown = cli("plan", path, "--format", "markdown").out.splitlines()
    notes = markdown.index("#### App `shop-notes`")
    assert markdown[notes + 2] == f"Deploys **stop-first**: {STOP_FIRST_WHY}."
    mermaid = cli("plan", path, "--format", "mermaid").out
    assert f'subgraph app_notes["app notes (web) · 1 copy · 0.5 CPU, 512 MiB · stop-first: {STOP_FIRST_WHY}"]' \
        in mermaid.replace("&#39;", "'")
    assert 'subgraph app_web["app web (web) · 2 copies · 0.5 CPU, 512 MiB · rolling"]' in mermaid
    manifests = cli("plan", path, "--backend", "kubernetes", "--format", "yaml").out.splitlines()
    assert f"# notes deploys stop-first: {STOP_FIRST_WHY}." in manifests[:5]
    assert f"# web deploys rolling: {ROLLING_WHY}." in manifests[:5]


def test_on_kubernetes_an_exclusive_disk_recreates_its_copy_and_the_others_roll(tmp_path):
    path = tmp_path / "flashdrive.yaml"
    path.write_text(SPEC)
    plan = plan_spec(path, backend="kubernetes")
    deployments = {r.inputs["metadata"]["name"]: r.inputs for r in plan.by_type("kubernetes:apps/v1:Deployment")}
    # Recreate: the old pod is gone before the new one mounts the disk, never two writers.
    assert deployments["notes"]["spec"]["strategy"] == {"type": "Recreate"}
    assert deployments["notes"]["metadata"]["annotations"]["flashdrive.dev/rollout"].startswith(
        f"stop-first: {STOP_FIRST_WHY}")
    assert deployments["web"]["spec"]["strategy"]["type"] == "RollingUpdate"
