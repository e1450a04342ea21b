"""Each local stand-in image keeps the contract the stack relies on, on the real engine.

Databases run exactly as flashdrive runs them: every capability dropped but the five their
entrypoints need, no-new-privileges, an init, a fresh named volume; clients connect from another
container over a user-defined network, by alias, with a password.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest

pytestmark = pytest.mark.e2e

# The same constraints as flashdrive.docker.hardening gives database containers.
DATA_HARDENING = ["--cap-drop", "ALL", *(a for cap in ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]
                                         for a in ("--cap-add", cap)),
                  "--security-opt", "no-new-privileges:true", "--init"]
EDGE_HARDENING = ["--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", "--security-opt", "no-new-privileges:true",
                  "--init"]
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


class Sandbox:
    """Names made unique per test, and everything created removed afterwards."""

    def __init__(self):
        self.suffix = uuid.uuid4().hex[:8]
        self.containers: list[str] = []
        self.networks: list[str] = []
        self.volumes: list[str] = []

    def name(self, base: str) -> str:
        return f"fd-e2e-{base}-{self.suffix}"

    def network(self) -> str:
        name = self.name("net")
        docker("network", "create", name)
        self.networks.append(name)
        return name

    def volume(self, base: str) -> str:
        name = self.name(base)
        docker("volume", "create", name)
        self.volumes.append(name)
        return name

    def run(self, base: str, *args: str) -> str:
        """A detached container; its name is returned."""
        name = self.name(base)
        self.containers.append(name)
        docker("run", "-d", "--name", name, *args)
        return name

    def create(self, base: str, *args: str) -> str:
        name = self.name(base)
        self.containers.append(name)
        docker("create", "--name", name, *args)
        return name

    def logs(self, name: str) -> str:
        result = docker("logs", name, check=False)
        return result.stdout + result.stderr

    def wait_until(self, name: str, probe: list[str], what: str, timeout: float = 90) -> None:
        """Runs `docker exec name probe...` until it succeeds; fails with the container's logs."""
        deadline = time.monotonic() + timeout
        while True:
            result = docker("exec", name, *probe, check=False)
            if result.returncode == 0:
                return
            state = docker("inspect", "--format", "{{.State.Status}}", name, check=False).stdout.strip()
            if state != "running" or time.monotonic() > deadline:
                pytest.fail(f"{name} never became {what} (state {state!r}); last probe {probe}: "
                            f"{result.stdout}{result.stderr}\nlogs:\n{self.logs(name)}")
            time.sleep(1)

    def cleanup(self) -> None:
        for name in self.containers:
            docker("rm", "-f", "-v", name, check=False)
        for name in self.networks:
            docker("network", "rm", name, check=False)
        for name in self.volumes:
            docker("volume", "rm", "-f", name, check=False)


@pytest.fixture
def sandbox(docker_engine):
    box = Sandbox()
    yield box
    box.cleanup()


def process_users(name: str) -> set[str]:
    """The uids of a container's processes, as the host sees them (no ps inside the images)."""
    top = docker("top", name, "-o", "pid,uid,comm").stdout.splitlines()[1:]  # the daemon needs the pid column
    return {line.split()[1] for line in top if line.strip()}


def test_postgres_initialises_once_and_accepts_password_logins(e2e_images, sandbox):
    image = e2e_images["postgres"]
    net = sandbox.network()
    env = ["-e", "POSTGRES_USER=shop", "-e", "POSTGRES_PASSWORD=pg-s3cret", "-e", "POSTGRES_DB=shopdb"]
    db = sandbox.run("pg", "--network", net, "--network-alias", "main", *env, *DATA_HARDENING,
                     "-v", f"{sandbox.volume('pgdata')}:/var/lib/postgresql/data", image)
    # The stack's health check, verbatim.
    ready = ["sh", "-c", 'pg_isready -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"']
    sandbox.wait_until(db, ready, "ready")

    def psql(password: str, sql: str) -> subprocess.CompletedProcess:
        return docker("run", "--rm", "--network", net, "-e", f"PGPASSWORD={password}", "--entrypoint", "psql", image,
                      "-h", "main", "-U", "shop", "-d", "shopdb", "-tAc", sql, check=False)

    good = psql("pg-s3cret", "select current_user || ' ' || current_database()")
    assert good.returncode == 0 and good.stdout.strip() == "shop shopdb", good.stderr
    bad = psql("wrong", "select 1")
    assert bad.returncode != 0 and "password authentication failed" in bad.stderr

    postgres_uid = docker("exec", db, "id", "-u", "postgres").stdout.strip()
    assert process_users(db) - {"0"} == {postgres_uid}, "only docker-init may run as root; the server runs as postgres"
    assert "PostgreSQL database dump complete" in docker("exec", db, "pg_dump", "-U", "shop", "shopdb").stdout

    # Data survives a restart, and initdb does not run again.
    docker("exec", db, "psql", "-U", "shop", "-d", "shopdb", "-c", "create table kept (id int)")
    docker("restart", db)
    sandbox.wait_until(db, ready, "ready again")
    assert "kept" in docker("exec", db, "psql", "-U", "shop", "-d", "shopdb", "-tAc", r"\dt").stdout
    assert sandbox.logs(db).count("PostgreSQL init process complete") == 1


def test_mariadb_honours_the_mysql_contract(e2e_images, sandbox):
    image = e2e_images["mysql"]
    net = sandbox.network()
    env = ["-e", "MYSQL_ROOT_PASSWORD=root-s3cret", "-e", "MYSQL_USER=shop", "-e", "MYSQL_PASSWORD=my-s3cret",
           "-e", "MYSQL_DATABASE=shopdb"]
    db = sandbox.run("my", "--network", net, "--network-alias", "main", *env, *DATA_HARDENING,
                     "-v", f"{sandbox.volume('mydata')}:/var/lib/mysql", image)
    # The stack's health check, then a real query (mysqladmin ping succeeds even when access is denied).
    sandbox.wait_until(db, ["sh", "-c", 'mysqladmin ping -h 127.0.0.1 -u root --password="$MYSQL_ROOT_PASSWORD" --silent'],
                       "ready")
    sandbox.wait_until(db, ["sh", "-c", 'mysql -h 127.0.0.1 -u root --password="$MYSQL_ROOT_PASSWORD" -e "select 1"'],
                       "accepting root logins")

    client = ["run", "--rm", "--network", net, image, "mariadb", "-h", "main", "-u", "shop"]
    good = docker(*client, "--password=my-s3cret", "shopdb", "-N", "-e", "select database()")
    assert good.stdout.strip() == "shopdb"
    bad = docker(*client, "--password=wrong", "shopdb", "-e", "select 1", check=False)
    assert bad.returncode != 0 and "Access denied" in bad.stderr

    mysql_uid = docker("exec", db, "id", "-u", "mysql").stdout.strip()
    assert process_users(db) - {"0"} == {mysql_uid}
    dump = docker("exec", db, "sh", "-c", 'mysqldump -u root --password="$MYSQL_ROOT_PASSWORD" shopdb')
    assert "Dump completed" in dump.stdout


def test_redis_requires_its_password(e2e_images, sandbox):
    image = e2e_images["redis"]
    net = sandbox.network()
    # The stack's command and environment, verbatim.
    cache = sandbox.run("redis", "--network", net, "--network-alias", "cache", "-e", "REDIS_PASSWORD=rd-s3cret",
                        "-e", "REDISCLI_AUTH=rd-s3cret", *DATA_HARDENING, "-v", f"{sandbox.volume('redisdata')}:/data",
                        image, "sh", "-c", 'exec redis-server --requirepass "$REDIS_PASSWORD" --appendonly yes --dir /data')
    sandbox.wait_until(cache, ["sh", "-c", "redis-cli ping | grep -q PONG"], "ready")

    client = ["run", "--rm", "--network", net, "--entrypoint", "redis-cli", image, "-h", "cache"]
    anonymous = docker(*client, "set", "k", "v", check=False)
    assert "NOAUTH" in anonymous.stdout + anonymous.stderr
    assert docker(*client, "--no-auth-warning", "-a", "rd-s3cret", "set", "k", "v").stdout.strip() == "OK"
    assert docker(*client, "--no-auth-warning", "-a", "rd-s3cret", "get", "k").stdout.strip() == "v"

    redis_uid = docker("exec", cache, "id", "-u", "redis").stdout.strip()
    assert process_users(cache) - {"0"} == {redis_uid}
    # appendonly wrote to the volume, as the redis user.
    listing = docker("exec", cache, "ls", "-ln", "/data").stdout
    assert "appendonlydir" in listing and f" {redis_uid} " in listing


def test_caddy_validates_and_serves_as_root_with_only_net_bind_service(e2e_images, sandbox, tmp_path):
    image = e2e_images["caddy"]
    net = sandbox.network()
    (tmp_path / "Caddyfile").write_text(':80 {\n\trespond "hello from the edge"\n}\n')
    # The stack's command and environment; it uploads the Caddyfile into the created container
    # before starting it, so /etc/caddy must exist in the image.
    edge = sandbox.create("edge", "--network", net, "--network-alias", "edge", "-e", "XDG_DATA_HOME=/data",
                          "-e", "XDG_CONFIG_HOME=/config", *EDGE_HARDENING, "-v", f"{sandbox.volume('edgedata')}:/data",
                          image, "caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile")
    docker("cp", str(tmp_path / "Caddyfile"), f"{edge}:/etc/caddy/Caddyfile")
    docker("start", edge)
    sandbox.wait_until(edge, ["caddy", "validate", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"],
                       "valid", timeout=30)

    # Port 80 is bound with NET_BIND_SERVICE alone, under no-new-privileges.
    fetch = ["run", "--rm", "--network", net, e2e_images["python"], "python", "-c",
             "import urllib.request; print(urllib.request.urlopen('http://edge/', timeout=5).read().decode())"]
    deadline = time.monotonic() + 30
    while (result := docker(*fetch, check=False)).returncode != 0 and time.monotonic() < deadline:
        time.sleep(1)
    assert result.stdout.strip() == "hello from the edge", f"{result.stderr}\ncaddy logs:\n{sandbox.logs(edge)}"


def test_restic_backs_up_to_an_append_only_rclone_server(e2e_images, sandbox):
    image = e2e_images["restic"]
    # A local repository, as the simplest backup target.
    local = docker("run", "--rm", "-e", "RESTIC_PASSWORD=rs-s3cret", image, "-r", "/tmp/repo", "init")
    assert "created restic repository" in local.stdout

    # rclone's restic server in append-only mode: backups land, deleting snapshots is refused.
    net = sandbox.network()
    server = sandbox.run("rest", "--network", net, "--network-alias", "rest", "--entrypoint", "rclone",
                         "-v", f"{sandbox.volume('backups')}:/backups", image,
                         "serve", "restic", "--append-only", "--addr", ":8000", "/backups")
    client = ["run", "--rm", "--network", net, "-e", "RESTIC_PASSWORD=rs-s3cret", "-e", "RESTIC_REPOSITORY=rest:http://rest:8000/shop",
              image]
    deadline = time.monotonic() + 30
    while (init := docker(*client, "init", check=False)).returncode != 0 and time.monotonic() < deadline:
        time.sleep(1)
    assert init.returncode == 0, f"{init.stderr}\nrclone logs:\n{sandbox.logs(server)}"
    docker(*client, "backup", "/etc/debian_version")
    snapshots = json.loads(docker(*client, "snapshots", "--json").stdout)
    assert [snap["paths"] for snap in snapshots] == [["/etc/debian_version"]]
    # A DELETE straight to the server: `restic forget` would only retry the 403 for a minute.
    delete = docker("run", "--rm", "--network", net, e2e_images["python"], "python", "-c",
                    "import urllib.request, urllib.error\n"
                    f"request = urllib.request.Request('http://rest:8000/shop/snapshots/{snapshots[0]['id']}', method='DELETE')\n"
                    "try: print(urllib.request.urlopen(request, timeout=5).status)\n"
                    "except urllib.error.HTTPError as error: print(error.code)")
    assert delete.stdout.strip() == "403", f"an append-only server answered a DELETE with {delete.stdout}"
    assert len(json.loads(docker(*client, "snapshots", "--json").stdout)) == 1

    tools = docker("run", "--rm", "--entrypoint", "sh", image, "-c",
                   "pg_dump --version && mysqldump --version && redis-cli --version && rclone version")
    assert "pg_dump (PostgreSQL)" in tools.stdout and "rclone" in tools.stdout


def test_the_backup_image_carries_the_drill_s_servers_at_the_stand_ins_versions(e2e_images):
    """The scheduled restore drill loads dumps into servers inside the backup image: the versions of
    the database stand-ins, and setpriv to run them as nobody."""
    version = ("postgres --version | awk '{print $3}' | cut -d. -f1; "
               "$(command -v mariadbd || command -v mysqld) --version | sed -n 's/.* Ver \\([0-9.]*\\).*/\\1/p'; "
               "redis-server --version | sed -n 's/.* v=\\([0-9.]*\\).*/\\1/p'")
    in_backup = docker("run", "--rm", "--entrypoint", "sh", e2e_images["restic"], "-c",
                       f"command -v setpriv >/dev/null && {version}").stdout.split()
    servers = [docker("run", "--rm", "--entrypoint", "sh", e2e_images[key], "-c", version + " 2>/dev/null; true").stdout
               for key in ("postgres", "mysql", "redis")]
    assert in_backup == [servers[0].split()[0], servers[1].split()[0], servers[2].split()[0]], (in_backup, servers)


def test_python_installs_packages_system_wide_and_makes_venvs(e2e_images, sandbox):
    image = e2e_images["python"]
    basics = docker("run", "--rm", image, "sh", "-c",
                    "python --version && pip --version && python -m venv /tmp/v && /tmp/v/bin/pip --version"
                    " && python -c 'import sys; print(sys.prefix)'")
    assert "Python 3.11" in basics.stdout and sum(line.startswith("pip ") for line in basics.stdout.splitlines()) == 2
    assert basics.stdout.strip().endswith("/usr/local"), "sys.prefix is /usr/local, like python:3.11-slim"

    # What the generated Dockerfile does: a non-root user, then `pip install` as root from PyPI
    # (trusting the host's CA bundle, as build.ca_bundle arranges), imported by that user.
    script = (
        "groupadd --gid 10001 app && useradd --uid 10001 --gid 10001 --no-log-init --create-home app"
        " && pip install --no-cache-dir six==1.16.0"
        " && setpriv --reuid=10001 --regid=10001 --clear-groups python -c 'import six; print(six.__file__)'"
    )
    result = docker("run", "--rm", "-v", f"{HOST_CA}:/etc/flashdrive/ca-bundle.pem:ro",
                    "-e", "PIP_CERT=/etc/flashdrive/ca-bundle.pem", image, "sh", "-c", script, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("/usr/local/lib/python3.11/site-packages/six.py")
