"""What the build needs to know about a Django project, read with `ast`: user code is never imported."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Mapping

from msgspec import Struct, field

from flashdrive.buildpack.errors import BuildpackError
from flashdrive.buildpack.sources import read_text

STATICFILES_APP = "django.contrib.staticfiles"
_TRUE = {"1", "true", "yes", "on"}


class Setting(Struct, frozen=True):
    """A setting assigned a literal value, and where (for the warning that points at it)."""

    value: object
    file: str  # relative to the app folder
    line: int


class DjangoInfo(Struct, frozen=True):
    manage_py: str  # path of manage.py relative to the app folder
    collectstatic: bool  # run `manage.py collectstatic` at build
    wsgi_module: str | None  # e.g. "shop.wsgi", for `gunicorn shop.wsgi`
    settings_module: str | None  # e.g. "shop.settings"
    # The settings that decide whether the app answers its hosts, where assigned (value None: not a
    # literal, e.g. read from the environment); empty when something flashdrive cannot follow may
    # assign them (django_heroku.settings(locals()) does).
    literal: dict[str, Setting] = field(default_factory=dict)


class _Settings(Struct):
    """What the settings modules assign at top level; a value of None means "set, but not known statically"."""

    values: dict[str, object] = field(default_factory=dict)
    where: dict[str, tuple[Path, int]] = field(default_factory=dict)  # the last assignment of each name
    opaque: bool = False  # something (star import we cannot follow, locals()) may assign more
    files: list[Path] = field(default_factory=list)
    required_env: list[tuple[Path, int, str]] = field(default_factory=list)  # os.environ["X"] at import time


def detect_django(
    app_dir: Path, build_env: Mapping[str, str], dependencies: frozenset[str]
) -> tuple[DjangoInfo | None, list[str]]:
    manage_py = app_dir / "manage.py"
    if not manage_py.is_file():
        return None, []
    warnings: list[str] = []
    if "django" not in dependencies:
        warnings.append(
            "manage.py is present but Django is not among the declared dependencies; add `django` "
            "to them or the app will not start."
        )
    settings_module = (build_env.get("DJANGO_SETTINGS_MODULE") or "").strip() or _settings_module_from_manage_py(
        manage_py, warnings
    )
    settings = _Settings()
    if settings_module:
        settings_file = module_file(app_dir, settings_module)
        if settings_file is None:
            warnings.append(
                f"the settings module {settings_module} (from manage.py) has no file in the app folder; "
                "collectstatic and the WSGI module are guessed."
            )
            settings.opaque = True
        else:
            _read_settings(app_dir, settings_file, settings_module, settings, warnings, depth=0)
    else:
        settings.opaque = True

    wsgi_module = None
    wsgi_application = settings.values.get("WSGI_APPLICATION")
    if isinstance(wsgi_application, str) and "." in wsgi_application:
        wsgi_module = wsgi_application.rsplit(".", 1)[0]
    elif settings_module:
        candidate = settings_module.split(".", 1)[0] + ".wsgi"
        if module_file(app_dir, candidate) is not None:
            wsgi_module = candidate

    collectstatic = True
    disabled = build_env.get("DISABLE_COLLECTSTATIC", "").strip().lower()
    installed_apps = settings.values.get("INSTALLED_APPS")
    if disabled in _TRUE:
        collectstatic = False
    elif (
        isinstance(installed_apps, list)
        and not settings.opaque
        and not any(app == STATICFILES_APP or app.startswith(STATICFILES_APP + ".") for app in installed_apps)
    ):
        collectstatic = False  # Django's own rule: without the staticfiles app there is no collectstatic
    if collectstatic and not settings.opaque and "STATIC_ROOT" not in settings.values and settings.files:
        warnings.append(
            f"{settings.files[0].relative_to(app_dir).as_posix()} sets no STATIC_ROOT, so `collectstatic` "
            'fails at build. Add `STATIC_ROOT = BASE_DIR / "staticfiles"`, or set DISABLE_COLLECTSTATIC=1 '
            "(scope: build) in the app's env."
        )
    if collectstatic and settings.required_env:
        path, line, name = settings.required_env[0]
        names = ", ".join(dict.fromkeys(n for _, _, n in settings.required_env))
        warnings.append(
            f'{path.relative_to(app_dir).as_posix()}:{line} reads os.environ["{name}"] when the settings load, '
            f"so `collectstatic` fails at build, where run-time secrets are not set (needs: {names}). Read them "
            f'with os.environ.get("{name}") instead; Django only needs them when serving.'
        )
    if "django-heroku" in dependencies:
        warnings.append(
            "django-heroku is abandoned upstream and flashdrive does not need it; replace it with dj-database-url "
            "(DATABASES from DATABASE_URL) and whitenoise (static files), and remove `django_heroku.settings(locals())`."
        )
    literal = (
        {}
        if settings.opaque
        else {
            name: Setting(
                settings.values.get(name),
                settings.where[name][0].relative_to(app_dir).as_posix(),
                settings.where[name][1],
            )
            for name in HOST_SETTINGS
            if name in settings.where
        }
    )
    info = DjangoInfo("manage.py", collectstatic, wsgi_module, settings_module or None, literal)
    warnings.extend(host_warnings(info, ()))
    return info, warnings


HOST_SETTINGS = ("ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER")
FLASHDRIVE_HOSTS_FIX = 'ALLOWED_HOSTS = os.environ.get("FLASHDRIVE_HOSTS", "localhost").split(",")'
_PROXY_HEADER = ["HTTP_X_FORWARDED_PROTO", "https"]


def host_allowed(host: str, allowed: list[str]) -> bool:
    """Django's validate_host: `*`, an exact name, or `.example.com` for it and its subdomains."""
    host = host.lower().rstrip(".")
    for pattern in (p.lower() for p in allowed):
        if pattern == "*" or pattern == host:
            return True
        if pattern.startswith(".") and (host.endswith(pattern) or host == pattern[1:]):
            return True
    return False


def host_warnings(info: DjangoInfo, public_hosts: tuple[str, ...] | list[str]) -> list[str]:
    """Warnings, with the fix, when literal settings would refuse the app's traffic.

    Without `public_hosts` (`flashdrive detect`, which does not know the spec), a fixed
    ALLOWED_HOSTS is reported as a risk; with them (validation), only the hosts it refuses are named.
    """
    warnings = []
    hosts = info.literal.get("ALLOWED_HOSTS")
    if hosts is not None and isinstance(hosts.value, list):
        where = f"{hosts.file}:{hosts.line}"
        listed = "[" + ", ".join(repr(h) for h in hosts.value) + "]"
        fix = (
            f"write `{FLASHDRIVE_HOSTS_FIX}` (flashdrive sets FLASHDRIVE_HOSTS to every name the app "
            "answers to), or add the names to the list"
        )
        if public_hosts:
            refused = [h for h in public_hosts if not host_allowed(h, hosts.value)]
            if refused:
                probes = (
                    " (the health checks ask for the first, so every copy counts as unhealthy)"
                    if refused[0] == public_hosts[0]
                    else ""
                )
                warnings.append(
                    f"{where}: ALLOWED_HOSTS = {listed} refuses {', '.join(refused)}: Django answers "
                    f"400 (DisallowedHost) to every request for {'them' if len(refused) > 1 else 'it'}"
                    f"{probes}; {fix}."
                )
        elif not host_allowed("app.stack.localhost", hosts.value):  # a default domain's shape
            warnings.append(
                f"{where}: ALLOWED_HOSTS is the fixed list {listed}: Django answers 400 to any other "
                f"name, such as the app's default domain <app>.<stack>.localhost; {fix}."
            )
    redirect = info.literal.get("SECURE_SSL_REDIRECT")
    proxy = info.literal.get("SECURE_PROXY_SSL_HEADER")
    if (
        redirect is not None
        and redirect.value is True
        and (proxy is None or (proxy.value is not None and proxy.value != _PROXY_HEADER))
    ):
        warnings.append(
            f"{redirect.file}:{redirect.line}: SECURE_SSL_REDIRECT = True without SECURE_PROXY_SSL_HEADER: "
            "the edge terminates HTTPS and forwards plain HTTP, so Django redirects every request, "
            'HTTPS ones too (a redirect loop); add `SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", '
            '"https")` (the edge sets that header, as Heroku\'s router does).'
        )
    return warnings


def module_file(app_dir: Path, module: str) -> Path | None:
    """The file of a dotted module inside the app folder (module.py or module/__init__.py)."""
    if not module or not all(part.isidentifier() for part in module.split(".")):
        return None
    base = app_dir.joinpath(*module.split("."))
    for candidate in (base.with_name(base.name + ".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _parse(path: Path, warnings: list[str], app_dir: Path) -> ast.Module | None:
    try:
        return ast.parse(read_text(path), filename=str(path))
    except SyntaxError as exc:
        where = path.relative_to(app_dir).as_posix() if path.is_relative_to(app_dir) else str(path)
        warnings.append(
            f"{where}:{exc.lineno}: cannot parse it ({exc.msg}), so flashdrive could not read the "
            "Django settings from it; fix the syntax error."
        )
        return None
    except BuildpackError as exc:
        warnings.append(exc.message)
        return None


def _settings_module_from_manage_py(manage_py: Path, warnings: list[str]) -> str | None:
    tree = _parse(manage_py, warnings, manage_py.parent)
    if tree is None:
        return None
    for node in ast.walk(tree):
        # os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "setdefault"
            and len(node.args) == 2
            and _const(node.args[0]) == "DJANGO_SETTINGS_MODULE"
            and isinstance(_const(node.args[1]), str)
        ):
            return _const(node.args[1])  # type: ignore[return-value]  # a str: checked just above
        # os.environ["DJANGO_SETTINGS_MODULE"] = "shop.settings"
        if isinstance(node, ast.Assign) and isinstance(_const(node.value), str):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and _const(target.slice) == "DJANGO_SETTINGS_MODULE":
                    return _const(node.value)  # type: ignore[return-value]  # a str: checked above
    warnings.append(
        "manage.py does not set a default DJANGO_SETTINGS_MODULE, so the settings were not read; "
        "set DJANGO_SETTINGS_MODULE in the app's env."
    )
    return None


def _const(node: ast.AST) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def _resolve_import(module: str, node: ast.ImportFrom) -> str | None:
    if node.level == 0:
        return node.module
    parts = module.split(".")
    # A module's package is its parent; a package (__init__) counts as its own package for level 1.
    if node.level > len(parts):
        return None
    base = parts[: len(parts) - node.level]
    return ".".join(base + ([node.module] if node.module else []))


def _read_settings(
    app_dir: Path, path: Path, module: str, settings: _Settings, warnings: list[str], depth: int
) -> None:
    if depth > 5 or path in settings.files:
        return
    settings.files.append(path)
    tree = _parse(path, warnings, app_dir)
    if tree is None:
        settings.opaque = True
        return
    # Relative imports in a package's __init__ resolve against the package itself.
    importer = module + ".__init__" if path.name == "__init__.py" else module

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.Try)):
                settings.required_env.extend((path, line, name) for line, name in _environ_subscripts(node))
            if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
                imported = _resolve_import(importer, node)
                imported_file = module_file(app_dir, imported) if imported else None
                if not imported or imported_file is None:
                    settings.opaque = True  # e.g. `from some_library.settings import *`
                else:
                    _read_settings(app_dir, imported_file, imported, settings, warnings, depth + 1)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        settings.values[target.id] = _evaluate(node.value, settings.values)
                        settings.where[target.id] = (path, node.lineno)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                settings.values[node.target.id] = _evaluate(node.value, settings.values)
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                current, extra = settings.values.get(node.target.id), _evaluate(node.value, settings.values)
                settings.values[node.target.id] = (
                    current + extra if isinstance(current, list) and isinstance(extra, list) else None
                )
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                _apply_call(node.value, settings)
            elif isinstance(node, (ast.If, ast.Try)):
                # Both branches count: for "is staticfiles installed?" erring towards yes runs collectstatic,
                # which is what Heroku does by default.
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
                visit(getattr(node, "finalbody", []))
            elif isinstance(node, ast.With):
                visit(node.body)

    visit(tree.body)


def _environ_subscripts(node: ast.AST) -> list[tuple[int, str]]:
    """`os.environ["NAME"]` reads (which raise KeyError when NAME is unset) in a statement."""
    found = []
    for child in ast.walk(node):
        if (
            isinstance(child, ast.Subscript)
            and isinstance(child.ctx, ast.Load)
            and isinstance(child.value, ast.Attribute)
            and child.value.attr == "environ"
            and isinstance(_const(child.slice), str)
        ):
            found.append((child.lineno, _const(child.slice)))
    return found  # type: ignore[return-value]  # each name is a str: checked in the loop


def _apply_call(call: ast.Call, settings: _Settings) -> None:
    func = call.func
    # INSTALLED_APPS.append("x") / .extend([...]) / .insert(0, "x")
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        current = settings.values.get(func.value.id)
        if isinstance(current, list) and func.attr in ("append", "extend", "insert") and call.args:
            value = _evaluate(call.args[-1], settings.values)
            if func.attr == "extend":
                settings.values[func.value.id] = current + value if isinstance(value, list) else None
            else:
                settings.values[func.value.id] = current + [value] if isinstance(value, str) else None
            return
    # django_heroku.settings(locals()), django-split-settings' include(...), globals().update(...):
    # they assign settings we cannot see.
    for node in ast.walk(call):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("locals", "globals", "include", "exec")
        ):
            settings.opaque = True
            return
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "settings"
            and isinstance(node.value, ast.Name)
            and "heroku" in node.value.id
        ):
            settings.opaque = True
            return


def _evaluate(node: ast.AST, known: dict[str, object]) -> object:
    """Strings, booleans and lists of strings, concatenated; anything else is None (unknown)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bool)):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_evaluate(item, known) for item in node.elts]
        if all(isinstance(item, str) for item in items):
            return items
        return None
    if isinstance(node, ast.Name):
        value = known.get(node.id)
        return list(value) if isinstance(value, list) else value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _evaluate(node.left, known), _evaluate(node.right, known)
        if isinstance(left, list) and isinstance(right, list):
            return left + right
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        return None
    return None  # set, but to something not known statically (e.g. `BASE_DIR / "static"`)
