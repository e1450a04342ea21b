"""Print the README's shell commands marked for CI, so `.ci/run` runs them as written.

A fenced block preceded by `<!-- ci: NAME -->` (invisible on GitHub) belongs to NAME:

    python3 .ci/readme_commands.py setup      # the block(s) marked `<!-- ci: setup -->`

Exits 1 when no block carries NAME, so a README edit that drops a marker fails CI instead of
silently running nothing.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
# The marker, optional blank lines, then a ``` or ~~~ fence and everything up to its closing fence.
BLOCK = re.compile(r"^<!--\s*ci:\s*(?P<name>[\w-]+)\s*-->\s*\n(?:[ \t]*\n)*"
                   r"(?P<fence>```|~~~)[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)


def commands(text: str, name: str) -> list[str]:
    return [match["body"] for match in BLOCK.finditer(text) if match["name"] == name]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: readme_commands.py NAME", file=sys.stderr)
        return 2
    found = commands(README.read_text(encoding="utf-8"), argv[0])
    if not found:
        print(f"{README}: no fenced block marked <!-- ci: {argv[0]} -->", file=sys.stderr)
        return 1
    sys.stdout.write("".join(found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
