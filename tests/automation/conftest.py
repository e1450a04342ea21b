"""A project folder with a spec, the CLI in-process, and a stand-in `pulumi` on PATH when asked."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest


FAKE = Path(__file__).with_name("fake_pulumi.py")

SPEC = """\
version: 1
stack: shop
apps:
  web:
    image: ghcr.io/acme/web:1.4
    env:
      LOG_LEVEL: info
databases:
  main: {engine: postgres}
"""


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """An empty project folder with a flashdrive.yaml, as the current directory."""
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "flashdrive.yaml").write_text(SPEC)
    monkeypatch.chdir(folder)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    return folder


@pytest.fixture
def no_pulumi(tmp_path, monkeypatch):
    """A PATH and HOME where no Pulumi CLI can be found."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PULUMI_HOME", raising=False)


class FakePulumi:
    def __init__(self, root: Path):
        self.log = root / "calls.jsonl"
        self.state = root / "stacks"

    def calls(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def commands(self) -> list[list[str]]:
        return [[a for a in call["argv"] if a != "--non-interactive"] for call in self.calls()]

    def has_stack(self, name: str, **listed) -> None:
        """`listed`: what `pulumi stack ls --json` says of it (lastUpdate="2026-11-20T09:00:00.000000Z")."""
        self.state.mkdir(parents=True, exist_ok=True)
        (self.state / name).write_text(json.dumps(listed) if listed else "created\n")


@pytest.fixture
def fake_pulumi(tmp_path, monkeypatch) -> FakePulumi:
    """tests/automation/fake_pulumi.py as `pulumi` on PATH, with a passphrase set."""
    root = tmp_path / "fake-pulumi"
    (root / "bin").mkdir(parents=True)
    script = root / "bin" / "pulumi"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    fake = FakePulumi(root)
    monkeypatch.setenv("PATH", f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(fake.log))
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(fake.state))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "correct horse battery staple")
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    monkeypatch.delenv("FAKE_PULUMI_FAIL", raising=False)
    return fake


