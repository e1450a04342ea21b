"""Mutated specs never crash `flashdrive validate`: exit 0 or 1, no traceback, and every line it
prints is a positioned problem (or its hint).

Valid seeds are mutated the way people break files: a key dropped, a key misspelt, a value of
another type, a broken `${...}`, a key written twice, stray YAML characters, a file cut short.
"""

from __future__ import annotations

import contextlib
import copy
import io
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

import yaml
from fuzzing import example, fuzz
from hypothesis import assume, given
from hypothesis import strategies as st

from flashdrive.cli.main import main

APP_DIR = Path(__file__).resolve().parent / "invalid" / "apps" / "web"

SEEDS: list[str] = [
    """\
version: 1
stack: shop
tls: {email: ops@example.com}
apps:
  web:
    image: ghcr.io/acme/web:1.4
    port: 8000
    size: m
    nodes: 2
    health_check: {path: /healthz, interval_s: 5}
    release: python manage.py migrate --noinput
    env:
      DJANGO_SETTINGS_MODULE: shop.settings
      SECRET_KEY: {generate: secret, length: 50}
      API_TOKEN: {config: apiToken}
      DATABASE_URL: ${databases.main.url}
      SEARCH_URL: "http://${apps.search.host}:${apps.search.port}/"
      SENTRY_ENV: {value: production, scope: run}
    disks:
      - {name: media, mount: /app/media, size_gb: 5, access: read_only}
    domains:
      - shop.example.com
      - host: admin.example.com
        certificate: {config: adminCertPem}
        key: {config: adminKeyPem}
  search:
    image: docker.io/library/elasticsearch:8.15.0
    port: 9200
  jobs:
    image: ghcr.io/acme/web:1.4
    type: worker
    env:
      REDIS_URL: ${databases.cache.url}
      WEB: ${apps.web.url}
databases:
  main: {engine: postgres, version: "16", size: s, disk_gb: 10}
  cache: {engine: redis}
backups:
  schedule: "0 3 * * *"
  keep_days: 10
  target: {volume: backups}
""",
    """\
version: 1
stack: blog
backend: kubernetes
images:
  mirror: registry.example.com/hub
  postgres: registry.example.com/pg:{version}
kubernetes:
  namespace: blog
  storage_class: standard-rwx
  registry: registry.example.com/blog
apps:
  web: &web
    image: ghcr.io/acme/blog:2
    egress: false
    env:
      MODE: 0755
      DB: "postgres://${databases.db.user}:${databases.db.password}@${databases.db.host}/${databases.db.name}"
      LITERAL: "$${not.a.ref}"
  api:
    <<: *web
    nodes: 3
databases:
  db: {engine: mysql, version: 8.4}
backups:
  target: {s3: {endpoint: "https://s3.example.com", bucket: blog, access_key: {config: a}, secret_key: {config: s}}}
""",
    """\
version: 1
stack: app
build:
  pip_index_url: https://pypi.example.com/simple
apps:
  web:
    source: ./app
    env:
      STACK: ${stack.name}
  worker:
    source: ./app
    type: worker
    process: worker
""",
]

# Problems without a line and column (CLI.md / SPEC.md): a whole file that cannot be read.
NO_POSITION = re.compile(r"^(?:.+: )?error: (?:file not found|is a folder, not a file|cannot read the file)")

# Known bugs, each with its own xfail test, kept out of the fuzz so it can find new ones:
# - control characters (test_loader_errors.py::test_a_control_character_is_reported_where_it_is)
# - values holding a line break (test_invalid_specs.py::test_a_value_with_a_line_break_is_shown_on_one_line)
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-2, max_value=70000)
           | st.floats(allow_nan=True, allow_infinity=True) | TEXT
           | st.sampled_from(["", "s", "web", "worker", "${apps.web.host}", "${", "/", "-", "~", "yes", "0755",
                              "10.10", "2024-01-01", "*", "&", "!!int", "ä", "\t", "shop.example.com", "a b"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=10),
                                        inner, max_size=3), max_leaves=6)
YAML_CHARS = st.sampled_from(list(":-?[]{},#&*!|>'\"%@`\t\n ") + ["${", "}", "---", "...", "<<: ", ": ", "- ", "\n  "])


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def hits_a_known_bug(text: str) -> bool:
    """Whether the text reaches one of the known bugs listed above."""
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in text):
        return True
    try:
        data = yaml.safe_load(text)
    except Exception:  # noqa: BLE001 - unparsable text cannot hold such values
        return False
    return any("\n" in s or "\r" in s for s in _strings(data))


def paths(node, prefix=()):
    """Every path to a value in the tree, keys and list indexes."""
    found = []
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return found
    for key, value in items:
        found.append(prefix + (key,))
        found += paths(value, prefix + (key,))
    return found


def parent(tree, path):
    for key in path[:-1]:
        tree = tree[key]
    return tree


def typo(word: str, draw) -> str:
    word = str(word)
    kind = draw(st.sampled_from(["drop", "swap", "add", "upper", "dash"]))
    i = draw(st.integers(0, max(len(word) - 1, 0)))
    if kind == "drop" and word:
        return word[:i] + word[i + 1:]
    if kind == "swap" and len(word) > 1:
        i = min(i, len(word) - 2)
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "upper":
        return word.upper()
    if kind == "dash":
        return word.replace("_", "-") if "_" in word else word + "_"
    return word[:i] + draw(st.sampled_from("aesz_")) + word[i:]


def break_reference(text: str, draw) -> str:
    start = text.find("${")
    end = text.find("}", start)
    inner = text[start + 2:end]
    parts = inner.split(".")
    kind = draw(st.sampled_from(["unclose", "name", "prop", "kind", "drop", "empty", "extra"]))
    if kind == "unclose":
        return text[:end] + text[end + 1:]
    if kind == "name" and len(parts) > 1:
        parts[1] = typo(parts[1], draw)
    elif kind == "prop":
        parts[-1] = typo(parts[-1], draw)
    elif kind == "kind":
        parts[0] = typo(parts[0], draw)
    elif kind == "drop":
        parts = parts[:-1]
    elif kind == "empty":
        parts = []
    else:
        parts.append(draw(st.text(max_size=5)))
    return text[:start + 2] + ".".join(parts) + text[end:]


@st.composite
def mutated_data(draw):
    """A seed parsed, changed as data, and written back as YAML."""
    tree = yaml.safe_load(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        all_paths = paths(tree)
        refs = [p for p in all_paths if isinstance(parent(tree, p)[p[-1]], str) and "${" in parent(tree, p)[p[-1]]]
        kind = draw(st.sampled_from(["drop", "rename", "replace", "reference"] if refs else ["drop", "rename", "replace"]))
        if kind == "reference":
            path = draw(st.sampled_from(refs))
            holder = parent(tree, path)
            holder[path[-1]] = break_reference(holder[path[-1]], draw)
            continue
        path = draw(st.sampled_from(all_paths))
        holder = parent(tree, path)
        if kind == "drop":
            del holder[path[-1]]
        elif kind == "rename" and isinstance(holder, dict):
            holder[typo(path[-1], draw)] = holder.pop(path[-1])
        else:
            holder[path[-1]] = copy.deepcopy(draw(values))
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False, default_flow_style=draw(st.booleans()))


@st.composite
def mutated_text(draw):
    """A seed changed as text: a key written twice, stray YAML characters, a file cut short."""
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["duplicate", "insert", "truncate", "replace-line"]))
        lines = text.splitlines(keepends=True)
        if kind == "duplicate":
            keyed = [i for i, line in enumerate(lines) if re.match(r"^\s*[a-z_A-Z]+:", line)]
            i = draw(st.sampled_from(keyed)) if keyed else 0
            lines.insert(i + 1, lines[i] if lines else "")
            text = "".join(lines)
        elif kind == "insert":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(YAML_CHARS | TEXT) + text[at:]
        elif kind == "truncate":
            text = text[:draw(st.integers(0, len(text)))]
        elif lines:
            i = draw(st.integers(0, len(lines) - 1))
            indent = re.match(r"^\s*", lines[i]).group()
            lines[i] = indent + draw(TEXT) + "\n"
            text = "".join(lines)
    return text


def write_spec(folder: str, text: str) -> Path:
    """The spec in a fresh folder, beside a copy of the fixture app its `source: ./app` names."""
    shutil.copytree(APP_DIR, Path(folder) / "app")
    spec = Path(folder) / "flashdrive.yaml"
    spec.write_text(text, encoding="utf-8")
    return spec


def check(text: str) -> None:
    assume(not hits_a_known_bug(text))
    with tempfile.TemporaryDirectory() as folder:
        spec = write_spec(folder, text)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["validate", str(spec)])
    stderr = err.getvalue()
    assert code in (0, 1), stderr
    assert "Traceback" not in stderr
    # At a line and column of the spec, or of a file in the app folder (the buildpack's problems).
    positioned = re.compile(rf"^(?:{re.escape(str(spec))}|{re.escape(folder)}/\S+):\d+:\d+: (error|warning): ")
    lines = stderr.rstrip("\n").split("\n") if stderr else []  # terminals and grep split on \\n only
    for line in lines:
        if line.startswith("    ") and line.strip():
            continue  # the hint of the problem above
        assert positioned.match(line) or NO_POSITION.match(line), f"unexpected stderr line {line!r} in:\n{stderr}"
    errors = [line for line in lines if re.search(r"^\S.*? error: ", line) or line.startswith("error: ")]
    if code == 1:
        assert errors, stderr
    else:
        assert not errors and "ok — stack" in out.getvalue()




def test_the_seeds_are_valid():
    for seed in SEEDS:
        with tempfile.TemporaryDirectory() as folder:
            spec = write_spec(folder, seed)
            err = io.StringIO()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                assert main(["validate", str(spec)]) == 0, err.getvalue()


@fuzz
@given(mutated_data())
def test_specs_changed_as_data_never_crash_validate(text):
    with example("spec-as-data"):
        check(text)


@fuzz
@given(mutated_text())
def test_specs_changed_as_text_never_crash_validate(text):
    with example("spec-as-text"):
        check(text)
