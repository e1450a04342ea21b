"""Which package manager an app uses, which files its install needs, and which packages it installs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

from msgspec import Struct, field

from flashdrive.buildpack.errors import BuildpackError
from flashdrive.buildpack.sources import line_of, load_json, load_toml, read_text

PIP, PIPENV, POETRY, UV = "pip", "pipenv", "poetry", "uv"

# The file that makes each manager the app's manager (its lock, for the locked managers).
MANAGER_FILES = {PIP: "requirements.txt", PIPENV: "Pipfile.lock", POETRY: "poetry.lock", UV: "uv.lock"}


def normalize_name(name: str) -> str:
    """PEP 503 normalised project name: `Django_Heroku` and `django.heroku` are both `django-heroku`."""
    return re.sub(r"[-_.]+", "-", name).lower()


class Dependencies(Struct):
    manager: str
    files: list[str]  # relative posix paths the install step needs, in the order they were found
    names: set[str]  # normalised names of what the install puts in the image
    installs_app_source: bool = False  # a dependency is the app's own folder (`-e .`, a path dependency)
    warnings: list[str] = field(default_factory=list)

    @property
    def manifest(self) -> str:
        """The file a user edits to add a dependency."""
        return {PIP: "requirements.txt", PIPENV: "Pipfile", POETRY: "pyproject.toml", UV: "pyproject.toml"}[
            self.manager
        ]

    def how_to_add(self, package: str) -> str:
        return {
            PIP: f"add a line `{package}` to requirements.txt",
            PIPENV: f"run `pipenv install {package}` (it updates Pipfile and Pipfile.lock) and commit both",
            POETRY: f"run `poetry add {package}` (it updates pyproject.toml and poetry.lock) and commit both",
            UV: f"run `uv add {package}` (it updates pyproject.toml and uv.lock) and commit both",
        }[self.manager]


def detect_package_manager(app_dir: Path) -> str:
    """The one package manager whose files are in the app folder; anything else is an error with the fix."""
    has = {
        name: (app_dir / name).is_file()
        for name in ("requirements.txt", "Pipfile", "Pipfile.lock", "poetry.lock", "uv.lock", "pyproject.toml")
    }
    found: dict[str, list[str]] = {}
    if has["requirements.txt"]:
        found[PIP] = ["requirements.txt"]
    if has["Pipfile"] or has["Pipfile.lock"]:
        found[PIPENV] = [name for name in ("Pipfile", "Pipfile.lock") if has[name]]
    if has["poetry.lock"]:
        found[POETRY] = ["poetry.lock"]
    if has["uv.lock"]:
        found[UV] = ["uv.lock"]

    if len(found) > 1:
        files = [name for names in found.values() for name in names]
        managers = list(found)
        raise BuildpackError(
            f"{app_dir} has files of several package managers ({', '.join(files)}: {' and '.join(managers)}); "
            "flashdrive installs with exactly one, and would have to guess which is current",
            hint=f"delete the files of the managers you do not use, e.g. delete "
            f"{', '.join(name for m in managers[1:] for name in found[m])} to install with {managers[0]} "
            f"from {found[managers[0]][-1]}",
        )
    if not found:
        raise BuildpackError(
            f"{app_dir} has no requirements.txt, Pipfile.lock, poetry.lock or uv.lock, so flashdrive "
            "does not know what to install",
            hint=_missing_manager_hint(app_dir),
        )
    manager = next(iter(found))
    if manager == PIPENV and not has["Pipfile.lock"]:
        raise BuildpackError(
            f"{app_dir / 'Pipfile'} has no Pipfile.lock beside it; the build installs the locked versions "
            "(`pipenv install --deploy`) so that every build installs the same packages",
            hint=f"run `pipenv lock` in {app_dir} and commit Pipfile.lock",
            file=app_dir / "Pipfile",
        )
    if manager == PIPENV and not has["Pipfile"]:
        raise BuildpackError(
            f"{app_dir / 'Pipfile.lock'} has no Pipfile beside it; `pipenv install --deploy` checks the lock "
            "against the Pipfile and refuses to install without it",
            hint=f"commit the Pipfile together with Pipfile.lock in {app_dir}",
            file=app_dir / "Pipfile.lock",
        )
    if manager in (POETRY, UV) and not has["pyproject.toml"]:
        lock = MANAGER_FILES[manager]
        raise BuildpackError(
            f"{app_dir / lock} has no pyproject.toml beside it; {manager} needs both to install",
            hint=f"commit pyproject.toml together with {lock} in {app_dir}",
            file=app_dir / lock,
        )
    return manager


def _missing_manager_hint(app_dir: Path) -> str:
    pyproject = app_dir / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = load_toml(pyproject)
        except BuildpackError:
            data = {}
        backend = str(data.get("build-system", {}).get("build-backend", ""))
        if "poetry" in data.get("tool", {}) or backend.startswith("poetry"):
            return f"run `poetry lock` in {app_dir} and commit poetry.lock"
        return f"run `uv lock` in {app_dir} and commit uv.lock, or list the dependencies in a requirements.txt"
    for name in ("Requirements.txt", "requirements.TXT", "requirement.txt", "requirements.text"):
        if (app_dir / name).is_file():
            return f"rename {name} to requirements.txt (the name is case-sensitive)"
    variants = sorted(
        p.relative_to(app_dir).as_posix()
        for p in [*app_dir.glob("requirements*.txt"), *app_dir.glob("requirements/*.txt")]
    )
    if variants:
        return f"add a requirements.txt that includes the one to deploy, e.g. a single line `-r {variants[0]}`"
    if (app_dir / "setup.py").is_file():
        return "add a requirements.txt containing the line `-e .` so pip installs the project from setup.py"
    return (
        "add a requirements.txt listing the app's packages (`pip freeze > requirements.txt`); "
        "an app with no dependencies needs an empty one"
    )


def read_dependencies(app_dir: Path, manager: str) -> Dependencies:
    reader = {PIP: _read_pip, PIPENV: _read_pipenv, POETRY: _read_poetry, UV: _read_uv}[manager]
    return reader(app_dir)


# --- pip -------------------------------------------------------------------------------------------

_NAME = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$", re.S)
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_VCS = re.compile(r"^(git|hg|svn|bzr)\+", re.I)
_COMMENT = re.compile(r"(^|\s)#.*$")
# Options of a requirements file that take a value; the value may be glued (`-rfile`, `--requirement=file`).
_INCLUDE_OPTIONS = {
    "-r": "requirement",
    "--requirement": "requirement",
    "-c": "constraint",
    "--constraint": "constraint",
}
_VALUE_OPTIONS = {
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--no-binary",
    "--only-binary",
    "--trusted-host",
    "--use-feature",
    "--config-settings",
    "--global-option",
    "--hash",
}


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Lines with `\\` continuations joined and comments removed, each with the line it starts on."""
    buffer, start = "", 0
    for number, raw in enumerate(text.split("\n"), start=1):
        if not buffer:
            start = number
        if raw.endswith("\\"):
            buffer += raw[:-1] + " "
            continue
        line = _COMMENT.sub("", buffer + raw).strip()
        buffer = ""
        if line:
            yield start, line
    if buffer and _COMMENT.sub("", buffer).strip():
        yield start, _COMMENT.sub("", buffer).strip()


def _read_pip(app_dir: Path) -> Dependencies:
    deps = Dependencies(PIP, [], set())
    _read_requirements_file(app_dir, app_dir / "requirements.txt", deps, seen=set())
    return deps


def _relative(app_dir: Path, path: Path) -> str | None:
    """`path` relative to the app folder as a posix path, or None when it lies outside it."""
    try:
        return path.resolve().relative_to(app_dir.resolve()).as_posix()
    except ValueError:
        return None


def _read_requirements_file(app_dir: Path, path: Path, deps: Dependencies, seen: set[Path]) -> None:
    seen.add(path.resolve())
    relative = _relative(app_dir, path)
    assert relative is not None
    deps.files.append(relative)
    for number, line in _logical_lines(read_text(path)):
        option, value = _split_option(line)
        if option in _INCLUDE_OPTIONS:
            kind = _INCLUDE_OPTIONS[option]
            if not value:
                raise BuildpackError(
                    f"{path.name} has `{option}` without a file name",
                    hint=f"write the {kind} file after it, e.g. `{option} requirements/base.txt`, or delete the line",
                    file=path,
                    line=number,
                )
            if "://" in value:
                deps.warnings.append(
                    f"{path.name}:{number} includes {value} from the network; flashdrive cannot see which "
                    "packages it adds. Copy the file into the app folder and include that instead."
                )
                continue
            target = path.parent / value
            if _relative(app_dir, target) is None:
                raise BuildpackError(
                    f"{path.name} includes {value}, which is outside the app folder {app_dir}; the build only "
                    "sees the app folder",
                    hint=f"move {value} into {app_dir} and include it from there",
                    file=path,
                    line=number,
                )
            if not target.is_file():
                raise BuildpackError(
                    f"{path.name} includes {value}, but there is no such file ({target})",
                    hint=f"fix the path (it is relative to {path.name}'s folder) or delete the line",
                    file=path,
                    line=number,
                )
            if target.resolve() in seen:
                continue  # included twice or in a cycle: pip reads it once too
            if kind == "requirement":
                _read_requirements_file(app_dir, target, deps, seen)
            else:
                # Constraints pin versions but install nothing; the build still needs the file.
                seen.add(target.resolve())
                rel = _relative(app_dir, target)
                if rel is not None and rel not in deps.files:
                    deps.files.append(rel)
            continue
        editable = option in ("-e", "--editable")
        if option is not None and not editable:
            continue  # index, find-links and other options: not a package
        spec = value if editable else line
        if not spec:
            continue
        _add_requirement(app_dir, path, number, spec, deps, editable=editable)


def _split_option(line: str) -> tuple[str | None, str]:
    if not line.startswith("-"):
        return None, ""
    if line.startswith("--"):
        head, _, rest = line.partition(" ")
        if "=" in head:
            head, _, glued = head.partition("=")
            return head, (glued + " " + rest).strip()
        return head, rest.strip()
    # Short options may be glued to their value: `-rbase.txt`, `-e.`.
    head, rest = line[:2], line[2:].strip()
    return head, rest


def _add_requirement(app_dir: Path, path: Path, number: int, spec: str, deps: Dependencies, *, editable: bool) -> None:
    # Per-requirement options (`--hash=...`) and markers follow the requirement itself.
    spec = re.split(r"\s+--?[A-Za-z]", spec, maxsplit=1)[0].strip()
    without_marker = spec.split(";", 1)[0].strip()
    if _VCS.match(without_marker) or (
        " @ " in without_marker and _VCS.search(without_marker.split(" @ ", 1)[1].strip())
    ):
        deps.warnings.append(
            f"{path.name}:{number} installs from version control ({without_marker}); the slim base image has "
            "no git, so the install fails. Point it at a release archive (.tar.gz or .whl URL) instead."
        )
    egg = _EGG.search(without_marker)
    if egg:
        deps.names.add(normalize_name(egg.group(1)))
        return
    if _is_local_path(without_marker):
        _add_local_path(app_dir, path, number, without_marker, deps)
        return
    if "://" in without_marker:
        filename = without_marker.rsplit("/", 1)[-1].split("#", 1)[0]
        if filename.endswith(".whl"):
            deps.names.add(normalize_name(filename.split("-", 1)[0]))
        else:
            sdist = re.match(r"^(.+?)-\d", filename)
            if sdist:
                deps.names.add(normalize_name(sdist.group(1)))
        return
    match = _NAME.match(without_marker)
    if not match:
        raise BuildpackError(
            f"{path.name} line '{spec}' is not a requirement pip understands",
            hint="write it as `name`, `name==1.2.3`, `name[extra]>=1.0` or `-r other.txt`",
            file=path,
            line=number,
        )
    rest = match.group(3).strip()
    if rest.startswith("@"):
        target = rest[1:].strip()
        if target.startswith("file:"):
            _add_local_path(app_dir, path, number, target, deps)
    deps.names.add(normalize_name(match.group(1)))


def _is_local_path(spec: str) -> bool:
    return spec.startswith((".", "/", "~", "file:")) or spec in (".",)


def _add_local_path(app_dir: Path, path: Path, number: int, spec: str, deps: Dependencies) -> None:
    local = re.sub(r"^file:(//)?", "", spec).split("#", 1)[0].split("[", 1)[0]
    target = Path(local).expanduser()
    if not target.is_absolute():
        target = app_dir / target  # pip resolves it from the working directory, which is the app folder
    if _relative(app_dir, target) is None:
        raise BuildpackError(
            f"{path.name} installs {spec}, which is outside the app folder {app_dir}; the build only sees "
            "the app folder",
            hint=f"move that package into {app_dir} (and point at it relatively) or publish it to a package index",
            file=path,
            line=number,
        )
    deps.installs_app_source = True
    pyproject = target / "pyproject.toml"
    if pyproject.is_file():
        project = load_toml(pyproject).get("project", {})
        if isinstance(project.get("name"), str):
            deps.names.add(normalize_name(project["name"]))
        deps.names.update(_pep508_names(project.get("dependencies", [])))


def _pep508_requirements(requirements: Any) -> dict[str, list[str]]:
    """Normalised name -> extras asked for, of a list of PEP 508 requirement strings."""
    found: dict[str, list[str]] = {}
    for requirement in requirements if isinstance(requirements, list) else []:
        match = _NAME.match(requirement.strip()) if isinstance(requirement, str) else None
        if match:
            extras = [extra.strip() for extra in (match.group(2) or "[]")[1:-1].split(",") if extra.strip()]
            found.setdefault(normalize_name(match.group(1)), []).extend(extras)
    return found


def _pep508_names(requirements: Any) -> set[str]:
    return set(_pep508_requirements(requirements))


# --- pipenv ----------------------------------------------------------------------------------------


def _read_pipenv(app_dir: Path) -> Dependencies:
    lock_path = app_dir / "Pipfile.lock"
    deps = Dependencies(PIPENV, ["Pipfile", "Pipfile.lock"], set())
    lock = load_json(lock_path)
    default = lock.get("default", {}) if isinstance(lock, dict) else None
    if not isinstance(default, dict):
        raise BuildpackError(
            "Pipfile.lock has no `default` section of packages, so it is not a Pipfile.lock pipenv wrote",
            hint="run `pipenv lock` and commit the new Pipfile.lock",
            file=lock_path,
        )
    text = read_text(lock_path)
    for name, entry in default.items():
        deps.names.add(normalize_name(name))
        if not isinstance(entry, dict):
            continue
        if "git" in entry or "hg" in entry or "svn" in entry:
            deps.warnings.append(
                f"Pipfile.lock installs {name} from version control; the slim base image has no git, so the "
                "install fails. Depend on a released version instead."
            )
        if "path" in entry or "file" in entry:
            local = str(entry.get("path") or entry.get("file"))
            if local.startswith(("http://", "https://")):
                continue
            if _relative(app_dir, app_dir / re.sub(r"^file:(//)?", "", local)) is None:
                raise BuildpackError(
                    f"Pipfile.lock installs {name} from {local}, which is outside the app folder {app_dir}",
                    hint=f"move that package into {app_dir}, point the Pipfile at it, and run `pipenv lock`",
                    file=lock_path,
                    line=line_of(text, f'"{name}"'),
                )
            deps.installs_app_source = True
    return deps


# --- poetry ----------------------------------------------------------------------------------------


def _readme_files(app_dir: Path, pyproject: dict[str, Any]) -> list[str]:
    """Readme files named in pyproject.toml: building the project's metadata reads them."""
    readmes: list[Any] = []
    for table in (pyproject.get("project", {}), pyproject.get("tool", {}).get("poetry", {})):
        readme = table.get("readme") if isinstance(table, dict) else None
        if isinstance(readme, dict):
            readme = readme.get("file")
        readmes.extend(readme if isinstance(readme, list) else [readme])
    files = []
    for readme in readmes:
        if isinstance(readme, str) and (app_dir / readme).is_file():
            relative = _relative(app_dir, app_dir / readme)
            if relative and relative not in files:
                files.append(relative)
    return files


def _read_poetry(app_dir: Path) -> Dependencies:
    pyproject = load_toml(app_dir / "pyproject.toml")
    lock_path = app_dir / "poetry.lock"
    lock = load_toml(lock_path)
    deps = Dependencies(POETRY, ["pyproject.toml", "poetry.lock", *_readme_files(app_dir, pyproject)], set())

    poetry = pyproject.get("tool", {}).get("poetry", {})
    declared: dict[str, list[str]] = {}  # name -> extras asked for
    for name, spec in (poetry.get("dependencies") or {}).items():
        if name.lower() == "python":
            continue
        extras = spec.get("extras", []) if isinstance(spec, dict) else []
        declared[normalize_name(name)] = list(extras)
        if isinstance(spec, dict) and "path" in spec:
            _check_path_dependency(app_dir, name, str(spec["path"]), deps, "pyproject.toml")
        if isinstance(spec, dict) and "git" in spec:
            deps.warnings.append(
                f"pyproject.toml installs {name} from git; the slim base image has no git, so the install "
                "fails. Depend on a released version instead."
            )
    project_dependencies = pyproject.get("project", {}).get("dependencies", []) or []
    for name, extras in _pep508_requirements(project_dependencies).items():
        declared.setdefault(name, []).extend(extras)
    if any(isinstance(r, str) and "file:" in r for r in project_dependencies):
        deps.installs_app_source = True

    _check_poetry_root(app_dir, pyproject, deps)
    packages = [p for p in lock.get("package", []) if isinstance(p, dict) and isinstance(p.get("name"), str)]
    for package in packages:
        source = package.get("source", {})
        if isinstance(source, dict) and source.get("type") in ("directory", "file") and package.get("name"):
            deps.installs_app_source = True  # path dependencies are installed with the dependencies
    if any("groups" in p for p in packages):
        # poetry.lock 2.1+ records which groups need each package.
        deps.names = {normalize_name(p["name"]) for p in packages if "main" in (p.get("groups") or [])}
    elif any("category" in p for p in packages):
        deps.names = {normalize_name(p["name"]) for p in packages if p.get("category") == "main"}
    else:
        deps.names = _reachable(declared, {normalize_name(p["name"]): p for p in packages}, _poetry_edges)
    deps.names |= set(declared)
    return deps


def _check_poetry_root(app_dir: Path, pyproject: dict[str, Any], deps: Dependencies) -> None:
    """`poetry sync` also installs the project itself, which fails when no package folder matches its name."""
    poetry = pyproject.get("tool", {}).get("poetry", {})
    if poetry.get("package-mode") is False or "packages" in poetry:
        return
    name = pyproject.get("project", {}).get("name") or poetry.get("name")
    if not isinstance(name, str):
        return
    module = re.sub(r"[-.]+", "_", name).lower()
    if any((app_dir / base / module).is_dir() or (app_dir / base / f"{module}.py").is_file() for base in (".", "src")):
        return
    deps.warnings.append(
        f"pyproject.toml: `poetry sync` installs the project '{name}' itself, but there is no {module}/ package "
        "folder, so the install fails. Set `package-mode = false` under [tool.poetry] (an app need not be a package)."
    )


def _check_path_dependency(app_dir: Path, name: str, local: str, deps: Dependencies, manifest: str) -> None:
    if _relative(app_dir, app_dir / local) is None:
        raise BuildpackError(
            f"{manifest} installs {name} from {local}, which is outside the app folder {app_dir}; the build "
            "only sees the app folder",
            hint=f"move that package into {app_dir} and point at it relatively, or publish it to a package index",
            file=app_dir / manifest,
            line=line_of(read_text(app_dir / manifest), local),
        )
    deps.installs_app_source = True


def _poetry_edges(package: dict[str, Any], extras: list[str]) -> list[tuple[str, list[str]]]:
    edges = []
    wanted_optional = {
        normalize_name(named.group(1))
        for extra in extras
        for e in (package.get("extras", {}) or {}).get(extra, [])
        if (named := _NAME.match(e))
    }
    for name, spec in (package.get("dependencies") or {}).items():
        specs = spec if isinstance(spec, list) else [spec]
        optional = all(isinstance(s, dict) and s.get("optional") for s in specs)
        if optional and normalize_name(name) not in wanted_optional:
            continue
        sub_extras = [e for s in specs if isinstance(s, dict) for e in s.get("extras", [])]
        edges.append((normalize_name(name), sub_extras))
    return edges


def _reachable(roots: dict[str, list[str]], packages: dict[str, Any], edges) -> set[str]:
    """Every package the roots pull in, following dependencies (and asked-for extras) through the lock."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    names: set[str] = set()
    stack = [(name, tuple(extras)) for name, extras in roots.items()]
    while stack:
        name, extras = stack.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        names.add(name)
        package = packages.get(name)
        if package is not None:
            stack.extend((child, tuple(child_extras)) for child, child_extras in edges(package, list(extras)))
    return names


# --- uv --------------------------------------------------------------------------------------------


def _read_uv(app_dir: Path) -> Dependencies:
    pyproject = load_toml(app_dir / "pyproject.toml")
    lock = load_toml(app_dir / "uv.lock")
    deps = Dependencies(UV, ["pyproject.toml", "uv.lock"], set())
    project = pyproject.get("project", {})
    declared = _pep508_requirements(project.get("dependencies", []))
    packages = [p for p in lock.get("package", []) if isinstance(p, dict) and isinstance(p.get("name"), str)]
    by_name = {normalize_name(p["name"]): p for p in packages}

    project_name = normalize_name(project["name"]) if isinstance(project.get("name"), str) else None
    root = by_name.get(project_name) if project_name else None
    if root is None:  # a project without a name: the lock's entry for the folder itself
        root = next((p for p in packages if p.get("source") in ({"editable": "."}, {"virtual": "."})), None)
    for package in packages:
        source = package.get("source", {})
        if not isinstance(source, dict) or package is root:
            continue
        local = source.get("editable") or source.get("directory") or source.get("path")
        if isinstance(local, str):
            _check_path_dependency(app_dir, package["name"], local, deps, "uv.lock")
        if "git" in source:
            deps.warnings.append(
                f"uv.lock installs {package['name']} from git; the slim base image has no git, so the install "
                "fails. Depend on a released version instead."
            )
    if root is not None:
        for dependency in root.get("dependencies", []) or []:
            if isinstance(dependency, dict) and isinstance(dependency.get("name"), str):
                declared.setdefault(normalize_name(dependency["name"]), []).extend(dependency.get("extra", []))
    deps.names = _reachable(declared, by_name, _uv_edges)
    return deps


def _uv_edges(package: dict[str, Any], extras: list[str]) -> list[tuple[str, list[str]]]:
    entries = list(package.get("dependencies", []) or [])
    optional = package.get("optional-dependencies", {}) or {}
    for extra in extras:
        entries.extend(optional.get(extra, []) or [])
    return [
        (normalize_name(e["name"]), list(e.get("extra", [])))
        for e in entries
        if isinstance(e, dict) and isinstance(e.get("name"), str)
    ]
