"""The build context's .dockerignore: the app's own when it has one, else flashdrive's default."""

from __future__ import annotations

import re
from pathlib import Path

from flashdrive.buildpack.sources import read_text

# Local state that must not reach the image: VCS data, virtualenvs and caches (they would shadow or
# bloat the installed packages), and .env files (secrets). `.flashdrive/` is deliberately kept: the
# backend puts build inputs such as the CA bundle there.
_DEFAULT_DOCKERIGNORE = """\
# Written by flashdrive: what stays out of the image build.
.git
.hg
.svn
.venv
venv
**/__pycache__
**/*.py[cod]
*.egg-info
.env
.env.*
.envrc
node_modules
.mypy_cache
.pytest_cache
.ruff_cache
.tox
.nox
.coverage
htmlcov
.idea
.vscode
.DS_Store
"""


def default_dockerignore() -> str:
    return _DEFAULT_DOCKERIGNORE


def dockerignore_patterns(app_dir: Path) -> tuple[list[str], bool]:
    """The patterns in force and whether they are the app's own (True) or flashdrive's default."""
    path = app_dir / ".dockerignore"
    own = path.is_file()
    text = read_text(path) if own else _DEFAULT_DOCKERIGNORE
    patterns = [line.strip() for line in text.split("\n") if line.strip() and not line.strip().startswith("#")]
    return patterns, own


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    pattern = pattern.strip("/")
    out, i = "", 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out += "(?:.*/)?"
            else:
                out += ".*"
            continue
        if ch == "*":
            out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "[":
            end = pattern.find("]", i)
            if end < 0:
                out += re.escape(ch)
            else:
                out += "[" + pattern[i + 1:end].replace("\\", "\\\\") + "]"
                i = end
        else:
            out += re.escape(ch)
        i += 1
    return re.compile(out + r"\Z")


def is_excluded(patterns: list[str], relative_path: str) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern matching a folder excludes what is in it."""
    parts = relative_path.strip("/").split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _pattern_regex(pattern[1:] if negate else pattern)
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not negate
    return excluded
