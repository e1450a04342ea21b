"""Database passwords on a real engine, off every command line: Redis reads its password from its
standard input (configuration from `-`) and requires it; MySQL's health check passes with the
password in MYSQL_PWD. What each script hands its tools is checked offline in
tests/kubernetes/test_kubernetes_cluster_behaviour.py."""

from __future__ import annotations

import pytest
from deploy import deploy_stack, destroy_stack
from harness import temp_folder
from provider import docker

pytestmark = pytest.mark.e2e

STACK = "k8s-lane-credentials-e2e"


@pytest.fixture(scope="module")
def databases(stand_in_images):
    folder = temp_folder()
    spec = folder / "flashdrive.yaml"
    spec.write_text(f"version: 1\nstack: {STACK}\ndatabases:\n  cache: {{engine: redis}}\n  orders: {{engine: mysql}}\n"
                    "backups: {enabled: false}\n")
    destroy_stack(stack=STACK)
    try:
        deploy_stack(spec, images=stand_in_images)
        yield STACK
    finally:
        destroy_stack(stack=STACK)


def test_the_redis_password_is_on_no_command_line_and_the_server_requires_it(databases):
    redis = f"{databases}-cache"
    # Every process's command line, read by a process that does not know the password.
    listed = docker("exec", redis, "sh", "-c",
                    'for p in /proc/[0-9]*; do tr "\\0" " " < "$p/cmdline"; echo; done').stdout
    password = docker("exec", redis, "printenv", "REDIS_PASSWORD").stdout.strip()
    assert len(password) >= 32
    assert "redis-server" in listed
    assert password not in listed
    refused = docker("exec", redis, "env", "-u", "REDISCLI_AUTH", "redis-cli", "ping", check=False)
    refused = refused.stdout + refused.stderr
    assert "NOAUTH" in refused
    assert docker("exec", redis, "redis-cli", "ping").stdout.strip() == "PONG"  # REDISCLI_AUTH, as the probe


def test_mysql_is_healthy_with_its_password_in_the_environment_only(databases):
    mysql = f"{databases}-orders"
    assert docker("inspect", "--format", "{{.State.Health.Status}}", mysql).stdout.strip() == "healthy"
    last = docker("inspect", "--format", "{{json .State.Health.Log}}", mysql).stdout
    assert '"ExitCode":0' in last.replace(" ", "")
