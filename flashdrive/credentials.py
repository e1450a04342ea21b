"""Credentials that outlive `pulumi destroy`: derived from one secret in stack config.

Data outlives the stack (volumes and claims are retained), so the keys to it must too. A random
resource does not: `pulumi destroy` forgets it and the next `up` makes a new one, which Postgres,
MySQL and MongoDB ignore on an existing data directory (apps cannot log in) and which cannot open
the retained backup repository (every snapshot unreadable).

So every credential flashdrive generates — database passwords, the backup repository's password,
`{generate: secret}` env values — is HMAC-SHA256(master key, "flashdrive/v1/<stack>/<purpose>/<n>"),
n = 0, 1, ... until the value is long enough,
where the master key is the stack config secret `flashdrive:masterKey`:

    pulumi config set --secret flashdrive:masterKey "$(openssl rand -hex 32)"

`flashdrive up` sets it on a stack's first run. It lives in the stack's config file (encrypted),
not in the state, so `destroy` then `up` gives back the same credentials. Losing it loses access
to the data: back up `stacks/Pulumi.<stack>.yaml` with its passphrase.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pulumi

CONFIG_KEY = "masterKey"
# The purpose of the backup repository's password: the stack's backups write with it, a preview's
# seed reads its base's repository with it (derived from the base's name).
REPOSITORY_PASSWORD = "backups/repository-password"
FULL_CONFIG_KEY = f"flashdrive:{CONFIG_KEY}"
SET_IT = f'pulumi config set --secret {FULL_CONFIG_KEY} "$(openssl rand -hex 32)"'


class MasterKeyMissing(pulumi.RunError):
    """Shown by Pulumi as a plain message, without a Python traceback."""


def new_master_key() -> str:
    return secrets.token_hex(32)


def derive_value(master: str, stack: str, purpose: str, length: int) -> str:
    """`length` hex characters (4 bits each), the same for the same key, stack and purpose."""
    out = ""
    counter = 0
    while len(out) < length:
        message = f"flashdrive/v1/{stack}/{purpose}/{counter}".encode()
        out += hmac.new(master.encode(), message, hashlib.sha256).hexdigest()
        counter += 1
    return out[:length]


class Credentials:
    """The stack's credentials, each a secret Output derived from the master key."""

    def __init__(self, stack: str):
        self.stack = stack
        self._master: pulumi.Output[str] | None = None

    def _master_key(self) -> pulumi.Output[str]:
        if self._master is None:
            master = pulumi.Config("flashdrive").get_secret(CONFIG_KEY)
            if master is None:
                raise MasterKeyMissing(
                    f"stack config {FULL_CONFIG_KEY} is not set: stack '{self.stack}' derives its database "
                    "passwords, backup repository password and generated secrets from it, so that they "
                    f"survive `pulumi destroy`. Set it once: {SET_IT} (`flashdrive up` does this on a "
                    "stack's first run), and keep it with the stack's config: without it, retained data "
                    "cannot be opened."
                )
            self._master = master
        return self._master

    def derive(self, purpose: str, length: int = 32) -> pulumi.Output[str]:
        return pulumi.Output.secret(
            self._master_key().apply(lambda master: derive_value(master, self.stack, purpose, length))
        )
