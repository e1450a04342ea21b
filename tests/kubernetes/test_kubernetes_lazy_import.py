"""pulumi-kubernetes is an optional extra: imported only when the kubernetes backend runs."""

from __future__ import annotations

import subprocess
import sys

from _k8s_helpers import MARKET, ROOT

INSTALL = "pip install 'flashdrive[kubernetes]'"


def test_without_pulumi_kubernetes_the_backend_says_in_one_line_how_to_install_it(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "pulumi_kubernetes", None)  # what an absent package looks like to import
    for name in [m for m in sys.modules if m.startswith("flashdrive.kubernetes")]:
        monkeypatch.delitem(sys.modules, name)
    run = cli("plan", MARKET)
    assert run.code == 1
    assert run.out == ""
    errors = [line for line in run.err.splitlines() if "error" in line]
    assert errors == [f"error: the Pulumi program failed: the kubernetes backend needs pulumi-kubernetes: {INSTALL}"]


def test_the_docker_backend_never_imports_pulumi_kubernetes():
    program = ("import sys; from flashdrive.plan import plan_spec, render; "
               "render(plan_spec('examples/django-shop/flashdrive.yaml'), 'text'); "
               "assert 'pulumi_kubernetes' not in sys.modules, 'imported'")
    result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
