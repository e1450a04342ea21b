"""TLS inside a stack: one CA per stack, a server certificate per Postgres and MySQL database.

Apps connect as they do on Heroku: `sslmode=require` (django-heroku, `dj_database_url.config(
ssl_require=True)`) or MySQL's `ssl_mode=REQUIRED` encrypt without checking the chain; plain
connections keep working, because an app written for a plain URL must not break on deploy. The CA's
certificate is exported (`database_ca`), so a client that wants `verify-full` can pin it.

Keys and certificates are pulumi-tls resources: generated once, kept encrypted as secrets in the
stack's state, identical on every deploy (no restart), and the same on both backends. A server
certificate is valid for five years and renewed by the deploy that runs in its last 90 days
(`early_renewal_hours`), which restarts that database once.
"""

from __future__ import annotations

import pulumi
from msgspec import Struct

from flashdrive.engines import ENGINES
from flashdrive.model.stack import ResolvedDatabase

TLS_ENGINES = tuple(name for name, facts in ENGINES.items() if facts.tls_options)
TLS_DIR = "/etc/flashdrive/tls"  # inside the database container: ca.crt, server.crt, server.key
CA_FILE, CERT_FILE, KEY_FILE = (f"{TLS_DIR}/{name}" for name in ("ca.crt", "server.crt", "server.key"))

_HOURS_PER_YEAR = 24 * 365
CA_VALIDITY_HOURS = 20 * _HOURS_PER_YEAR  # a CA change would need every pinning client updated
SERVER_VALIDITY_HOURS = 5 * _HOURS_PER_YEAR
SERVER_EARLY_RENEWAL_HOURS = 90 * 24
# ECDSA P-256 keys: small, fast, accepted by libpq and libmysqlclient.
_KEY_ALGORITHM, _KEY_CURVE = "ECDSA", "P256"


def wants_tls(db: ResolvedDatabase) -> bool:
    return db.engine in TLS_ENGINES


def server_options(engine: str) -> list[str]:
    """The server's own options that turn TLS on with the files in TLS_DIR (plain stays allowed)."""
    options = ENGINES[engine].tls_options
    if not options:
        raise ValueError(f"no TLS for {engine}")
    return [option.format(ca=CA_FILE, cert=CERT_FILE, key=KEY_FILE) for option in options]


class StackCA(pulumi.ComponentResource):
    """flashdrive:tls:StackCA — the stack's own certificate authority, for its databases only."""

    def __init__(self, stack: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("flashdrive:tls:StackCA", f"{stack}-ca", None, opts)
        import pulumi_tls as tls  # only stacks with a TLS database pay for its import

        child = pulumi.ResourceOptions(parent=self)
        self.key = tls.PrivateKey(f"{stack}-ca-key", algorithm=_KEY_ALGORITHM, ecdsa_curve=_KEY_CURVE, opts=child)
        self.cert = tls.SelfSignedCert(
            f"{stack}-ca",
            private_key_pem=self.key.private_key_pem,
            is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(
                common_name=f"flashdrive {stack} internal CA", organization="flashdrive"
            ),
            validity_period_hours=CA_VALIDITY_HOURS,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            opts=child,
        )
        self.cert_pem: pulumi.Output[str] = self.cert.cert_pem
        self.register_outputs({"cert_pem": self.cert_pem})


class ServerTLS(Struct, frozen=True):
    """What a database container needs: its files' contents (the key is secret)."""

    ca_pem: pulumi.Output[str]
    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]


class ServerCertificate(pulumi.ComponentResource):
    """flashdrive:tls:ServerCertificate — a database's key and its certificate, signed by the stack CA.

    Valid for the names apps use: the database's name (its alias on Docker, its Service on
    Kubernetes) and localhost, for clients inside the container.
    """

    def __init__(self, stack: str, db: ResolvedDatabase, ca: StackCA, opts: pulumi.ResourceOptions | None = None):
        super().__init__("flashdrive:tls:ServerCertificate", f"{stack}-{db.name}-tls", None, opts)
        import pulumi_tls as tls

        child = pulumi.ResourceOptions(parent=self)
        key = tls.PrivateKey(f"{stack}-{db.name}-tls-key", algorithm=_KEY_ALGORITHM, ecdsa_curve=_KEY_CURVE, opts=child)
        request = tls.CertRequest(
            f"{stack}-{db.name}-tls-request",
            private_key_pem=key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(common_name=db.name, organization="flashdrive"),
            dns_names=[db.name, f"{stack}-{db.name}", "localhost"],
            ip_addresses=["127.0.0.1"],
            opts=child,
        )
        cert = tls.LocallySignedCert(
            f"{stack}-{db.name}-tls",
            cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=ca.key.private_key_pem,
            ca_cert_pem=ca.cert_pem,
            validity_period_hours=SERVER_VALIDITY_HOURS,
            early_renewal_hours=SERVER_EARLY_RENEWAL_HOURS,
            allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
            opts=child,
        )
        self.files = ServerTLS(
            ca_pem=ca.cert_pem, cert_pem=cert.cert_pem, key_pem=pulumi.Output.secret(key.private_key_pem)
        )
        self.register_outputs({"cert_pem": cert.cert_pem})


def database_tls(
    stack: str, databases, parent_opts: pulumi.ResourceOptions | None = None
) -> tuple[StackCA | None, dict[str, ServerTLS]]:
    """The stack CA (when a database wants TLS) and each such database's files, by database name."""
    wanting = [db for db in databases if wants_tls(db)]
    if not wanting:
        return None, {}
    ca = StackCA(stack, parent_opts)
    return ca, {db.name: ServerCertificate(stack, db, ca, parent_opts).files for db in wanting}
