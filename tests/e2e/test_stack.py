"""The example stack, deployed on a real Docker engine and used as its users would."""

from __future__ import annotations

import json
import time

import pytest
from harness import edge_root_ca, http_plain, https, retry
from deploy import pulumi_destroy
from provider import docker

pytestmark = pytest.mark.e2e

SIZES_MEMORY = {"web": 512, "worker": 256}
SIZES_NANOCPUS = {"web": 500_000_000, "worker": 250_000_000}


def default_host(shop) -> str:
    return f"web.{shop.stack}.localhost"


def get_json(shop, path: str, *, host: str | None = None, ca: str | None = None, method: str = "GET",
             body: dict | bytes | None = None, expect: int = 200) -> dict:
    host = host or default_host(shop)
    ca = ca or shop.extra.setdefault("internal_ca", edge_root_ca(shop))
    data = json.dumps(body).encode() if isinstance(body, dict) else body

    def call():
        status, _, raw = https(host, path, ca_pem=ca, method=method, body=data, address=shop.address)
        assert status == expect, f"{method} https://{host}{path} answered {status}: {raw[:500]!r}"
        return json.loads(raw)
    return retry(call, seconds=90)


def test_https_on_the_default_domain_reads_from_postgres(shop):
    first = get_json(shop, "/")
    second = get_json(shop, "/")
    assert first["db_vendor"] == "postgresql"
    assert second["visits"] > first["visits"] >= 1  # rows exist: the release migration ran
    assert first["stack"] == shop.stack and first["app"] == "web"


def test_the_custom_domain_serves_its_own_certificate(shop):
    page = get_json(shop, "/", host="shop.example.com", ca=shop.extra["custom_domain_ca"])
    assert page["app"] == "web"


def test_plain_http_redirects_to_https(shop):
    def redirected():
        status, headers = http_plain(default_host(shop), "/some/path", address=shop.address)
        assert status in (301, 308), status
        assert headers["Location"] == f"https://{default_host(shop)}/some/path"
    retry(redirected, seconds=60)


def test_requests_reach_both_copies(shop):
    nodes = {get_json(shop, "/")["node"] for _ in range(40)}
    assert nodes == {"1", "2"}


def test_the_worker_consumes_a_job_sent_through_redis(shop):
    job = get_json(shop, "/jobs", method="POST", body={"payload": "flashdrive"}, expect=202)

    def done():
        current = get_json(shop, f"/jobs/{job['id']}")
        assert current["status"] == "done", current
        return current
    finished = retry(done, seconds=60)
    assert finished["result"] == "evirdhsalf"
    assert finished["handled_by"].startswith("worker")


def _write_through(shop, node: str, name: str, content: bytes) -> None:
    def write():
        answer = get_json(shop, f"/files/{name}", method="POST", body=content, expect=201)
        assert answer["node"] == node, "landed on the other copy; try again"
    retry(write, seconds=60, interval=0.1)


def _read_through(shop, node: str, name: str) -> dict:
    def read():
        answer = get_json(shop, f"/files/{name}")
        assert answer["node"] == node, "served by the other copy; try again"
        return answer
    return retry(read, seconds=60, interval=0.1)


def test_a_file_written_through_one_copy_is_read_through_the_other(shop):
    _write_through(shop, "1", "greeting.txt", b"hello from copy 1")
    assert _read_through(shop, "2", "greeting.txt")["content"] == "hello from copy 1"


def test_only_the_edge_publishes_ports_and_only_80_and_443(shop):
    published = {}
    for container in shop.stack_containers():
        bindings = container["HostConfig"].get("PortBindings") or {}
        if bindings:
            published[container["Name"].lstrip("/")] = sorted(bindings)
    assert published == {shop.container("edge"): ["443/tcp", "80/tcp"]}


def test_an_app_reaches_the_database_by_name_and_an_outsider_cannot(shop):
    probe = "import socket,sys; socket.create_connection((sys.argv[1], 5432), timeout=5); print('open')"
    inside = shop.exec("web-1", "python", "-c", probe, "main")
    assert inside.stdout.strip() == "open"
    main_ip = shop.inspect("main")["NetworkSettings"]["Networks"][f"{shop.stack}-internal"]["IPAddress"]
    image = shop.inspect("web-1")["Config"]["Image"]
    for target in ("main", main_ip):
        outside = docker("run", "--rm", "--network", "bridge", image, "python", "-c", probe, target, check=False)
        assert outside.returncode != 0, f"a container outside the stack reached {target}:5432"


def test_databases_have_no_way_out(shop):
    networks = shop.inspect("main")["NetworkSettings"]["Networks"]
    assert list(networks) == [f"{shop.stack}-internal"]
    internal = json.loads(docker("network", "inspect", f"{shop.stack}-internal").stdout)[0]
    assert internal["Internal"] is True


def test_every_container_is_hardened(shop):
    containers = shop.stack_containers()
    assert len(containers) >= 7
    for container in containers:
        name, host = container["Name"].lstrip("/"), container["HostConfig"]
        assert host["CapDrop"] == ["ALL"] or "ALL" in host["CapDrop"], name
        assert "no-new-privileges:true" in host["SecurityOpt"], name
        assert host["Privileged"] is False, name
        assert all("docker.sock" not in (m.get("Source") or "") for m in container["Mounts"]), name
        assert host["Memory"] > 0 and host["NanoCpus"] > 0, name
        assert host["LogConfig"]["Config"] == {"max-file": "3", "max-size": "10m"}, name
    for app, memory_mib in SIZES_MEMORY.items():
        host = shop.inspect(f"{app}-1")["HostConfig"]
        assert host["Memory"] == memory_mib * 1024 * 1024
        assert host["NanoCpus"] == SIZES_NANOCPUS[app]
        assert host["CapAdd"] in (None, [])
        assert shop.inspect(f"{app}-1")["Config"]["User"] == "10001:10001"


def test_a_file_on_the_disk_and_the_database_survive_destroy_then_up(shop):
    # The database password derives from the stack's master key (config, kept by destroy): the
    # new server finds the old data directory and the release logs in with the same password.
    _write_through(shop, "2", "kept.txt", b"still here")
    visits = get_json(shop, "/")["visits"]
    pulumi_destroy(shop.stack)
    assert not shop.stack_containers()
    shop.deploy()
    shop.extra.pop("internal_ca", None)  # the edge keeps its CA on its volume; read it again anyway
    assert get_json(shop, "/")["visits"] > visits, "the old rows are read with the same password"
    assert get_json(shop, "/files/kept.txt")["content"] == "still here"
    assert get_json(shop, "/files/greeting.txt")["content"] == "hello from copy 1"


def test_destroy_leaves_volumes_until_removed_explicitly(shop):
    pulumi_destroy(shop.stack)
    label = f"label=flashdrive.stack={shop.stack}"
    assert docker("ps", "--all", "--quiet", "--filter", label).stdout.split() == []
    assert docker("network", "ls", "--quiet", "--filter", label).stdout.split() == []
    volumes = set(docker("volume", "ls", "--quiet", "--filter", label).stdout.split())
    assert {f"{shop.stack}-disk-media", f"{shop.stack}-db-main", f"{shop.stack}-db-cache",
            f"{shop.stack}-edge-data"} <= volumes
