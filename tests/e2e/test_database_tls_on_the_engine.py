"""Postgres and MySQL speak TLS with the stack CA's certificates, on the real engine.

The program runs with mocks that create the pulumi-tls resources for real (tls_double.py) and
record every container's inputs unmasked; the database containers then run on the engine exactly
as registered (command, env, uploaded files, capabilities), and clients on the stack's network
connect the ways apps do: `sslmode=require` (django-heroku, `ssl_require=True`), `verify-full`
against the exported CA, plain; MySQL with `--ssl` and with the CA checked.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "benchmarks"))

from tls_double import TYPES, create_tls  # noqa: E402

from flashdrive.plan import PlanMocks, capture  # noqa: E402


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


class _RealTLS(PlanMocks):
    """Plan answers, except that TLS keys and certificates are real; container inputs are kept."""

    def __init__(self):
        super().__init__()
        self.containers: dict[str, dict] = {}
        self.ca_pem = ""

    def new_resource(self, args):
        from raw_docker import _unwrap  # the benchmark's unmasking of secret inputs

        inputs = _unwrap(dict(args.inputs))
        if args.typ in TYPES:
            resource_id, state = create_tls(args.typ, inputs)
            if args.typ == "tls:index/selfSignedCert:SelfSignedCert":
                self.ca_pem = state["certPem"]
        else:
            resource_id, state = super().new_resource(args)
        if args.typ == "docker:index/container:Container":
            self.containers[inputs["name"]] = inputs
        return resource_id, state


def _upload(container: str, uploads: list[dict]) -> None:
    """What the provider's uploads do: one tar archive extracted at / before the container starts."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for upload in uploads:
            data = upload["content"].encode()
            info = tarfile.TarInfo(upload["file"].lstrip("/"))
            info.size, info.mode = len(data), 0o755 if upload.get("executable") else 0o644
            tar.addfile(info, io.BytesIO(data))
    result = subprocess.run(["docker", "cp", "-", f"{container}:/"], input=archive.getvalue(), capture_output=True)
    assert result.returncode == 0, result.stderr.decode()


@pytest.fixture(scope="module")
def databases(tmp_path_factory, stand_in_images):
    """The stack's two databases run as the program registered them, on a network of their own."""
    from flashdrive.pipeline import run_pipeline

    stack = f"realapps-tls-{uuid.uuid4().hex[:6]}"
    folder = tmp_path_factory.mktemp("tls")
    images = "\n".join(f"  {key}: {tag}" for key, tag in stand_in_images.items())
    (folder / "flashdrive.yaml").write_text(textwrap.dedent(f"""\
        version: 1
        stack: {stack}
        apps:
          web: {{image: {stand_in_images['python']}, port: 8000}}
        databases:
          pg: {{engine: postgres}}
          my: {{engine: mysql}}
        backups: {{enabled: false}}
        images:
        """) + images + "\n")
    mocks = _RealTLS()
    # The stack's master key, as `flashdrive up` sets it on a first run (passwords derive from it).
    config = {"flashdrive:masterKey": uuid.uuid4().hex * 2}
    run_pipeline(folder / "flashdrive.yaml", build_in=lambda checked, program: capture(
        program, config=config, secret_config_keys=list(config), mocks=mocks))
    network = f"{stack}-net"
    docker("network", "create", network)
    created: list[str] = []
    try:
        for alias, engine in (("pg", "postgres"), ("my", "mysql")):
            inputs = mocks.containers[f"{stack}-{alias}"]
            args = ["create", "--name", inputs["name"], "--network", network, "--network-alias", alias,
                    "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true", "--init"]
            args += [a for cap in inputs["capabilities"]["adds"] for a in ("--cap-add", cap)]
            args += [a for env in inputs["envs"] for a in ("-e", env)]
            docker(*args, stand_in_images[engine], *inputs["command"])
            created.append(inputs["name"])
            _upload(inputs["name"], inputs["uploads"])
            docker("start", inputs["name"])
        yield {"network": network, "ca": mocks.ca_pem, "containers": mocks.containers, "stack": stack,
               "images": stand_in_images}
    finally:
        for name in created:
            docker("rm", "-f", "-v", name, check=False)
        docker("network", "rm", network, check=False)


def _client(databases, image: str, script: str, env: dict[str, str], timeout: float = 90) -> str:
    """Runs `script` in a client container on the databases' network until it succeeds (the server
    may still be initialising); returns its output."""
    args = ["run", "--rm", "--network", databases["network"], "-e", f"CA_PEM={databases['ca']}"]
    args += [a for k, v in env.items() for a in ("-e", f"{k}={v}")]
    deadline = time.monotonic() + timeout
    while True:
        result = docker(*args, "--entrypoint", "sh", image, "-c",
                        'printf "%s" "$CA_PEM" > /tmp/ca.pem && ' + script, check=False)
        if result.returncode == 0 or time.monotonic() > deadline:
            return result.stdout + result.stderr
        time.sleep(2)


def _password(databases, alias: str, variable: str) -> str:
    envs = databases["containers"][f"{databases['stack']}-{alias}"]["envs"]
    return next(e.split("=", 1)[1] for e in envs if e.startswith(variable + "="))


def test_postgres_accepts_sslmode_require_verify_full_and_plain(databases):
    env = {"PGPASSWORD": _password(databases, "pg", "POSTGRES_PASSWORD"), "PGUSER": "pg", "PGDATABASE": "pg"}
    query = "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
    image = databases["images"]["postgres"]
    required = _client(databases, image, f'psql "host=pg sslmode=require" -Atc "{query}"', env)
    assert required.strip().startswith("t|TLSv1."), required
    # the chain and the name check out against the stack CA the program exports
    verified = _client(databases, image, f'psql "host=pg sslmode=verify-full sslrootcert=/tmp/ca.pem" -Atc "{query}"', env)
    assert verified.strip().startswith("t|TLSv1."), verified
    plain = _client(databases, image, f'psql "host=pg sslmode=disable" -Atc "{query}"', env)
    assert plain.strip() == "f|", plain


def test_mysql_accepts_tls_with_the_ca_checked_and_plain(databases):
    env = {"MYSQL_PWD": _password(databases, "my", "MYSQL_PASSWORD")}
    image = databases["images"]["mysql"]
    cipher = "SHOW SESSION STATUS LIKE 'Ssl_cipher'"
    verified = _client(databases, image, f'mariadb -h my -u my --ssl --ssl-ca=/tmp/ca.pem --ssl-verify-server-cert '
                                         f'-N -e "{cipher}" my', env)
    assert verified.split()[0] == "Ssl_cipher" and len(verified.split()) == 2, verified
    plain = _client(databases, image, f'mariadb -h my -u my --skip-ssl -N -e "{cipher}" my', env)
    assert plain.split() == ["Ssl_cipher"], plain

