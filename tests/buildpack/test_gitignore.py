"""git's ignore patterns translated into Docker's: each case is a path git and the build must agree on."""

from __future__ import annotations

import pytest

from buildpack_helpers import write_app
from flashdrive.buildpack.build_context import IgnoreRules
from flashdrive.buildpack.gitignore import FLASHDRIVE_KEEP, gitignore_as_dockerignore, translate_gitignore


def _excluded(patterns: list[str], path: str) -> bool:
    return IgnoreRules.parse("\n".join(patterns)).excludes(path)


@pytest.mark.parametrize("gitignore, path, ignored", [
    # no slash: any depth (Docker alone would anchor it to the root)
    (".env", ".env", True),
    (".env", "config/.env", True),
    ("*.log", "var/log/app.log", True),
    ("db.sqlite3", "db.sqlite3", True),
    # a slash at the start or in the middle: relative to the .gitignore's folder only
    ("/staticfiles", "staticfiles/app.css", True),
    ("/staticfiles", "shop/staticfiles/app.css", False),
    ("docs/build", "docs/build/index.html", True),
    ("docs/build", "other/docs/build/index.html", False),
    # trailing slash: folders only, at any depth
    ("staticfiles/", "staticfiles/app.css", True),
    ("staticfiles/", "shop/staticfiles/app.css", True),
    ("media/", "media", False),  # a file called media is not a folder
    ("media/", "media/avatar.png", True),
    # ** as git means it
    ("**/cache", "a/b/cache", True),
    ("logs/**", "logs/x/y.log", True),
    ("a/**/z", "a/z", True),
    ("a/**/z", "a/b/c/z", True),
    # git's class negation [!...] is Go's [^...]
    ("*.py[!c]", "x.pyo", True),
    ("*.py[!c]", "x.pyc", False),
    # trailing spaces are not part of the pattern, an escaped one is
    ("secret.txt   ", "secret.txt", True),
    ("trail\\ ", "trail ", True),
    # comments and blank lines say nothing
    ("# .env\n\n", ".env", False),
    # a negation brings a file back...
    ("*.log\n!keep.log", "keep.log", False),
    ("*.log\n!keep.log", "other.log", True),
    # ...but not from inside an excluded folder: git never looks in there
    ("build/\n!build/keep.txt", "build/keep.txt", True),
    ("/build\n!/build/keep.txt", "build/keep.txt", True),
])
def test_the_build_ignores_what_git_ignores(gitignore, path, ignored):
    patterns = translate_gitignore(gitignore)
    assert _excluded(patterns, path) is ignored, patterns


def test_a_nested_gitignore_applies_below_its_own_folder_and_overrides_the_root(tmp_path):
    app = write_app(tmp_path / "app", {
        ".gitignore": "*.csv\n/local/\n",
        "data/.gitignore": "!fixtures.csv\nraw/\n/tmp\n",
        "data/fixtures.csv": "a,b\n",
        "requirements.txt": "django\n",
    })
    patterns = gitignore_as_dockerignore(app)
    assert patterns[0] == "# from .gitignore" and "# from data/.gitignore" in patterns
    assert _excluded(patterns, "export.csv") and _excluded(patterns, "shop/export.csv")
    assert not _excluded(patterns, "data/fixtures.csv")  # the deeper file wins
    assert _excluded(patterns, "data/raw/x.json") and _excluded(patterns, "data/sub/raw/x.json")
    assert _excluded(patterns, "data/tmp/x") and not _excluded(patterns, "tmp/x")  # anchored to data/
    assert _excluded(patterns, "local/notes.txt") and not _excluded(patterns, "requirements.txt")


def test_flashdrive_build_inputs_stay_even_when_gitignore_lists_the_folder(tmp_path):
    app = write_app(tmp_path / "app", {".gitignore": ".flashdrive/\n.env\n"})
    patterns = gitignore_as_dockerignore(app)
    assert patterns[-len(FLASHDRIVE_KEEP):] == FLASHDRIVE_KEEP
    assert not _excluded(patterns, ".flashdrive/ca.pem") and not _excluded(patterns, ".flashdrive/Dockerfile")
    assert _excluded(patterns, ".flashdrive/state/stack.json")
    assert _excluded(patterns, ".env")


def test_git_info_exclude_counts_and_the_git_folder_is_not_searched(tmp_path):
    app = write_app(tmp_path / "app", {".git/info/exclude": "notes.md\n", ".git/sub/.gitignore": "requirements.txt\n"})
    patterns = gitignore_as_dockerignore(app)
    assert _excluded(patterns, "notes.md") and not _excluded(patterns, "requirements.txt")


def test_no_gitignore_gives_no_patterns(tmp_path):
    assert gitignore_as_dockerignore(write_app(tmp_path / "app", {"requirements.txt": "x\n"})) == []


def test_a_pattern_docker_would_refuse_is_left_out_instead_of_failing_the_build():
    assert translate_gitignore("[z-a]\n.env\n") == ["**/.env"]


def test_the_heroku_style_fixture_keeps_its_env_file_and_static_files_out(tmp_path):
    from buildpack_helpers import FIXTURES

    app = FIXTURES.parents[1] / "e2e" / "apps" / "heroku_style"
    patterns = gitignore_as_dockerignore(app)
    for path in (".env", "staticfiles/admin/base.css", "db.sqlite3", "hello/__pycache__/views.cpython-312.pyc"):
        assert _excluded(patterns, path), path
    for path in ("manage.py", "requirements.txt", "gettingstarted/settings.py", "app.json", ".flashdrive/ca.pem"):
        assert not _excluded(patterns, path), path


def test_without_a_dockerignore_the_build_leaves_out_what_git_leaves_out_and_never_a_secret(tmp_path):
    from flashdrive.buildpack.build_context import IgnoreRules
    from flashdrive.model.resolve import _build_ignore

    (tmp_path / ".gitignore").write_text(".env\ndb.sqlite3\nstaticfiles/\n!id_rsa\n")
    rules = IgnoreRules.parse(_build_ignore(tmp_path))
    for kept_out in (".env", "db.sqlite3", "staticfiles/app.css", "id_rsa", ".flashdrive/state/dev.json", ".git/HEAD"):
        assert rules.excludes(kept_out), kept_out
    for sent in ("Procfile", "shop/settings.py", ".flashdrive/ca.pem"):
        assert not rules.excludes(sent), sent
