"""What git ignores, as .dockerignore patterns: an app without a .dockerignore builds from what
Heroku would build from (a git checkout), so `.env`, `db.sqlite3` or `staticfiles/` stay out.

The two languages look alike and mean different things; each rule below is one difference:

| git (gitignore(5))                                   | Docker (moby patternmatcher)                  |
|------------------------------------------------------|-----------------------------------------------|
| no `/` but a trailing one: matches at any depth       | always relative to the context root → `**/p`  |
| a `/` at the start or in the middle: anchored to the  | → `<folder of the .gitignore>/p`             |
|   folder of the .gitignore that holds it             |                                               |
| trailing `/`: folders only                            | cannot say "folder": → `p/**` (its contents;  |
|                                                      |   a file named p stays)                       |
| `!p` cannot bring back a path whose parent folder is  | `!p` brings anything back: such a negation is |
|   excluded (git never looks inside)                   |   left out                                    |
| `[!a]` negates a class                                | Go syntax: `[^a]`                             |
| trailing spaces are dropped unless escaped (`\\ `)     | lines are trimmed: an escaped space is `[ ]`  |
| a deeper .gitignore overrides a higher one            | the last match wins: deeper files come later  |

`.git/info/exclude` counts as a root .gitignore. The global excludes file (core.excludesFile) is the
developer's, not the project's, and is not read. Folders git never looks into (`.git`) are skipped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from flashdrive.buildpack.build_context import BadPattern, IgnoreRules
from flashdrive.buildpack.sources import read_text

GITIGNORE = ".gitignore"
# What the build itself reads from `.flashdrive/` (the Dockerfile, the CA bundle) must stay in even
# when .gitignore lists the folder (the README tells users to); its local state never goes in.
FLASHDRIVE_KEEP = ["!.flashdrive", "!.flashdrive/**", ".flashdrive/state"]


def gitignore_as_dockerignore(app_dir: Path) -> list[str]:
    """Docker ignore patterns equivalent to the app's .gitignore files (root first, deeper later),
    followed by FLASHDRIVE_KEEP; [] when the app has no .gitignore. Comments say where each came from."""
    app_dir = Path(app_dir)
    sources = []
    exclude = app_dir / ".git" / "info" / "exclude"
    if exclude.is_file():
        sources.append(("", exclude))
    sources += [
        (folder, app_dir / folder / GITIGNORE if folder else app_dir / GITIGNORE)
        for folder in _gitignore_folders(app_dir)
    ]
    if not sources:
        return []
    out: list[str] = []
    for folder, path in sources:
        translated = translate_gitignore(read_text(path), folder, before=out)
        if translated:
            where = path.relative_to(app_dir).as_posix()
            out += [f"# from {where}", *translated]
    return (
        out + ["# what the build itself needs from .flashdrive/ stays in; its local state does not", *FLASHDRIVE_KEEP]
        if out
        else []
    )


def _gitignore_folders(app_dir: Path) -> list[str]:
    """Folders (posix, relative; "" for the root) holding a .gitignore, parents before children."""
    found = []
    for root, dirs, files in os.walk(app_dir):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        if GITIGNORE in files:
            relative = Path(root).relative_to(app_dir).as_posix()
            found.append("" if relative == "." else relative)
    return found


def translate_gitignore(text: str, folder: str = "", *, before: list[str] | None = None) -> list[str]:
    """The Docker patterns for one .gitignore's text, found in `folder` (relative posix path, "" for
    the root). `before` are the patterns already in force (from higher .gitignore files): a negation
    under a folder they exclude is left out, as git could not bring it back either."""
    out: list[str] = []
    for raw in text.split("\n"):
        line = _strip_trailing_spaces(raw.rstrip("\r"))
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate:
            line = line[1:]
        pattern = _translate(line, folder)
        if pattern is None:
            continue
        if negate:
            if _parent_excluded(pattern, [*(before or []), *out]):
                continue
            pattern = "!" + pattern
        try:
            IgnoreRules.parse(pattern)
        except BadPattern:
            continue  # git took it as a literal or ignored it; Docker would refuse the whole build
        out.append(pattern)
    return out


def _strip_trailing_spaces(line: str) -> str:
    stripped = line.rstrip(" ")
    if stripped.endswith("\\") and len(stripped) < len(line):
        stripped += " "  # "\ " keeps one space
    # Docker trims each line, so an escaped space becomes a class that only a space matches.
    return stripped.replace("\\ ", "[ ]")


def _translate(line: str, folder: str) -> str | None:
    directory_only = line.endswith("/")
    body = line.rstrip("/")
    if not body:
        return None
    anchored = "/" in body  # a slash at the start or in the middle (the trailing one is gone)
    body = body.lstrip("/")
    if not body:
        return None
    body = re.sub(r"\[!", "[^", body)  # git's class negation, in Go's syntax
    if body.startswith("\\!") or body.startswith("\\#"):
        body = body[1:] if body[1] == "#" else body  # `\#` is a literal `#`, which Docker reads as is
    prefix = f"{folder}/" if folder else ""
    # git matches an unanchored pattern at any depth; Docker only at the root, unless it says **/.
    pattern = prefix + body if anchored or body.startswith("**/") else f"{prefix}**/{body}"
    if directory_only:
        pattern += "/**"
    return pattern


def _parent_excluded(pattern: str, earlier: list[str]) -> bool:
    """Whether a folder above `pattern`'s literal path is excluded by the earlier patterns."""
    parts = pattern.split("/")
    literal = []
    for part in parts[:-1]:
        if any(ch in part for ch in "*?[\\"):
            break
        literal.append(part)
    if not literal or not earlier:
        return False
    rules = IgnoreRules.parse("\n".join(p for p in earlier if not p.startswith("#")))
    # `folder/**` excludes what is in the folder, not the folder: probe a child too.
    return any(
        rules.excludes(ancestor) or rules.excludes(ancestor + "/\x00probe")
        for ancestor in ("/".join(literal[: n + 1]) for n in range(len(literal)))
    )
