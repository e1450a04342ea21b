"""The restore drill's script, run by sh against a stand-in restic: what it checks, what fails it and how
its report reads. (The real restic and the real servers: tests/e2e/test_restore_drills.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from flashdrive.backup_drill import DrillDatabase, DrillDisk, drill_script, parse_report

# A restic that serves snapshots from a folder: snapshots.json ([{id, time, tags}]), files/<id>/...
# (a snapshot's files, at their paths), and answers check/restore/ls/dump/backup as restic 0.14 does.
RESTIC = r'''
import json, os, shutil, sys
from pathlib import Path
home = Path(os.environ["FAKE_RESTIC"])
args = [a for a in sys.argv[1:] if a != "--no-lock"]
command, rest = args[0], args[1:]
snapshots = json.loads((home / "snapshots.json").read_text())
def files(snapshot):
    root = home / "files" / snapshot
    return sorted(p for p in root.rglob("*") if p.is_file()), root
if command == "check":
    broken = (home / "broken").exists()
    print("Pack ID does not match, want 42a1, got e4b5\nFatal: repository contains errors" if broken else "no errors were found")
    sys.exit(1 if broken else 0)
if command == "snapshots":
    tag = rest[rest.index("--tag") + 1]
    ids = [a for a in rest if not a.startswith("-") and a not in (tag, rest[rest.index("--host") + 1])]
    found = [dict(s, short_id=s["id"][:8], tree="ab" * 32, hostname="shop", paths=["/x"]) for s in snapshots
             if tag in s["tags"] and (not ids or s["id"] in ids)]
    print(json.dumps(found, separators=(",", ":")))  # compact, as restic prints it
elif command == "restore":
    snapshot, target = rest[0], Path(rest[rest.index("--target") + 1])
    if (home / "unreadable" / snapshot).exists():
        print("ignoring error for /data/disks/media/big: ciphertext verification failed\nThere were 1 errors", file=sys.stderr)
        sys.exit(1)
    paths, root = files(snapshot)
    for path in paths:
        if (home / "lose").exists() and path.name == "lost.txt":
            continue
        copy = target / path.relative_to(root)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, copy)
elif command == "ls":
    paths, root = files(rest[-1])
    print(f"snapshot {rest[-1][:8]} of [/x] filtered by [] at 2026-11-27 14:04:37 +0000 UTC):")
    for path in paths:
        print(f"-rw-r--r--  1000     0 {path.stat().st_size:>6} 2026-11-27 14:04:37 /{path.relative_to(root)}")
elif command == "dump":
    paths, root = files(rest[0])
    sys.stdout.buffer.write((root / rest[1].lstrip("/")).read_bytes())
elif command == "backup":
    (home / "stored").write_text(" ".join(rest) + "\n" + sys.stdin.read())
'''

MEDIA = DrillDisk("media", "disk=media", "/data/disks/media")
MAIN = DrillDatabase("main", "postgres", "database=main", "/main.pgdump")
CACHE = DrillDatabase("cache", "redis", "database=cache", "/cache.rdb")


@pytest.fixture
def repository(tmp_path):
    home = tmp_path / "restic"
    (home / "files").mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "restic").write_text(f"#!{sys.executable}\n{RESTIC}")
    (bin_dir / "restic").chmod(0o755)
    snapshots: list[dict] = []

    def add(snapshot_id: str, time: str, tag: str, files: dict[str, bytes]) -> None:
        snapshots.append({"id": snapshot_id * 8, "time": time, "tags": ["flashdrive", tag]})
        for path, content in files.items():
            target = home / "files" / (snapshot_id * 8) / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        (home / "snapshots.json").write_text(json.dumps(snapshots))

    def run(script: str, **env: str) -> subprocess.CompletedProcess:
        (tmp_path / "drill.sh").write_text(script)
        return subprocess.run(["sh", str(tmp_path / "drill.sh")], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_RESTIC": str(home),
                                   **env})

    add.home = home  # type: ignore[attr-defined]
    add.run = run  # type: ignore[attr-defined]
    return add


def test_a_sound_repository_passes_every_disk_and_leaves_each_dump_for_its_server(repository, tmp_path):
    repository("a1b2c3d4", "2026-11-20T03:00:01Z", "disk=media",
               {"/data/disks/media/old.txt": b"old"})
    repository("e5f6a7b8", "2026-11-27T03:00:01Z", "disk=media",
               {"/data/disks/media/a.txt": b"x" * 1000, "/data/disks/media/sub dir/with space.txt": b"hello"})
    repository("c9d0e1f2", "2026-11-27T03:00:05Z", "database=main", {"/main.pgdump": b"PGDMP" + b"\0" * 100})
    out = tmp_path / "out"
    out.mkdir()
    result = repository.run(drill_script("shop", [MEDIA], [MAIN]), DRILL_OUT=str(out))
    assert result.returncode == 0, result.stderr
    items = {i.item: i for i in parse_report(result.stdout)}
    assert list(items) == ["repository", "disk:media", "database:main"]
    disk = items["disk:media"]
    # The newest snapshot, both files (one in a folder with a space) checked, their bytes counted.
    assert disk.ok and disk.snapshot == "e5f6a7b8" * 8 and disk.time == "2026-11-27T03:00:01Z"
    assert disk.size == 1005 and "restored 2 files" in disk.checked
    assert items["database:main"].status == "dumped" and items["database:main"].size == 105
    assert (out / "main.pgdump").read_bytes().startswith(b"PGDMP")
    assert not (repository.home / "stored").exists(), "verify stores the report itself, with its servers' results"


def test_a_damaged_pack_fails_the_repository_and_the_item_whose_files_it_held(repository):
    repository("e5f6a7b8", "2026-11-27T03:00:01Z", "disk=media", {"/data/disks/media/big": b"x" * 10})
    (repository.home / "broken").touch()
    (repository.home / "unreadable").mkdir()
    (repository.home / "unreadable" / ("e5f6a7b8" * 8)).touch()
    result = repository.run(drill_script("shop", [MEDIA], []))
    assert result.returncode == 1
    items = {i.item: i for i in parse_report(result.stdout)}
    assert not items["repository"].ok and "Pack ID does not match" in items["repository"].reason
    assert not items["disk:media"].ok and "ciphertext verification failed" in items["disk:media"].reason
    assert "FAILED: repository disk:media" in result.stderr
    # The scheduled drill stores its report where `backup list` reads it, tagged with the outcome.
    stored = (repository.home / "stored").read_text()
    assert "--tag drill=failed" in stored and "--tag flashdrive" not in stored
    assert [i.item for i in parse_report(stored)] == ["repository", "disk:media"]


def test_a_file_the_snapshot_lists_but_the_restore_lacks_fails_the_disk_naming_it(repository):
    repository("e5f6a7b8", "2026-11-27T03:00:01Z", "disk=media",
               {"/data/disks/media/kept.txt": b"a", "/data/disks/media/lost.txt": b"b"})
    (repository.home / "lose").touch()
    result = repository.run(drill_script("shop", [MEDIA], []))
    assert result.returncode == 1
    disk = {i.item: i for i in parse_report(result.stdout)}["disk:media"]
    assert disk.reason == "/data/disks/media/lost.txt is missing from the restored files"


def test_an_item_without_a_snapshot_or_a_pinned_snapshot_that_is_gone_fails(repository):
    repository("e5f6a7b8", "2026-11-27T03:00:01Z", "disk=media", {"/data/disks/media/a": b"a"})
    result = repository.run(drill_script("shop", [MEDIA], [MAIN], {"disk:media": "0" * 64}))
    items = {i.item: i for i in parse_report(result.stdout)}
    assert result.returncode == 1
    assert "no snapshot of it" in items["disk:media"].reason and "no snapshot of it" in items["database:main"].reason


def test_an_empty_dump_or_a_missing_server_fails_the_database_naming_why(repository):
    repository("c9d0e1f2", "2026-11-27T03:00:05Z", "database=main", {"/main.pgdump": b""})
    repository("d1d2d3d4", "2026-11-27T03:00:06Z", "database=cache", {"/cache.rdb": b"REDIS0011"})
    result = repository.run(drill_script("shop", [], [MAIN, CACHE]),
                            PATH=f"{repository.home.parent / 'bin'}:/usr/bin:/bin")
    items = {i.item: i for i in parse_report(result.stdout)}
    assert items["database:main"].reason == "the dump is empty"
    assert items["database:cache"].reason.startswith("the backup image has no redis server (redis-server)")
    assert result.returncode == 1


def test_a_report_line_reads_back_as_it_was_written():
    from flashdrive.backup_drill import DrillItem

    item = DrillItem("database:main", "ok", "c9d0e1f2" * 8, "2026-11-27T03:00:05Z", 3098, "loaded, 2 tables",
                     "", {"public.visit": 42, "public.empty": 0})
    assert parse_report("progress line\n" + item.line() + "\n") == [item]
