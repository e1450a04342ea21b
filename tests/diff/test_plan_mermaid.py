"""`flashdrive plan --format mermaid`: the stack as a diagram GitHub renders."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import _diff_specs as specs
from cli_helpers import unversioned
import flashdrive.cli.main as cli_main
from flashdrive.diff import plan_from_json
from flashdrive.plan import plan_spec
from flashdrive.plan.mermaid import render_mermaid

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "django-shop" / "flashdrive.yaml"
NODE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)(\(\(|\[\(|\[/|\[\[|\[)\"")
SUBGRAPH = re.compile(r"^\s*subgraph ([A-Za-z][A-Za-z0-9_]*)\[")
LINK = re.compile(r"^\s*([A-Za-z0-9_]+) (-->|---|-\.->)(\|[^|]*\|)? ([A-Za-z0-9_]+)$")


@pytest.fixture(scope="module")
def example_plan():
    return plan_spec(EXAMPLE)


@pytest.fixture(scope="module")
def diagram(example_plan) -> str:
    return render_mermaid(example_plan)


def test_the_diagram_draws_the_edge_with_the_domains_it_routes_to_each_app(diagram):
    assert diagram.startswith("flowchart LR\n")
    assert '    internet -->|"80, 443"| edge_edge' in diagram
    assert '    edge_edge -->|"shop.example.com<br/>web.shop.localhost"| app_web' in diagram
    routed = [m.group(4) for m in map(LINK.match, diagram.splitlines()) if m and m.group(1) == "edge_edge"]
    assert routed == ["app_web"]  # the worker has no route


def test_each_app_is_a_box_holding_its_copies(diagram):
    assert 'subgraph app_web["app web (web) · 2 copies · 0.5 CPU, 512 MiB · release first · rolling"]' in diagram
    assert 'copy_web_web_1["web-1"]' in diagram and 'copy_web_web_2["web-2"]' in diagram
    assert 'subgraph app_worker["app worker (worker) · 1 copy · 0.25 CPU, 256 MiB · rolling"]' in diagram


def test_databases_disks_and_backups_are_drawn_with_who_uses_them(diagram):
    assert 'db_main[("database main<br/>postgres:16")]' in diagram
    assert 'disk_media[/"disk media<br/>shop-disk-media"/]' in diagram
    assert 'backups_backups[["backups · 10 days kept<br/>shop-backups"]]' in diagram
    links = {line.strip() for line in diagram.splitlines() if LINK.match(line)}
    assert {'app_web ---|"/app/media"| disk_media',
            "app_web -.->|env| db_main", "app_web -.->|env| db_cache",
            "app_worker -.->|env| db_main", "app_worker -.->|env| db_cache",
            'backups_backups -.->|"backs up"| db_main', 'backups_backups -.->|"backs up"| db_cache',
            'backups_backups -.->|"backs up"| disk_media'} <= links


def test_every_link_joins_nodes_the_diagram_declares(diagram):
    declared = {m.group(1) for line in diagram.splitlines() if (m := NODE.match(line) or SUBGRAPH.match(line))}
    links = [LINK.match(line) for line in diagram.splitlines() if re.search(r" (-->|---|-\.->)", line)]
    assert links and all(links)
    for link in links:
        assert {link.group(1), link.group(4)} <= declared, link.group(0)
    subgraphs = sum(1 for line in diagram.splitlines() if SUBGRAPH.match(line))
    assert subgraphs == sum(1 for line in diagram.splitlines() if line.strip() == "end")


def test_a_plan_read_back_from_json_draws_the_same_diagram(example_plan, diagram):
    assert render_mermaid(plan_from_json(json.loads(example_plan.to_json()))) == diagram


def test_plain_references_between_apps_are_drawn(tmp_path):
    def add_api(spec):
        spec["apps"]["api"] = {"image": "ghcr.io/acme/api:2", "port": 9000, "env": {"CACHE_HOST": "${databases.cache.host}"}}
        spec["apps"]["worker"]["env"]["API_URL"] = "${apps.api.url}"

    diagram = render_mermaid(plan_spec(specs.write_spec(tmp_path, "api", add_api)))
    assert "app_worker -.->|env| app_api" in diagram
    assert "app_api -.->|env| db_cache" in diagram
    assert "app_api -.->|env| db_main" not in diagram


def test_quotes_and_angle_brackets_in_names_cannot_break_a_label(example_plan):
    from msgspec.structs import replace

    odd = [replace(r, inputs={**r.inputs, "hostname": 'web-1" --> x["<b>'}) if unversioned(r.name) == "shop-web-1" else r
           for r in example_plan.resources]
    diagram = render_mermaid(replace(example_plan, resources=odd))
    assert '            copy_web_web_1______x___b_["web-1#quot; --#gt; x[#quot;#lt;b#gt;"]' in diagram.splitlines()


def test_plan_prints_the_diagram_on_request(capsys):
    code = cli_main.main(["plan", str(EXAMPLE), "--format", "mermaid"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("flowchart LR\n") and "class edge_edge fdEdge" in out


def test_the_readme_shows_the_diagram_of_the_example_as_it_is_drawn_today(diagram):
    readme = (EXAMPLE.parents[2] / "README.md").read_text()
    shown = re.search(r"```mermaid\n(.*?)```", readme, re.S)
    assert shown is not None
    assert shown.group(1) == diagram, ("README.md's diagram is out of date; replace it with the output of "
                                       "`flashdrive plan examples/django-shop/flashdrive.yaml --format mermaid`")


# --- kubernetes ---------------------------------------------------------------------------------

MARKET = EXAMPLE.parents[2] / "tests" / "kubernetes" / "specs" / "market" / "flashdrive.yaml"


@pytest.fixture(scope="module")
def kubernetes_example():
    return plan_spec(EXAMPLE, backend="kubernetes")


@pytest.fixture(scope="module")
def market_diagram() -> str:
    return render_mermaid(plan_spec(MARKET))


def test_a_kubernetes_plan_draws_the_ingress_the_pods_and_the_data_of_the_stack(kubernetes_example):
    diagram = render_mermaid(kubernetes_example)
    assert 'subgraph stack_shop["stack shop · namespace shop"]' in diagram
    assert '    edge_edge -->|"shop.example.com<br/>web.shop.localhost"| app_web' in diagram
    assert 'subgraph app_web["app web (web) · 2 copies · 0.5 CPU, 512 MiB · release first · rolling"]' in diagram
    assert 'copy_web_pod_1["pod 1"]' in diagram and 'copy_web_pod_2["pod 2"]' in diagram
    assert 'disk_media[/"disk media<br/>shop-disk-media"/]' in diagram
    links = {line.strip() for line in diagram.splitlines() if LINK.match(line)}
    assert {'app_web ---|"/app/media"| disk_media',
            "app_web -.->|env| db_main", "app_web -.->|env| db_cache",
            "app_worker -.->|env| db_main", "app_worker -.->|env| db_cache",
            'backups_backups -.->|"backs up"| db_main', 'backups_backups -.->|"backs up"| db_cache',
            'backups_backups -.->|"backs up"| disk_media'} <= links


def test_on_kubernetes_the_picture_is_the_one_docker_draws_but_for_the_edge_pods_and_names(example_plan, diagram,
                                                                                           kubernetes_example):
    def shape(text: str) -> set[str]:
        links = {line.strip() for line in text.splitlines() if LINK.match(line)}
        return {line for line in links if "edge_edge" not in line}

    assert shape(render_mermaid(kubernetes_example)) == shape(diagram)


def test_a_kubernetes_stack_with_an_outside_backup_target_and_plain_references(market_diagram):
    assert 'edge_edge["ingress · traefik<br/>HTTPS"]' in market_diagram
    assert 'subgraph stack_market["stack market · namespace market-prod"]' in market_diagram
    assert ('    edge_edge -->|"api.example.com<br/>api.market.apps.example.net<br/>admin.example.com"| app_api'
            in market_diagram)
    assert 'subgraph app_api["app api (web) · 3 copies · 1 CPU, 1 GiB · release first · rolling"]' in market_diagram
    assert 'db_orders[("database orders<br/>mysql:8.4")]' in market_diagram
    assert 'backups_backups[["backups · 30 days kept<br/>repository outside the stack"]]' in market_diagram
    links = {line.strip() for line in market_diagram.splitlines() if LINK.match(line)}
    assert {"app_cron -.->|env| app_api",  # API_URL: ${apps.api.url}, plain
            "app_api -.->|env| db_catalog",  # CATALOG_HOST: ${databases.catalog.host}, plain
            "app_api -.->|env| db_orders",  # ORDERS_URL: a secret reference
            'app_cron ---|"/reports"| disk_reports',
            'backups_backups -.->|"backs up"| disk_reports', 'backups_backups -.->|"backs up"| db_orders'} <= links
    assert "app_cron -.->|env| db_orders" not in links


def test_a_kubernetes_plan_read_back_from_json_draws_the_same_diagram(kubernetes_example):
    assert (render_mermaid(plan_from_json(json.loads(kubernetes_example.to_json())))
            == render_mermaid(kubernetes_example))


def test_every_link_of_a_kubernetes_diagram_joins_declared_nodes(market_diagram):
    declared = {m.group(1) for line in market_diagram.splitlines()
                if (m := NODE.match(line) or SUBGRAPH.match(line))}
    links = [LINK.match(line) for line in market_diagram.splitlines() if re.search(r" (-->|---|-\.->)", line)]
    assert links and all(links)
    for link in links:
        assert {link.group(1), link.group(4)} <= declared, link.group(0)
