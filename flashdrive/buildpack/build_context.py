"""What a Docker build sends: the build context chosen by Docker's own ignore rules, and its hash.

One matcher for every part of flashdrive that decides what goes into an image (detection's
checks, the plan's digest, the e2e double's rebuild decision). It follows moby's
`patternmatcher` (the code BuildKit and the classic builder both use), not gitignore:

- patterns are cleaned like Go's `filepath.Clean` (`./a//b/` is `a/b`, `a/../b` is `b`) and a
  leading `/` is dropped: every pattern is anchored at the context root (gitignore's `foo`
  matches at any depth; Docker's matches only at the root);
- `*` and `?` never cross `/`; `**` matches any number of folders, zero included; a trailing
  `**` matches everything below; `[...]` is a character class as in Go's regexp (`^` negates,
  `[!a]` is `!` or `a`), `\\` escapes the next character;
- a pattern matches a path when it matches the path itself or one of its parent folders
  (`MatchesOrParentMatches`); the last pattern that matches decides, `!` patterns put back;
- moby's shortcuts are kept with their quirks: a pattern that starts with `**` and has no other
  wildcard is a suffix test (`**foo` matches `barfoo`), one that ends with `**` and has no other
  wildcard is a prefix test (`foo**` matches `food/x`).

moby compiles each pattern to a backtracking-free RE2 regexp; Python's `re` backtracks, so a
pattern of thirty `*` took seconds. Here each pattern runs as a small NFA over the path: time
linear in the path's length times the pattern's, whatever the input.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from msgspec import Struct

# Tokens of a compiled pattern.
_LITERAL, _ANY, _STAR, _DOUBLE_STAR_DIRS, _DOUBLE_STAR_ALL, _CLASS = range(6)

MAX_PATTERN_LENGTH = 4096  # a longer .dockerignore line is refused, not matched


class BadPattern(ValueError):
    """A pattern Docker refuses ("syntax error in pattern"); `str()` says what is wrong, `line`
    is its line in the ignore file when it came from one."""

    def __init__(self, reason: str, line: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.line = line


class _CharClass(Struct, frozen=True):
    negated: bool
    singles: frozenset[str]
    ranges: tuple[tuple[str, str], ...]

    def matches(self, ch: str) -> bool:
        found = ch in self.singles or any(lo <= ch <= hi for lo, hi in self.ranges)
        return found != self.negated


def clean(pattern: str) -> str:
    """Go's `filepath.Clean` on a slash path, then the leading `/` dropped (moby's ReadAll)."""
    if not pattern:
        return "."
    cleaned = posixpath.normpath(pattern)
    if cleaned.startswith("//"):  # normpath keeps two leading slashes; Clean does not
        cleaned = "/" + cleaned.lstrip("/")
    if len(cleaned) > 1 and cleaned.startswith("/"):
        cleaned = cleaned[1:]
    return cleaned


def _parse_class(pattern: str, start: int) -> tuple[_CharClass, int]:
    """`pattern[start]` is `[`; returns the class and the index after its `]` (Go regexp syntax)."""
    i = start + 1
    negated = i < len(pattern) and pattern[i] == "^"
    if negated:
        i += 1
    singles: set[str] = set()
    ranges: list[tuple[str, str]] = []
    first = True
    while True:
        if i >= len(pattern):
            raise BadPattern("a '[' is never closed by ']'")
        ch = pattern[i]
        if ch == "]" and not first:
            return _CharClass(negated, frozenset(singles), tuple(ranges)), i + 1
        first = False
        if ch == "\\":
            if i + 1 >= len(pattern):
                raise BadPattern("a '\\' ends the pattern inside '[...]'")
            ch = pattern[i + 1]
            i += 1
        if ch == "[" and pattern.startswith("[:", i):
            raise BadPattern("character class names like [:alpha:] are not supported in ignore patterns")
        i += 1
        if i + 1 < len(pattern) and pattern[i] == "-" and pattern[i + 1] != "]":
            high = pattern[i + 1]
            if high == "\\":
                if i + 2 >= len(pattern):
                    raise BadPattern("a '\\' ends the pattern inside '[...]'")
                high = pattern[i + 2]
                i += 1
            if high < ch:
                raise BadPattern(f"the range '{ch}-{high}' runs backwards")
            ranges.append((ch, high))
            i += 2
        else:
            singles.add(ch)


class Pattern(Struct, frozen=True):
    """One cleaned `.dockerignore` pattern; `exclusion` is a `!` pattern (puts files back)."""

    text: str
    exclusion: bool
    kind: str  # exact | prefix | suffix | nfa, as moby's matchType
    tokens: tuple = ()

    @classmethod
    def compile(cls, line: str) -> "Pattern":
        text = line.strip()
        if len(text) > MAX_PATTERN_LENGTH:
            raise BadPattern(f"the pattern is {len(text)} characters long (at most {MAX_PATTERN_LENGTH})")
        if "\x00" in text:
            raise BadPattern("the pattern contains a NUL character")
        text = clean(text)
        exclusion = text.startswith("!")
        if exclusion:
            text = text[1:]
            if not text:
                raise BadPattern('illegal exclusion pattern: "!"')
        tokens: list = []
        kind = "exact"
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "*":
                if text.startswith("**", i):
                    i += 2
                    if i < len(text) and text[i] == "/":
                        i += 1
                    if i >= len(text):
                        kind = "prefix" if kind == "exact" else "nfa"
                        tokens.append((_DOUBLE_STAR_ALL,))
                    else:
                        kind = "nfa"
                        tokens.append((_DOUBLE_STAR_DIRS,))
                    if len(tokens) == 1:  # the pattern starts with ** (moby: i == 0)
                        kind = "suffix"
                    continue
                tokens.append((_STAR,))
                kind = "nfa"
            elif ch == "?":
                tokens.append((_ANY,))
                kind = "nfa"
            elif ch == "\\":
                if i + 1 < len(text):
                    tokens.append((_LITERAL, text[i + 1]))
                    kind = "nfa"
                    i += 1
                else:
                    tokens.append((_LITERAL, "\\"))
            elif ch == "[":
                char_class, i = _parse_class(text, i)
                tokens.append((_CLASS, char_class))
                kind = "nfa"
                continue
            elif ch == "]":
                raise BadPattern("a ']' has no opening '['")
            else:
                tokens.append((_LITERAL, ch))
            i += 1
        return cls(text=text, exclusion=exclusion, kind=kind, tokens=tuple(tokens))

    def matches(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        return self._run(path)

    def _run(self, path: str) -> bool:
        tokens = self.tokens
        end = len(tokens)

        def closure(states: Iterable[int]) -> set[int]:
            found: set[int] = set()
            stack = list(states)
            while stack:
                state = stack.pop()
                if state in found:
                    continue
                found.add(state)
                if state < end and tokens[state][0] in (_STAR, _DOUBLE_STAR_DIRS, _DOUBLE_STAR_ALL):
                    stack.append(state + 1)  # each may match nothing
            return found

        states = closure([0])
        for ch in path:
            advanced: set[int] = set()
            for state in states:
                if state >= end:
                    continue
                token = tokens[state]
                kind = token[0]
                if kind == _LITERAL:
                    if token[1] == ch:
                        advanced.add(state + 1)
                elif kind == _ANY:
                    if ch != "/":
                        advanced.add(state + 1)
                elif kind == _CLASS:
                    if token[1].matches(ch):
                        advanced.add(state + 1)
                elif kind == _STAR:
                    if ch != "/":
                        advanced.add(state)
                elif kind == _DOUBLE_STAR_ALL:
                    if ch != "\n":  # RE2's `.` stops at a newline
                        advanced.add(state)
                else:  # (.*/)?: any run of characters that ends with a slash
                    if ch != "\n":
                        advanced.add(state)
                    if ch == "/":
                        advanced.add(state + 1)
            if not advanced:
                return False
            states = closure(advanced)
        return end in states


class IgnoreRules(Struct, frozen=True):
    """The patterns of one ignore file, in order; `excludes(path)` is Docker's verdict."""

    patterns: tuple[Pattern, ...]

    @classmethod
    def parse(cls, text: str, *, where: str = ".dockerignore") -> "IgnoreRules":
        """moby's ignorefile.ReadAll: a BOM dropped, `#` lines skipped, blanks trimmed. A bad
        pattern raises BadPattern naming `where:LINE`."""
        patterns = []
        for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
            if line.startswith("#"):
                continue
            stripped = line.strip()
            if not stripped:
                continue
            invert = stripped.startswith("!")
            body = stripped[1:].strip() if invert else stripped
            try:
                patterns.append(Pattern.compile(("!" if invert else "") + (clean(body) if body else "")))
            except BadPattern as exc:
                raise BadPattern(f"{where}:{number}: {exc.reason}", line=number) from None
        return cls(tuple(patterns))

    @property
    def has_exclusions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def excludes(self, relative_path: str) -> bool:
        path = clean(relative_path.replace(os.sep, "/"))
        if path in (".", ""):
            return False  # moby: the context root itself is never excluded
        parents = path.split("/")[:-1]
        matched = False
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue  # cannot change the verdict
            match = pattern.matches(path)
            if not match:
                match = any(pattern.matches("/".join(parents[: n + 1])) for n in range(len(parents)))
            if match:
                matched = not pattern.exclusion
        return matched

    def could_put_back_below(self, folder: str) -> bool:
        """Whether a `!` pattern may include something inside an excluded folder (then the walk
        must look inside it, as BuildKit's does)."""
        return self.has_exclusions


def ignore_file_of(context: Path, dockerfile: Path | None = None) -> Path | None:
    """The ignore file a build reads: `<Dockerfile>.dockerignore` beside the Dockerfile wins over
    the context's `.dockerignore` (BuildKit's rule)."""
    if dockerfile is not None:
        specific = dockerfile.with_name(dockerfile.name + ".dockerignore")
        if specific.is_file():
            return specific
    own = context / ".dockerignore"
    return own if own.is_file() else None


def rules_for(context: Path, dockerfile: Path | None = None) -> IgnoreRules:
    path = ignore_file_of(context, dockerfile)
    if path is None:
        return IgnoreRules(())
    return IgnoreRules.parse(path.read_text(encoding="utf-8", errors="replace"), where=str(path))


def context_files(context: Path, rules: IgnoreRules) -> Iterator[str]:
    """The relative paths (slash-separated, sorted) of the files and links a build sends."""
    root = str(context)

    def walk(folder: str, relative: str) -> Iterator[str]:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            path = f"{relative}/{entry.name}" if relative else entry.name
            excluded = rules.excludes(path)
            if entry.is_dir(follow_symlinks=False):
                if excluded and not rules.could_put_back_below(path):
                    continue
                yield from walk(entry.path, path)
            elif not excluded:
                yield path

    yield from walk(root, "")


def context_hash(context: Path, dockerfile: Path | None = None) -> str:
    """sha256 over exactly what the build sends: each file's path, kind, executable bit and
    content, in path order; the Dockerfile (which BuildKit sends apart) is part of it."""
    rules = rules_for(context, dockerfile)
    digest = hashlib.sha256()
    for relative in context_files(context, rules):
        full = context / relative
        info = full.lstat()
        if stat.S_ISLNK(info.st_mode):
            digest.update(b"L" + relative.encode() + b"\0" + os.readlink(full).encode() + b"\0")
        elif stat.S_ISREG(info.st_mode):
            digest.update(b"F" + relative.encode() + b"\0" + (b"x" if info.st_mode & 0o111 else b"-"))
            file_digest = hashlib.sha256()
            with open(full, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    file_digest.update(block)
            digest.update(file_digest.digest())
    if dockerfile is not None and dockerfile.is_file():
        digest.update(b"D" + hashlib.sha256(dockerfile.read_bytes()).digest())
    return digest.hexdigest()
