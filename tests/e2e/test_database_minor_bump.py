"""A database container replaced on a real engine, as a minor version bump replaces it: the old
server stops cleanly (its image's stop signal, then DATABASE_STOP_GRACE_S) before the new one
starts on the same volume, and the new one finds the data and a clean shutdown record.

Debian ships one PostgreSQL minor per release, so the bump is simulated: an image built on the
stand-in postgres:15 that differs only by a label, as `postgres:15.7` → `postgres:15.8` differ by
their id to the engine. The spec's `images.postgres` points at it (deploy_stack's `images`)."""

from __future__ import annotations

import time

import pytest
from deploy import deploy_stack, destroy_stack
from harness import container_events, running_together, temp_folder
from provider import docker

pytestmark = pytest.mark.e2e

STACK = "zdt-pgbump-e2e"
BUMPED = "flashdrive-e2e/postgres:15-zdt-minor-bump"
SERVER = f"{STACK}-main"


def psql(query: str) -> str:
    return docker("exec", SERVER, "sh", "-c", f'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -Atc "{query}"').stdout.strip()


@pytest.fixture(scope="module")
def bumped(stand_in_images):
    folder = temp_folder()
    spec = folder / "flashdrive.yaml"
    spec.write_text(f"version: 1\nstack: {STACK}\ndatabases:\n  main: {{engine: postgres}}\nbackups: {{enabled: false}}\n")
    docker("build", "--tag", BUMPED, "-", input=f"FROM {stand_in_images['postgres']}\n"
                                               "LABEL org.opencontainers.image.version=15.99\n")
    destroy_stack(stack=STACK)
    try:
        deploy_stack(spec, images=stand_in_images)
        psql("CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders VALUES (1, 'kept')")
        old = docker("inspect", "--format", "{{.Id}}", SERVER).stdout.strip()
        since = time.time()
        deployed = deploy_stack(spec, images={**stand_in_images, "postgres": BUMPED})
        yield {"old": old, "since": since, "until": time.time(), "deployed": deployed}
    finally:
        destroy_stack(stack=STACK)
        docker("image", "rm", BUMPED, check=False)


def test_the_bump_replaces_the_server_container(bumped):
    new = docker("inspect", "--format", "{{.Id}} {{.Image}}", SERVER).stdout.split()
    assert new[0] != bumped["old"]
    assert new[1] == docker("image", "inspect", "--format", "{{.Id}}", BUMPED).stdout.strip()
    assert any(op == "replace" and urn.endswith(f"::{SERVER}") for op, urn in bumped["deployed"].steps)


def test_the_data_survives_the_bump(bumped):
    assert psql("SELECT item FROM orders WHERE id = 1") == "kept"


def test_the_old_server_shut_down_cleanly(bumped):
    # The new server's first words on the volume say how the old one left it.
    logs = docker("logs", SERVER)
    log = logs.stdout + logs.stderr
    assert "database system was shut down at" in log, log[-2000:]
    assert "database system was not properly shut down" not in log, log[-2000:]
    assert "was interrupted" not in log, log[-2000:]


def test_the_old_and_new_server_never_ran_on_the_volume_together(bumped):
    events = container_events(STACK, bumped["since"], bumped["until"])
    assert [e["action"] for e in events if e["name"] == SERVER] == ["die", "start"], events
    assert running_together(events, SERVER) == []
