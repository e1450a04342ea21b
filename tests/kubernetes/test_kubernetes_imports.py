"""The kubernetes backend stands on the resolved model alone: it imports nothing of the docker
backend (not even through another module) and reads no spec classes."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "flashdrive"


def _module_file(name: str) -> Path | None:
    path = PACKAGE.parent / Path(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(file: Path) -> set[str]:
    """Every flashdrive module `file` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text(), str(file))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from flashdrive.docker import readback` imports the module flashdrive.docker.readback
            found.update(f"{node.module}.{alias.name}" for alias in node.names
                         if _module_file(f"{node.module}.{alias.name}") is not None)
    return {name for name in found if name.split(".")[0] == "flashdrive"}


def _reachable(start: set[str]) -> dict[str, str]:
    """Each flashdrive module reachable from `start`, with the module that imports it."""
    seen: dict[str, str] = {name: name for name in start}
    todo = list(start)
    while todo:
        name = todo.pop()
        file = _module_file(name)
        if file is None:
            continue
        for imported in _imports(file):
            parts = imported.split(".")
            # importing a.b.c runs a/__init__.py and a/b/__init__.py too
            for i in range(2, len(parts) + 1):
                prefix = ".".join(parts[:i])
                if prefix not in seen:
                    seen[prefix] = name
                    todo.append(prefix)
    return seen


def _kubernetes_modules() -> set[str]:
    return {f"flashdrive.kubernetes.{file.stem}" for file in (PACKAGE / "kubernetes").glob("*.py")}


def test_the_kubernetes_backend_imports_nothing_of_the_docker_backend():
    reached = _reachable(_kubernetes_modules())
    docker = {name: by for name, by in reached.items() if name == "flashdrive.docker" or
              name.startswith("flashdrive.docker.")}
    assert docker == {}, f"imported by: {docker}"


def test_the_kubernetes_backend_reads_no_spec_classes():
    direct = {name: file.name for file in (PACKAGE / "kubernetes").glob("*.py") for name in _imports(file)}
    assert not {name for name in direct if name in ("flashdrive.spec.contract", "flashdrive.spec.loader")}
