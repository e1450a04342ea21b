"""Fixtures for the kubernetes backend: plans of the example and of a stack that uses the rest."""

from __future__ import annotations


import pytest

from _k8s_helpers import MARKET, ROOT, plan_for

SHOP = "examples/django-shop/flashdrive.yaml"


@pytest.fixture(autouse=True)
def at_project_root(monkeypatch):
    # Build contexts are relative to the project, as under `pulumi up`.
    monkeypatch.chdir(ROOT)


def _planned_at_root(spec):
    # Session fixtures are set up before the autouse chdir above.
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        return plan_for(spec)


@pytest.fixture(scope="session")
def shop():
    return _planned_at_root(SHOP)


@pytest.fixture(scope="session")
def market():
    return _planned_at_root(MARKET)


