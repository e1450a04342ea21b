"""`plan --format markdown`: a pull-request comment a reviewer can read without the JSON."""

from pathlib import Path

import pytest

from flashdrive.plan import plan_spec, render

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def markdown():
    return render(plan_spec(ROOT / "examples/django-shop/flashdrive.yaml"), "markdown")


def test_it_opens_with_the_stack_counts_and_public_urls(markdown):
    first = markdown.splitlines()
    assert first[0] == "### flashdrive plan — stack `shop` (docker)"
    assert "9 Container" in first[2] and "5 Volume" in first[2]
    assert "3 Command" in first[2] and "1 docker provider" in first[2]
    assert "web → https://shop.example.com" in markdown


def test_each_component_gets_a_table_and_data_holders_say_they_are_retained(markdown):
    assert "#### App `shop-web`" in markdown and "#### Database `shop-main`" in markdown
    disk_row = next(line for line in markdown.splitlines() if line.startswith("| `shop-disk-media` |"))
    assert "retained on delete" in disk_row


def test_only_the_edge_row_shows_published_ports(markdown):
    rows = [line for line in markdown.splitlines() if "ports:" in line]
    assert len(rows) == 1 and rows[0].startswith("| `shop-edge` |") and "`80, 443`" in rows[0]


def test_secrets_stay_masked(markdown):
    assert "RESTIC_PASSWORD=" not in markdown.replace("[secret]", "")
