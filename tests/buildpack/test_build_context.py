"""The one ignore matcher follows Docker's rules (moby's patternmatcher), and the context hash
follows exactly the files a build sends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flashdrive.buildpack.build_context import BadPattern, IgnoreRules, clean, context_files, context_hash
from flashdrive.buildpack.dockerignore import dockerignore_patterns
from flashdrive.buildpack.errors import BuildpackError


def excluded(patterns: str, path: str) -> bool:
    return IgnoreRules.parse(patterns).excludes(path)


# (patterns, path, excluded?) — what Docker's own matcher answers.
DOCKER_CASES = [
    # anchored at the root, unlike gitignore
    ("foo", "foo", True),
    ("foo", "a/foo", False),
    ("/foo", "foo", True),
    ("./foo/", "foo/bar.txt", True),
    ("a//b/../c", "a/c", True),
    # * and ? never cross a slash
    ("*.pyc", "x.pyc", True),
    ("*.pyc", "pkg/x.pyc", False),
    ("*/*.pyc", "pkg/x.pyc", True),
    ("fo?", "foo", True),
    ("fo?", "fo/", False),
    ("a*b", "a/b", False),
    # ** spans folders, zero included
    ("**/*.pyc", "x.pyc", True),
    ("**/*.pyc", "a/b/c/x.pyc", True),
    ("a/**/b", "a/b", True),
    ("a/**/b", "a/x/y/b", True),
    ("a/**", "a/x/y", True),
    ("a/**", "ab", False),
    ("**", "anything/at/all", True),
    # moby's shortcuts, quirks included
    ("**foo", "barfoo", True),
    ("**/foo", "xfoo", False),
    ("**/foo", "deep/foo", True),
    ("foo**", "food/x", True),
    # a folder's pattern covers what is inside; the last match decides; ! puts back
    ("docs", "docs/a/b.md", True),
    ("docs\n!docs/README.md", "docs/README.md", False),
    ("docs\n!docs/README.md", "docs/other.md", True),
    ("!docs/README.md\ndocs", "docs/README.md", True),
    (".*\n!.flashdrive", ".flashdrive/ca.pem", False),
    ("!.flashdrive\n.*", ".flashdrive/ca.pem", True),
    # classes as in Go's regexp: ^ negates, ! is a character
    ("[a-c].txt", "b.txt", True),
    ("[^a-c].txt", "b.txt", False),
    ("[^a-c].txt", "d.txt", True),
    ("[!a].txt", "!.txt", True),
    ("[!a].txt", "b.txt", False),
    ("\\*.txt", "*.txt", True),
    ("\\*.txt", "a.txt", False),
    # comments only at the start of a line; the root is never excluded
    ("# secret\n", "# secret", False),
    (" # x", "# x", True),
    ("*", ".", False),
]


@pytest.mark.parametrize("patterns,path,expected", DOCKER_CASES)
def test_the_matcher_answers_as_docker_does(patterns, path, expected):
    assert excluded(patterns, path) is expected


@pytest.mark.parametrize("pattern,reason", [
    ("[z-a]", "runs backwards"),
    ("[abc", "never closed"),
    ("a]", "no opening"),
    ("!", "illegal exclusion"),
    ("x" * 5000, "characters long"),
])
def test_patterns_docker_refuses_are_refused_with_their_line(pattern, reason):
    with pytest.raises(BadPattern) as caught:
        IgnoreRules.parse(f"ok\n{pattern}\n", where=".dockerignore")
    assert caught.value.line == 2
    assert reason in str(caught.value)


def test_a_bad_pattern_in_the_apps_dockerignore_is_a_buildpack_error_at_its_line(tmp_path):
    (tmp_path / ".dockerignore").write_text("node_modules\n[z-a]\n")
    with pytest.raises(BuildpackError) as caught:
        dockerignore_patterns(tmp_path)
    assert caught.value.line == 2
    assert "syntax error in pattern" in caught.value.message


def test_clean_follows_go_filepath_clean():
    assert clean("./a/b/") == "a/b"
    assert clean("//a") == "a"
    assert clean("a/../../b") == "../b"
    assert clean("/") == "/"


def test_star_heavy_patterns_take_linear_time():
    # A backtracking regexp needs minutes for this (the review's 30 stars); run it in a child
    # process so a regression fails the test instead of hanging the suite.
    code = ("from flashdrive.buildpack.build_context import IgnoreRules\n"
            "rules = IgnoreRules.parse('*' * 200 + 'a')\n"
            "assert not rules.excludes('b' * 3000)\n"
            "assert rules.excludes('b' * 3000 + 'a')\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def make_context(root: Path, files: dict[str, str]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def test_context_files_are_what_the_build_sends(tmp_path):
    context = make_context(tmp_path, {
        ".dockerignore": "docs\n!docs/keep.md\n*.log\n",
        "app.py": "", "docs/keep.md": "", "docs/drop.md": "", "x.log": "", "sub/x.log": "",
    })
    assert list(context_files(context, IgnoreRules.parse((context / ".dockerignore").read_text()))) == [
        ".dockerignore", "app.py", "docs/keep.md", "sub/x.log"]


def test_the_hash_follows_sent_files_and_ignores_the_rest(tmp_path):
    context = make_context(tmp_path, {".dockerignore": ".env\n.flashdrive/state\n", "app.py": "print(1)\n"})
    before = context_hash(context)
    (context / ".env").write_text("SECRET=1\n")
    (context / ".flashdrive/state").mkdir(parents=True)
    (context / ".flashdrive/state/stack.json").write_text("{}")
    assert context_hash(context) == before, "ignored files must not change the hash"
    (context / "app.py").write_text("print(2)\n")
    assert context_hash(context) != before
    (context / "app.py").write_text("print(1)\n")
    assert context_hash(context) == before
    (context / "app.py").chmod(0o755)
    assert context_hash(context) != before, "the executable bit is part of what is sent"


def test_the_dockerfiles_own_ignore_file_wins_over_the_contexts(tmp_path):
    context = make_context(tmp_path, {".dockerignore": "", "secret.txt": "a",
                                      ".flashdrive/Dockerfile": "FROM x\n",
                                      ".flashdrive/Dockerfile.dockerignore": "secret.txt\n"})
    dockerfile = context / ".flashdrive/Dockerfile"
    with_specific, with_context_ignore = context_hash(context, dockerfile), context_hash(context)
    (context / "secret.txt").write_text("b")
    assert context_hash(context, dockerfile) == with_specific
    assert context_hash(context) != with_context_ignore
