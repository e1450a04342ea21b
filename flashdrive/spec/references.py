"""`${...}` references inside env values, parsed into segments the backends resolve.

A template is a list of literal strings and References. `$${` writes a literal `${`.
"""

from __future__ import annotations

import re
from typing import Union

from msgspec import Struct

DATABASE_PROPERTIES = ("host", "port", "user", "password", "name", "url")
APP_PROPERTIES = ("host", "port", "url", "public_url")
STACK_PROPERTIES = ("name",)
SECRET_DATABASE_PROPERTIES = frozenset({"password", "url"})

_WORD = r"[A-Za-z0-9_-]+"
_REF = re.compile(rf"^(?P<kind>{_WORD})(?:\.(?P<name>{_WORD}))?(?:\.(?P<prop>{_WORD}))?$")


class Reference(Struct, frozen=True):
    kind: str  # "apps" | "databases" | "stack"
    name: str  # app or database name; "" for stack
    prop: str
    offset: int  # where `${` starts in the value, for error columns

    @property
    def secret(self) -> bool:
        return self.kind == "databases" and self.prop in SECRET_DATABASE_PROPERTIES

    def __str__(self) -> str:
        inner = f"{self.kind}.{self.name}.{self.prop}" if self.name else f"{self.kind}.{self.prop}"
        return "${" + inner + "}"


Segment = Union[str, Reference]


class TemplateError(Struct, frozen=True):
    offset: int
    message: str
    hint: str | None = None


def parse_template(text: str) -> tuple[list[Segment], list[TemplateError]]:
    """Split a value into literal text and references; syntax errors carry their offset."""
    segments: list[Segment] = []
    errors: list[TemplateError] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$${", i):
            literal.append("${")
            i += 3
            continue
        if not text.startswith("${", i):
            literal.append(text[i])
            i += 1
            continue
        end = text.find("}", i + 2)
        if end < 0:
            errors.append(
                TemplateError(
                    i,
                    f"'{text[i:]}' opens a reference with '${{' but never closes it",
                    "close it with '}', or write '$${' for a literal '${'",
                )
            )
            literal.append(text[i:])
            break
        inner = text[i + 2 : end].strip()
        reference = _parse_inner(inner, i, errors)
        if reference is not None:
            if literal:
                segments.append("".join(literal))
                literal = []
            segments.append(reference)
        i = end + 1
    if literal:
        segments.append("".join(literal))
    return segments, errors


def _parse_inner(inner: str, offset: int, errors: list[TemplateError]) -> Reference | None:
    match = _REF.match(inner)
    if not match:
        errors.append(
            TemplateError(
                offset,
                f"'${{{inner}}}' is not a reference",
                "write ${databases.NAME.url}, ${apps.NAME.host} or ${stack.name}",
            )
        )
        return None
    kind, name, prop = match["kind"], match["name"], match["prop"]
    if kind == "stack":
        if prop is not None or name not in STACK_PROPERTIES:
            errors.append(
                TemplateError(
                    offset,
                    f"'${{{inner}}}' is not a property of the stack",
                    "the stack has one property: ${stack.name}",
                )
            )
            return None
        return Reference("stack", "", name, offset)
    if kind not in ("apps", "databases"):
        guess = {"app": "apps", "database": "databases", "db": "databases", "dbs": "databases"}.get(kind)
        errors.append(
            TemplateError(
                offset,
                f"'${{{inner}}}' refers to '{kind}', which is not apps, databases or stack",
                f"did you mean '${{{guess}{inner[len(kind) :]}}}'?"
                if guess
                else "write ${databases.NAME.PROPERTY}, ${apps.NAME.PROPERTY} or ${stack.name}",
            )
        )
        return None
    properties = DATABASE_PROPERTIES if kind == "databases" else APP_PROPERTIES
    if name is None or prop is None:
        errors.append(
            TemplateError(
                offset,
                f"'${{{inner}}}' needs a name and a property",
                f"write ${{{kind}.NAME.PROPERTY}} with PROPERTY one of {', '.join(properties)}",
            )
        )
        return None
    return Reference(kind, name, prop, offset)


def is_secret(segments: list[Segment]) -> bool:
    return any(isinstance(s, Reference) and s.secret for s in segments)
