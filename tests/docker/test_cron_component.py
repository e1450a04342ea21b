"""What the docker backend declares for `cron:`: a scheduler per app, in the app's image, env, disks and
size, started before the old one leaves; read from the real program's registrations under mocks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_helpers import copy_of

from flashdrive.cron import scheduler as scheduler_module
from flashdrive.labels import docker_labels
from flashdrive.plan import plan_spec
from flashdrive.plan.render import render

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"

SPEC = """\
version: 1
stack: shop
tls: {email: ops@example.com}
apps:
  web:
    image: ghcr.io/acme/web:1.4
    size: m
    nodes: 2
    release: ./manage.py migrate
    env:
      SECRET_KEY: {generate: secret}
      DATABASE_URL: ${databases.main.url}
      PLAIN: hello
    disks: [{name: media, mount: /app/media, size_gb: 4}, {name: docs, mount: /app/docs, size_gb: 1, access: read_only}]
    domains: [shop.example.com]
    cron:
      - {name: clearsessions, schedule: "@daily", command: python manage.py clearsessions, timeout_s: 1800}
      - {name: report, schedule: "*/15 9-17 * * mon-fri", command: ./report.sh}
  api:
    image: ghcr.io/acme/api:2
    egress: false
    cron:
      - {name: sync, schedule: "0 * * * *", command: ./sync.sh, timeout_s: 60}
  quiet:
    image: ghcr.io/acme/quiet:1
    type: worker
databases:
  main: {engine: postgres}
"""


@pytest.fixture
def plan(write_spec):
    return plan_spec(write_spec())


def container(plan, name):
    if name.endswith("-cron"):  # the scheduler, named by its version
        app = name.split("-")[1]
        [found] = [c for c in plan.by_type(CONTAINER) if docker_labels(c.inputs).get("flashdrive.role") == "cron"
                   and docker_labels(c.inputs)["flashdrive.app"] == app]
        return found
    return plan.get(name, CONTAINER)


def test_each_app_with_jobs_gets_one_scheduler_and_an_app_without_none(plan):
    schedulers = [c for c in plan.by_type(CONTAINER) if docker_labels(c.inputs).get("flashdrive.role") == "cron"]
    assert sorted(docker_labels(c.inputs)["flashdrive.app"] for c in schedulers) == ["api", "web"]
    web = container(plan, "shop-web-cron")
    assert web.parent.endswith("flashdrive:docker:Cron::shop-web-cron")
    assert docker_labels(web.inputs)["flashdrive.cron.clearsessions"] == "@daily"
    assert docker_labels(web.inputs)["flashdrive.cron.report"] == "*/15 9-17 * * mon-fri"


def test_the_scheduler_is_created_before_the_old_one_is_removed_and_waits_for_its_longest_job(plan):
    web = container(plan, "shop-web-cron")
    # A resource per version: Pulumi creates the new one and deletes the old one at the end.
    assert re.fullmatch(r"shop-web-cron-[0-9a-f]{10}", web.name) and web.inputs["name"] == web.name
    assert web.inputs["destroyGraceSeconds"] == 3600 + 30  # report's default timeout is the longest
    assert web.inputs["stopTimeout"] == 3600 + 30
    assert container(plan, "shop-api-cron").inputs["destroyGraceSeconds"] == 60 + 30


def test_the_scheduler_runs_the_released_image_with_the_copies_env_disks_and_size(plan):
    web, copy = container(plan, "shop-web-cron"), copy_of(plan, "shop-web-1")
    assert web.inputs["image"] == copy.inputs["image"]
    # The released image: the scheduler waits for the release (flashdrive/docker/release.py).
    release = plan.get("shop-web-release", "command:local:Command")
    assert release.urn in web.depends_on
    copy_env = [e for e in copy.inputs["envs"] if not e.startswith("FLASHDRIVE_NODE=")]
    assert [e for e in web.inputs["envs"] if not e.startswith("FLASHDRIVE_NODE=")] == copy_env
    assert "FLASHDRIVE_NODE=cron" in web.inputs["envs"]
    assert "PLAIN=hello" in web.inputs["envs"] and "DATABASE_URL=[secret]" in web.inputs["envs"]
    for key in ("memory", "memorySwap", "cpus", "capabilities", "securityOpts", "privileged"):
        assert web.inputs[key] == copy.inputs[key], key
    mounts = {v["containerPath"]: v for v in web.inputs["volumes"]}
    assert {path: v.get("readOnly", False) for path, v in mounts.items() if path.startswith("/app")} == \
           {"/app/media": False, "/app/docs": True}
    assert mounts["/flashdrive/cron-state"]["volumeName"] == "shop-web-cron-state"


def test_the_scheduler_is_on_the_stacks_network_never_the_edge_and_answers_to_no_app_name(plan):
    web = container(plan, "shop-web-cron")
    assert [n["name"] for n in web.inputs["networksAdvanced"]] == ["shop-internal", "shop-egress"]
    assert all(not n.get("aliases") for n in web.inputs["networksAdvanced"])
    assert [n["name"] for n in container(plan, "shop-api-cron").inputs["networksAdvanced"]] == ["shop-internal"]
    assert "ports" not in web.inputs
    assert "docker.sock" not in json.dumps([c.inputs for c in plan.by_type(CONTAINER)])


def test_the_scheduler_program_its_evaluator_and_the_jobs_are_uploaded_and_run_with_the_images_python(plan):
    web = container(plan, "shop-web-cron")
    uploads = {u["file"]: u["content"] for u in web.inputs["uploads"]}
    assert uploads["/flashdrive/cron/scheduler.py"] == Path(scheduler_module.__file__).read_text()
    assert "class CronSim" in uploads["/flashdrive/cron/cronsim.py"]
    assert "Pēteris Caune" in uploads["/flashdrive/cron/cronsim.py"]  # its license travels with it
    assert json.loads(uploads["/flashdrive/cron/jobs.json"]) == [
        {"name": "clearsessions", "expression": "0 0 * * *", "command": "python manage.py clearsessions",
         "timeout_s": 1800},
        {"name": "report", "expression": "*/15 9-17 * * mon-fri", "command": "./report.sh", "timeout_s": 3600}]
    assert web.inputs["entrypoints"] == ["python3", "-I", "-S", "/flashdrive/cron/scheduler.py"]
    assert web.inputs["command"] == ["/flashdrive/cron/jobs.json", "/flashdrive/cron-state"]


def test_the_state_volume_is_made_writable_for_the_apps_user_by_a_one_off_without_capabilities(plan):
    prepare = container(plan, "shop-web-cron-prepare")
    assert prepare.inputs["user"] == "0:0" and prepare.inputs["networkMode"] == "none"
    assert prepare.inputs["capabilities"] == {"drops": ["ALL"]} or prepare.inputs["capabilities"]["adds"] == []
    assert prepare.inputs["attach"] is True and prepare.inputs["mustRun"] is False
    assert prepare.urn in container(plan, "shop-web-cron").depends_on
    state = plan.get("shop-web-cron-state", VOLUME)
    assert state.retain_on_delete is False  # locks and run history, not user data


def test_removing_every_job_removes_the_scheduler_and_its_volume(write_spec):
    without = SPEC.replace("    egress: false\n    cron:\n      - {name: sync, schedule: \"0 * * * *\", "
                           "command: ./sync.sh, timeout_s: 60}\n", "    egress: false\n")
    assert without != SPEC
    plan = plan_spec(write_spec(without))
    assert not [c for c in plan.by_type(CONTAINER) if c.name.startswith("shop-api-cron")]
    assert "shop-api-cron-state" not in {r.name for r in plan.by_type(VOLUME)}
    assert container(plan, "shop-web-cron")


def test_every_plan_format_shows_the_jobs(plan):
    text = render(plan, "text")
    assert container(plan, "shop-web-cron").name in text and "flashdrive.cron.clearsessions" in text
    assert "clearsessions" in render(plan, "markdown")
    mermaid = render(plan, "mermaid")
    assert "cron clearsessions @daily" in mermaid and "cron sync 0 * * * *" in mermaid
    web = mermaid.split("subgraph app_web", 1)[1].split("\n        end", 1)[0]
    assert "2 copies" in web and web.count("copy_web_") == 2  # the scheduler is not a copy
    assert "On a deploy: new scheduler first" in render(plan, "markdown")
    assert "=> on_deploy: \"new scheduler first; the old one leaves after its running jobs (up may wait 3630 s more)" \
           in text


def test_a_new_version_is_a_new_scheduler_and_the_same_version_the_same(write_spec):
    name = lambda plan: container(plan, "shop-web-cron").name
    first, again = plan_spec(write_spec()), plan_spec(write_spec())
    assert name(first) == name(again)
    for change in (("ghcr.io/acme/web:1.4", "ghcr.io/acme/web:1.5"), ("PLAIN: hello", "PLAIN: bye"),
                   ("command: ./report.sh", "command: ./report.sh --full"), ("size: m", "size: l")):
        changed = plan_spec(write_spec(SPEC.replace(*change)))
        assert name(changed) != name(first), change
        assert container(changed, "shop-api-cron").name == container(first, "shop-api-cron").name, change


def test_the_state_volume_is_prepared_once_whatever_the_image(plan):
    assert "image" in container(plan, "shop-web-cron-prepare").ignore_changes
