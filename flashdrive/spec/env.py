"""Env values in a structured form: what each one is, when it is set, and whether it is secret.

Known before any backend runs, so plans can mask secrets and builds never see them.
"""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

from flashdrive.spec.contract import AppSpec, ConfigValue, GeneratedValue, ScopedValue
from flashdrive.spec.references import Reference, Segment, is_secret, parse_template

Scope = Literal["build", "run", "both"]


class EnvVar(Struct, frozen=True):
    name: str
    kind: Literal["template", "generate", "config"]
    scope: Scope
    secret: bool
    segments: tuple[Segment, ...] = ()  # template: literal text and references
    length: int = 0  # generate
    config_key: str = ""  # config

    @property
    def at_build(self) -> bool:
        return self.scope in ("build", "both")

    @property
    def at_run(self) -> bool:
        return self.scope in ("run", "both")

    @property
    def references(self) -> tuple[Reference, ...]:
        return tuple(s for s in self.segments if isinstance(s, Reference))


def env_var(name: str, value: str | GeneratedValue | ConfigValue | ScopedValue) -> EnvVar:
    """The structured form of one env value. Template syntax errors are reported by the rules."""
    if isinstance(value, GeneratedValue):
        return EnvVar(name, "generate", "run", True, length=value.length)
    if isinstance(value, ConfigValue):
        return EnvVar(name, "config", "run", True, config_key=value.config)
    explicit: Scope | None = None
    if isinstance(value, ScopedValue):
        text, explicit = value.value, value.scope
    else:
        text = value
    segments, _ = parse_template(text)
    secret = is_secret(segments)
    # A plain value is set at build and run; one holding a secret only at run, so it never
    # lands in an image. An explicit build scope on a secret is refused by the rules.
    scope: Scope = explicit if explicit is not None else ("run" if secret else "both")
    return EnvVar(name, "template", scope, secret, segments=tuple(segments))


def env_vars(app: AppSpec) -> list[EnvVar]:
    return [env_var(name, value) for name, value in app.env.items()]
