"""`flashdrive diff` of a pull request that only changes code: the base is the plan JSON kept from
the main branch, the head the same spec over changed sources. It shows the image rebuilt, the
release rerun, the copies replaced with how (rolling or stop-first) and why, and nothing else."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROLLING = "rolling (no disk is exclusive: new copies start beside the old ones)"
STOP_FIRST = "stop-first (disk 'jobs' is exclusive: never two writers)"


@pytest.fixture
def shop(tmp_path, monkeypatch, cli):
    """The example, its worker given an exclusive disk; the base plan written, then a code change."""
    copy = tmp_path / "shop"
    shutil.copytree(ROOT / "examples/django-shop", copy, ignore=shutil.ignore_patterns(".flashdrive", "__pycache__"))
    monkeypatch.chdir(copy)
    spec = Path("flashdrive.yaml")
    spec.write_text(spec.read_text().replace(
        "    process: worker           # Procfile: `worker: python manage.py worker`\n",
        "    process: worker           # Procfile: `worker: python manage.py worker`\n"
        "    disks: [{name: jobs, mount: /app/jobs, size_gb: 1, exclusive: true}]\n"))
    base = cli("plan", spec, "--format", "json")
    assert base.code == 0, base.err
    Path("base.plan.json").write_text(base.out)
    views = Path("app/store/views.py")
    views.write_text(views.read_text() + "\n# a code change\n")
    return spec


def shape(text: str) -> list[str]:
    """The diff's groups and verdict lines, versions and digests shown as placeholders."""
    text = re.sub(r"-[0-9a-f]{8}\b", "-<version>", text)
    return [line for line in text.splitlines() if line and not line.startswith("        ")]


def test_a_code_change_shows_the_rebuild_the_release_the_copies_and_their_strategy_only(shop, cli):
    run = cli("diff", "base.plan.json", shop)
    assert run.code == 0, run.err
    assert shape(run.out)[1:] == [
        "App 'web'",
        f"  deploys {ROLLING}",
        "  ± replace  Command    shop-web-release   (replaced because environment, triggers change)",
        "  ± replace  Container  shop-web-1-<version>   (replaced because image, name change)",
        "  ± replace  Container  shop-web-2-<version>   (replaced because image, name change)",
        "App 'worker'",
        f"  deploys {STOP_FIRST}",
        "  ± replace  Container  shop-worker-1   (replaced because image changes)",
        "Build 'app-a172ce'",
        "  ± replace  Command    shop-app-a172ce-image-cleanup   (replaced because environment, triggers change)",
        "  ~ update   Image      shop-app-a172ce",
        "Resources: 0 to create, 1 to update, 5 to replace, 0 to delete; 29 unchanged.",
    ]
    # The image is rebuilt because its build context's digest changed, and for nothing else.
    image = run.out[run.out.index("  ~ update   Image"):]
    assert [line.split(":")[0] for line in image.splitlines()[1:3]] == [
        "        - build.contextDigest", "        + build.contextDigest"]


def test_the_markdown_comment_names_each_rolled_apps_strategy(shop, cli):
    run = cli("diff", "base.plan.json", shop, "--format", "markdown")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    web, worker = lines.index("### App `web`"), lines.index("### App `worker`")
    assert lines[web + 2] == "Deploys **rolling**: no disk is exclusive: new copies start beside the old ones."
    assert lines[worker + 2] == "Deploys **stop-first**: disk 'jobs' is exclusive: never two writers."
    assert "**0** to create · **1** to update · **5** to replace · **0** to delete · 29 unchanged" in lines
