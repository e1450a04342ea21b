"""Postgres and MySQL get the stack CA's certificates; Redis and MongoDB are left as they were."""

from __future__ import annotations

import json

from flashdrive.database_tls import server_options
from flashdrive.plan import PlanMocks, capture
from flashdrive.plan.planner import plan_spec

CONTAINER = "docker:index/container:Container"
SPEC = """\
version: 1
stack: shop
apps:
  web:
    image: ghcr.io/acme/web:1.4
    env: {DATABASE_URL: "${databases.main.url}"}
databases:
  main: {engine: postgres}
  orders: {engine: mysql}
  cache: {engine: redis}
  docs: {engine: mongodb}
"""
FAKE_KEY = "-----BEGIN EC PRIVATE KEY-----\nnot-a-real-key-but-must-never-show\n-----END EC PRIVATE KEY-----\n"


class _KeyMocks(PlanMocks):
    """Plan answers, with a recognisable private key for every generated key."""

    def new_resource(self, args):
        resource_id, state = super().new_resource(args)
        if args.typ == "tls:index/privateKey:PrivateKey":
            state = {**state, "privateKeyPem": FAKE_KEY}
        return resource_id, state


def _plan(path, mocks=None):
    if mocks is None:
        return plan_spec(path)
    from flashdrive.pipeline import run_pipeline
    return run_pipeline(path, build_in=lambda checked, program: capture(
        program, mocks=mocks, config={"flashdrive:masterKey": "test-master-key"},
        secret_config_keys=["flashdrive:masterKey"]))


def test_one_stack_ca_signs_a_certificate_for_postgres_and_for_mysql_only(write_spec):
    plan = _plan(write_spec())
    assert [r.name for r in plan.by_type("tls:index/selfSignedCert:SelfSignedCert")] == ["shop-ca"]
    signed = {r.name: r.inputs for r in plan.by_type("tls:index/locallySignedCert:LocallySignedCert")}
    assert set(signed) == {"shop-main-tls", "shop-orders-tls"}
    assert signed["shop-main-tls"]["allowedUses"] == ["digital_signature", "key_encipherment", "server_auth"]
    requests = {r.name: r.inputs for r in plan.by_type("tls:index/certRequest:CertRequest")}
    # valid for the name apps use on either backend (alias / Service) and for clients in the container
    assert requests["shop-main-tls-request"]["dnsNames"] == ["main", "shop-main", "localhost"]


def test_postgres_and_mysql_start_with_tls_on_and_plain_still_allowed(write_spec):
    containers = {r.name: r.inputs for r in _plan(write_spec()).by_type(CONTAINER)}
    postgres = containers["shop-main"]["command"]
    assert postgres[:2] == ["sh", "-c"]
    assert postgres[2].startswith("chown postgres:postgres /etc/flashdrive/tls/server.key && chmod 600 ")
    assert postgres[2].endswith("exec docker-entrypoint.sh " + " ".join(server_options("postgres")))
    assert "ssl=on" in postgres[2] and "hostssl" not in postgres[2]  # TLS offered, not required
    mysql = containers["shop-orders"]["command"][2]
    assert mysql.startswith("chown mysql:mysql ") and "--ssl-cert=/etc/flashdrive/tls/server.crt" in mysql
    assert "require_secure_transport" not in mysql
    for name in ("shop-main", "shop-orders"):
        assert [u["file"] for u in containers[name]["uploads"]] == [
            "/etc/flashdrive/tls/ca.crt", "/etc/flashdrive/tls/server.crt", "/etc/flashdrive/tls/server.key"]
    assert "uploads" not in containers["shop-cache"] or not containers["shop-cache"]["uploads"]
    assert "tls" not in json.dumps(containers["shop-docs"])


def test_the_private_key_never_shows_in_the_plan(write_spec):
    plan = _plan(write_spec(), _KeyMocks())
    text = plan.to_json()
    assert "not-a-real-key" not in text
    key_uploads = [u for r in plan.by_type(CONTAINER) for u in r.inputs.get("uploads") or []
                   if u["file"].endswith("server.key")]
    assert len(key_uploads) == 2 and all(u["content"] == "[secret]" for u in key_uploads)
