"""Detect: the step between validation and resolve. The buildpack reads each app's source folder
(one detection per folder, shared by the apps built from it), and what it finds that contradicts
the spec is a problem at the spec's own keys: a Procfile without the app's process, gunicorn that
is not a dependency, Django settings that would refuse the app's hosts. Its problems join
validation's, so one run reports both (flashdrive/pipeline.py reads the steps in order).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from flashdrive.spec.contract import AppSpec, ScopedValue
from flashdrive.spec.loader import Validated
from flashdrive.spec.rules import _Checker

if TYPE_CHECKING:
    from flashdrive.buildpack.detection import Detection
    from flashdrive.buildpack.django import DjangoInfo

Detections = dict[str, "Detection"]  # by app name, for the apps built from source


def detect(validated: Validated) -> Detections:
    """A detection for every app whose source folder passed validation; what contradicts the spec
    is added to the validation's problems."""
    if validated.loaded is None:
        return {}
    return _Detector(validated.loaded, validated.problems).run_on(validated.sources)


class _Detector(_Checker):
    """The checker's positions and wording, for what the buildpack finds."""

    def run_on(self, sources: Mapping[str, Path]) -> Detections:
        detected: dict[Path, Detection | None] = {}  # by folder: None when it cannot be built
        found: Detections = {}
        for name, folder in sources.items():
            app = self.spec.apps[name]
            if folder not in detected:
                detected[folder] = self.detect(name, app, folder)
            detection = detected[folder]
            if detection is not None:
                found[name] = detection
                self.compare(name, app, detection)
        return found

    def detect(self, name: str, app: AppSpec, folder: Path) -> Detection | None:
        from flashdrive.buildpack import BuildpackError, detect

        build_env = {k: v for k, v in app.env.items() if isinstance(v, str) and "${" not in v}
        build_env.update(
            {
                k: v.value
                for k, v in app.env.items()
                if isinstance(v, ScopedValue) and v.scope != "run" and "${" not in v.value
            }
        )
        try:
            return detect(folder, build_env=build_env)
        except BuildpackError as exc:
            problem = exc.to_problem()
            if problem.mark is None:
                self.error(("apps", name, "source"), problem.message, problem.hint)
            else:
                self.problems.add(problem)
            return None

    def compare(self, name: str, app: AppSpec, detection: Detection) -> None:
        """What the folder says against what the spec says."""
        from flashdrive.buildpack import runs_gunicorn

        assert app.source is not None
        if app.type == "web" and detection.django is not None:
            self.django_hosts(name, app, detection.django)
        process = app.process_name
        where = ("apps", name, "process") if app.process else ("apps", name)
        procfile = posixpath.join(app.source, "Procfile")
        if process not in detection.processes:
            have = ", ".join(detection.processes) or "none"
            hint = (
                f"add `{process}: <command>` to {procfile}, or set `process:` to one of: {have}"
                if app.type == "worker" or detection.processes
                else f"add `{process}: <command>` to {procfile}"
            )
            self.error(where, f"{procfile} has no '{process}' process (it has: {have})", hint, key=True)
            return
        if runs_gunicorn(detection.processes[process]) and "gunicorn" not in detection.dependencies:
            files = ", ".join(posixpath.join(app.source, f) for f in detection.dependency_files)
            self.error(
                where,
                f"the '{process}' process runs gunicorn, but gunicorn is not among the dependencies in {files}",
                f"add gunicorn to {files}",
                key=True,
            )

    def django_hosts(self, name: str, app: AppSpec, django: DjangoInfo) -> None:
        """Warn when the app's literal Django settings would refuse the names it is reached by."""
        from flashdrive.buildpack.django import host_warnings

        hosts = [d if isinstance(d, str) else d.host for d in app.domains]
        hosts.append(f"{name}.{self.spec.stack}.{self.spec.tls.default_domain}")
        for message in host_warnings(django, hosts):
            self.warning(("apps", name, "source"), message)
