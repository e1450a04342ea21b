"""What the docker backend declares, read from the real program's registrations under mocks."""

from __future__ import annotations

import json

import pytest

from cli_helpers import unversioned
from flashdrive.plan import plan_spec

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
NETWORK = "docker:index/network:Network"

SPEC = """\
version: 1
stack: shop
tls: {email: ops@example.com}
apps:
  web:
    image: ghcr.io/acme/web:1.4
    size: m
    nodes: 3
    release: ./manage.py migrate
    env:
      SECRET_KEY: {generate: secret, length: 50}
      DATABASE_URL: ${databases.main.url}
      API_TOKEN: {config: apiToken}
      SEARCH: http://${apps.search.host}:${apps.search.port}/
      PLAIN: hello
    disks: [{name: media, mount: /app/media, size_gb: 4}]
    domains: [shop.example.com]
  search:
    image: ghcr.io/acme/search:1
    port: 9200
    egress: false
  jobs:
    image: ghcr.io/acme/web:1.4
    type: worker
    size: xs
databases:
  main: {engine: postgres}
  cache: {engine: redis}
"""


@pytest.fixture
def plan(write_spec):
    return plan_spec(write_spec(), config={"flashdrive:apiToken": "tok-very-secret"})


def containers(plan):
    """By name; a rolling copy by its name without the version (`shop-web-1`)."""
    return {unversioned(r.name): r for r in plan.by_type(CONTAINER)}


def test_only_the_edge_publishes_ports_and_only_80_and_443(plan):
    published = {name: c.inputs.get("ports") for name, c in containers(plan).items() if c.inputs.get("ports")}
    assert set(published) == {"shop-edge"}
    assert sorted(p["external"] for p in published["shop-edge"]) == [80, 443]


def test_every_volume_is_retained_on_delete(plan):
    volumes = plan.by_type(VOLUME)
    assert {v.name for v in volumes} == {"shop-disk-media", "shop-db-main", "shop-db-cache", "shop-edge-data",
                                         "shop-backups"}
    assert all(v.options["retainOnDelete"] for v in volumes)


def test_disk_volumes_are_named_from_stack_and_disk_never_the_app(write_spec):
    renamed = SPEC.replace("  web:\n", "  shopfront:\n")
    plan = plan_spec(write_spec(renamed), config={"flashdrive:apiToken": "x"})
    disk = next(v for v in plan.by_type(VOLUME) if v.name == "shop-disk-media")
    assert disk.inputs["name"] == "shop-disk-media"
    assert "shopfront" not in disk.urn
    assert all("size" not in json.dumps(label) for label in disk.inputs.get("labels", []))


def test_copies_equal_nodes_and_all_answer_to_the_app_name(plan):
    web = {name: c for name, c in containers(plan).items() if name.startswith("shop-web-")}
    assert sorted(web) == ["shop-web-1", "shop-web-2", "shop-web-3"]
    web = [web[name] for name in sorted(web)]
    for number, container in enumerate(sorted(web, key=lambda c: c.name), start=1):
        internal = container.inputs["networksAdvanced"][0]
        assert internal["aliases"] == ["web", f"web-{number}"]
        assert f"FLASHDRIVE_NODE={number}" in container.inputs["envs"]


def test_sizes_map_to_memory_and_cpu_limits_written_as_the_provider_reads_them_back(plan):
    c = containers(plan)
    assert c["shop-web-1"].inputs["memory"] == 1024 and c["shop-web-1"].inputs["cpus"] == "1.0"
    assert c["shop-jobs-1"].inputs["memory"] == 256 and c["shop-jobs-1"].inputs["cpus"] == "0.25"


def test_no_container_gets_the_host_wide_nproc_ulimit(plan):
    # RLIMIT_NPROC counts every process of a uid on the host: not a per-container limit.
    for name, container in containers(plan).items():
        assert "nproc" not in json.dumps(container.inputs.get("ulimits") or []), name


def test_every_container_is_hardened(plan):
    for name, container in containers(plan).items():
        inputs = container.inputs
        assert inputs["capabilities"]["drops"] == ["ALL"], name
        assert inputs["securityOpts"] == ["no-new-privileges:true"], name
        assert inputs["privileged"] is False, name
        assert inputs["logOpts"] == {"max-file": "3", "max-size": "10m"}, name
        assert "docker.sock" not in json.dumps(inputs), name
    assert containers(plan)["shop-web-1"].inputs["capabilities"].get("adds", []) == []
    assert containers(plan)["shop-edge"].inputs["capabilities"]["adds"] == ["NET_BIND_SERVICE"]


def test_secrets_never_appear_in_the_plan(plan):
    text = json.dumps(plan.to_json())
    assert "tok-very-secret" not in text
    envs = containers(plan)["shop-web-1"].inputs["envs"]
    assert "DATABASE_URL=[secret]" in envs or "[secret]" in envs
    assert "PLAIN=hello" in envs
    assert "SEARCH=http://search:9200/" in envs


def test_databases_live_on_the_internal_network_only(plan):
    networks = {n.name: n for n in plan.by_type(NETWORK)}
    assert networks["shop-internal"].inputs["internal"] is True
    assert networks["shop-edge"].inputs["internal"] is True
    internal_id = "shop-internal"
    for name in ("shop-main", "shop-cache"):
        nets = containers(plan)[name].inputs["networksAdvanced"]
        assert [n["name"] for n in nets] == [internal_id], name


def test_egress_false_keeps_an_app_off_the_way_out(plan):
    c = containers(plan)
    assert "shop-egress" not in [n["name"] for n in c["shop-search-1"].inputs["networksAdvanced"]]
    assert "shop-egress" in [n["name"] for n in c["shop-web-1"].inputs["networksAdvanced"]]


def test_worker_apps_never_get_a_domain_or_the_edge_network(plan):
    c = containers(plan)
    assert "shop-edge" not in [n["name"] for n in c["shop-jobs-1"].inputs["networksAdvanced"]]
    assert "PORT" not in " ".join(c["shop-jobs-1"].inputs["envs"])
    assert "jobs" not in plan.outputs["urls"]


def test_copies_wait_for_the_release_command_without_taking_a_value_from_it(plan):
    c = containers(plan)
    release = plan.get("shop-web-release", "command:local:Command")
    assert "shop-web-release" not in c
    assert release.urn in c["shop-web-1"].options["dependsOn"]
    # No input of a copy takes a value from the release: the engine's dependent replacements
    # (an input fed by a replaced resource) can never reach the copies through it.
    for name in ("shop-web-1", "shop-web-2", "shop-web-3"):
        fed_by = {urn for urns in c[name].property_dependencies.values() for urn in urns}
        assert release.urn not in fed_by, name


def test_prebuilt_images_are_pulled_not_built(plan):
    assert not plan.by_type("docker:index/image:Image")
    assert "shop-web-image" in {r.name for r in plan.by_type("docker:index/remoteImage:RemoteImage")}


def test_outputs_give_public_urls_and_internal_addresses(plan):
    assert plan.outputs["urls"] == {"web": "https://shop.example.com", "search": "https://search.shop.localhost"}
    assert plan.outputs["internal"]["main"] == "main:5432"
    assert plan.outputs["internal"]["search"] == "search:9200"


def test_components_parent_their_children(plan):
    volume = next(v for v in plan.by_type(VOLUME) if v.name == "shop-disk-media")
    assert volume.parent.endswith("flashdrive:docker:Disk::shop-disk-media")
    assert containers(plan)["shop-web-1"].parent.endswith("flashdrive:docker:App::shop-web")
