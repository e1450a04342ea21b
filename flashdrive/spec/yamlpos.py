"""YAML with a position for every node.

PyYAML's composer (the C one when available) gives nodes with marks; we build plain Python
data from them ourselves so we can reject duplicate keys, cap alias expansion, and keep a
parallel tree of positions for error messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from msgspec import Struct, field

from flashdrive.bounded import MIB, os_reason, read_bounded
from flashdrive.problems import InputError, Mark, Problem

# Two classes with the same interface under the same name.
_Loader: type[yaml.CSafeLoader] | type[yaml.SafeLoader]
try:  # libyaml is ~10x faster; the pure-Python composer gives the same nodes.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the wheel
    from yaml import SafeLoader as _Loader

# An alias bomb ("billion laughs") must end in an error, not an exhausted machine.
MAX_NODES = 200_000
MAX_SPEC_BYTES = 4 * MIB  # a large stack's spec is tens of KB
MAX_DEPTH = 64

_MERGE_TAG = "tag:yaml.org,2002:merge"


class Pos(Struct):
    """Where a value (and, inside a mapping, its key) was written."""

    mark: Mark
    key_mark: Mark | None = None
    children: dict[Any, "Pos"] | list["Pos"] | None = None
    # The scalar as written, for values where YAML 1.1 typing would surprise (env values).
    raw: str | None = None
    style: str | None = None

    def child(self, key: Any) -> "Pos | None":
        if isinstance(self.children, dict):
            return self.children.get(key)
        if isinstance(self.children, list) and isinstance(key, int) and 0 <= key < len(self.children):
            return self.children[key]
        return None


class Document(Struct):
    file: str
    data: Any
    pos: Pos
    problems: list[Problem] = field(default_factory=list)

    def find(self, path: tuple) -> tuple[Pos, tuple]:
        """The deepest position along `path`, and the part of the path that had no position."""
        pos = self.pos
        for index, key in enumerate(path):
            nxt = pos.child(key)
            if nxt is None:
                return pos, path[index:]
            pos = nxt
        return pos, ()


def _mark(file: str, yaml_mark) -> Mark:
    return Mark(file, yaml_mark.line + 1, yaml_mark.column + 1)


class _Builder:
    def __init__(self, file: str):
        self.file = file
        self.constructor = yaml.constructor.SafeConstructor()
        self.count = 0
        self.problems: list[Problem] = []
        self.in_progress: set[int] = set()
        self.distinct: set[int] = set()

    def build(self, node: yaml.Node, depth: int = 0) -> tuple[Any, Pos]:
        self.count += 1
        self.distinct.add(id(node))
        mark = _mark(self.file, node.start_mark)
        if self.count > MAX_NODES:
            if len(self.distinct) * 2 > MAX_NODES:  # mostly written out, not repeated through aliases
                raise InputError(
                    [
                        Problem(
                            f"the document has more than {MAX_NODES} keys and values; no stack needs that many",
                            mark,
                            hint="keep bulk data out of the spec (a file in the app, a database)",
                        )
                    ]
                )
            raise InputError(
                [
                    Problem(
                        f"the document expands to more than {MAX_NODES} values (through anchors and aliases)",
                        mark,
                        hint="write the values out, or use fewer nested aliases",
                    )
                ]
            )
        if depth > MAX_DEPTH or id(node) in self.in_progress:
            raise InputError(
                [
                    Problem(
                        "the document nests too deeply or refers to itself through an alias",
                        mark,
                        hint="remove the alias that points at its own parent",
                    )
                ]
            )
        if isinstance(node, yaml.ScalarNode):
            try:
                value = self.constructor.construct_object(node)
            except Exception as exc:  # noqa: BLE001 - PyYAML raises ValueError & co. for `!!int shop`
                tag = node.tag.rsplit(":", 1)[-1]
                raise InputError(
                    [
                        Problem(
                            f"'{node.value}' is not a valid {tag} ({getattr(exc, 'problem', None) or exc})",
                            mark,
                            hint=f"remove the !!{tag} tag or fix the value",
                        )
                    ]
                ) from None
            return value, Pos(mark, raw=node.value, style=node.style)
        self.in_progress.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                items, positions = [], []
                for item in node.value:
                    value, pos = self.build(item, depth + 1)
                    items.append(value)
                    positions.append(pos)
                return items, Pos(mark, children=positions)
            # PyYAML composes scalars, sequences and mappings, nothing else.
            assert isinstance(node, yaml.MappingNode), type(node)
            return self._mapping(node, mark, depth)
        finally:
            self.in_progress.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, mark: Mark, depth: int) -> tuple[dict, Pos]:
        data: dict = {}
        children: dict[Any, Pos] = {}
        merged: dict = {}
        merged_pos: dict[Any, Pos] = {}
        for key_node, value_node in node.value:
            key_mark = _mark(self.file, key_node.start_mark)
            if key_node.tag == _MERGE_TAG:
                # `<<: *defaults` — explicit keys of this mapping win over merged ones.
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    value, pos = self.build(source, depth + 1)
                    # a mapping's Pos has children by key, like its value (one is a dict when the other is)
                    if not isinstance(value, dict) or not isinstance(pos.children, dict):
                        self.problems.append(Problem("`<<` merges only mappings", key_mark))
                        continue
                    for k, v in value.items():
                        merged.setdefault(k, v)
                        merged_pos.setdefault(k, pos.children[k])
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise InputError([Problem("a key must be a plain word, not a list or mapping", key_mark)])
            key, _ = self.build(key_node, depth + 1)
            if not isinstance(key, str):
                # YAML 1.1 reads `on:`/`yes:`/`1:` as bool/int keys; every key here is a name.
                key = key_node.value
            value, pos = self.build(value_node, depth + 1)
            pos.key_mark = key_mark
            if key in data:
                first = children[key].key_mark
                self.problems.append(
                    Problem(
                        f"duplicate key '{key}' (first written at line {first.line})"
                        if first
                        else f"duplicate key '{key}'",
                        key_mark,
                        hint="keep one of them: YAML would silently drop the first",
                    )
                )
                continue
            data[key] = value
            children[key] = pos
        for k, v in merged.items():
            if k not in data:
                data[k] = v
                children[k] = merged_pos[k]
        return data, Pos(mark, children=children)


def parse_yaml(text: str, file: str) -> Document:
    """Parse one YAML document into data with positions. Raises InputError for unusable input."""
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise InputError(
            [
                Problem(
                    f"the file contains the control character U+{exc.character:04X}, which YAML does not allow",
                    Mark(file, line, col),
                    hint="remove it, or write it as an escape inside double quotes",
                )
            ]
        ) from None
    except yaml.MarkedYAMLError as exc:
        where = exc.problem_mark or exc.context_mark
        mark = _mark(file, where) if where else Mark(file, 1, 1)
        message = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            message = f"{exc.context}, {exc.problem}"
        source_line = text.splitlines()[mark.line - 1] if 0 < mark.line <= len(text.splitlines()) else ""
        raise InputError([Problem(f"invalid YAML: {message}", mark, hint=_syntax_hint(message, source_line))]) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(f"invalid YAML: {exc}", Mark(file, 1, 1))]) from None
    if root is None:
        raise InputError(
            [
                Problem(
                    "the file is empty",
                    Mark(file, 1, 1),
                    hint="start with `version: 1` and `stack: NAME`; `flashdrive init` writes a starter file",
                )
            ]
        )
    builder = _Builder(file)
    data, pos = builder.build(root)
    return Document(file, data, pos, builder.problems)


def _syntax_hint(message: str, line: str) -> str | None:
    if "\t" in line[: len(line) - len(line.lstrip())] or "'\\t'" in message:
        return "YAML indents with spaces only: replace the tab"
    if "mapping values are not allowed" in message:
        return "a value that contains ': ' must be quoted"
    if "could not find expected ':'" in message:
        return "each key needs a ':' after it"
    return None


def load_yaml_file(path: Path, shown_as: str | None = None) -> Document:
    """Read and parse a file. Every failure is an InputError with a one-line message."""
    name = shown_as or str(path)
    try:
        raw = read_bounded(path, MAX_SPEC_BYTES)
    except FileNotFoundError:
        raise InputError(
            [
                Problem(
                    "file not found",
                    Mark(name, 0, 0),
                    hint="pass the path to your flashdrive.yaml, or run `flashdrive init` to write one",
                )
            ]
        ) from None
    except IsADirectoryError:
        raise InputError(
            [
                Problem(
                    "is a folder, not a file",
                    Mark(name, 0, 0),
                    hint=f"pass the spec inside it, e.g. {Path(name) / 'flashdrive.yaml'}",
                )
            ]
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(
            [
                Problem(
                    f"cannot read the file: {os_reason(exc)}",
                    Mark(name, 0, 0),
                    hint="pass the path of a flashdrive.yaml file",
                )
            ]
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(
            [
                Problem(
                    f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x})",
                    Mark(name, line, col),
                    hint="save the file as UTF-8",
                )
            ]
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return parse_yaml(text, name)
