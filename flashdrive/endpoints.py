"""What `${...}` references resolve to, as Pulumi values, for every backend.

Database passwords and URLs are Pulumi secrets; so is any env value built from one.
"""

from __future__ import annotations

from typing import Callable

import pulumi
from msgspec import Struct

from flashdrive.engines import ENGINES
from flashdrive.model.stack import ResolvedApp, ResolvedDatabase, ResolvedStack
from flashdrive.spec.env import EnvVar
from flashdrive.spec.references import Reference


class DatabaseEndpoint(Struct, frozen=True):
    host: str
    port: int
    user: str
    password: pulumi.Output
    name: str
    url: pulumi.Output

    @staticmethod
    def of(db: ResolvedDatabase, password: pulumi.Output) -> "DatabaseEndpoint":
        secret_password = pulumi.Output.secret(password)
        url = secret_password.apply(
            lambda pw: ENGINES[db.engine].url.format(
                user=db.user, password=pw, host=db.name, port=db.port, name=db.database
            )
        )
        return DatabaseEndpoint(db.name, db.port, db.user, secret_password, db.database, pulumi.Output.secret(url))

    def get(self, prop: str):
        return getattr(self, prop)


def app_property(app: ResolvedApp, prop: str) -> str:
    return {
        "host": app.name,
        "port": str(app.port),
        "url": f"http://{app.name}:{app.port}",
        "public_url": app.public_url or "",
    }[prop]


def config_value(key: str) -> pulumi.Output:
    """`{config: KEY}` — from the flashdrive namespace unless the key names another (`ns:key`)."""
    namespace, _, name = key.rpartition(":")
    return pulumi.Config(namespace or "flashdrive").require_secret(name)


class EnvResolver:
    """Turns an app's EnvVars into values; `generated` makes the random value of a {generate} var."""

    def __init__(
        self, stack: ResolvedStack, databases: dict[str, DatabaseEndpoint], generated: Callable[[EnvVar], pulumi.Output]
    ):
        self.stack = stack
        self.databases = databases
        self.generated = generated

    def reference(self, ref: Reference):
        if ref.kind == "stack":
            return self.stack.name
        if ref.kind == "apps":
            return app_property(self.stack.apps[ref.name], ref.prop)
        value = self.databases[ref.name].get(ref.prop)
        return str(value) if isinstance(value, int) else value

    def value(self, var: EnvVar) -> pulumi.Input[str]:
        if var.kind == "generate":
            return pulumi.Output.secret(self.generated(var))
        if var.kind == "config":
            return config_value(var.config_key)
        parts = [self.reference(s) if isinstance(s, Reference) else s for s in var.segments]
        texts = [p for p in parts if isinstance(p, str)]
        if len(texts) == len(parts):
            return "".join(texts)
        joined = pulumi.Output.concat(*parts)
        return pulumi.Output.secret(joined) if var.secret else joined
