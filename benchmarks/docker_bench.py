"""The Docker figures: the example app's image rebuilt after a source-only change over its cold
build, the time from nothing to the first HTTPS 200 of the example stack, and a code deploy under
load (the requests that failed, the time from `up` to the new version serving) — through the e2e
harness (the real program, its registrations created by the provider double) and by plain Docker
API calls (raw_docker.py), the floor.

Works on a copy of examples/django-shop in a temporary folder, under the stack name `bench`, with
the e2e stand-in images (tests/e2e/images/build.py) and the host's CA bundle; removes every
container, network and volume labelled `flashdrive.stack=bench` and every image it tagged.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
E2E = ROOT / "tests" / "e2e"
STACK = "bench"
HOST = f"web.{STACK}.localhost"
COLD_TAG = "flashdrive-bench/app:cold"
REBUILD_TAG = "flashdrive-bench/app:rebuild"
EDGE_ROOT_CA = "/data/caddy/pki/authorities/local/root.crt"
VERSION_PATH = "/static/store/version.txt"  # a file of the app's source, served by WhiteNoise
CUSTOM_DOMAIN = ("apps:\n  web:\n    domains:\n      - host: shop.example.com\n"
                 "        certificate: {config: shopCertPem}\n        key: {config: shopKeyPem}\n")

if str(E2E) not in sys.path:
    sys.path.insert(0, str(E2E))  # harness.py, provider.py and conftest.py import each other by name


class DockerUnavailable(Exception):
    pass


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    from provider import docker  # the e2e suite's docker CLI call, with its error messages

    return docker(*args, check=check)


class DockerBench:
    def __init__(self, log=print):
        from conftest import load_builder

        self.log = log
        self.builder = load_builder()
        if not self.builder.engine_answers():
            raise DockerUnavailable("no Docker engine answers (tests/e2e/engine.sh starts one)")
        from deploy import loopback_address

        # The stack's 80/443 on its own loopback address: other stacks on the engine never clash.
        self.address = loopback_address(STACK)
        self.images = self.builder.build_all(log=lambda line: log(f"[images] {line}"))
        self.folder = Path(tempfile.mkdtemp(prefix="flashdrive-bench-"))
        shutil.copytree(ROOT / "examples" / "django-shop", self.folder / "shop",
                        ignore=shutil.ignore_patterns(".flashdrive", "__pycache__", "staticfiles", "media"))
        self.spec = self.folder / "shop" / "flashdrive.yaml"
        from harness import self_signed, write_overlay

        cert, key = self_signed("shop.example.com", self.folder)
        from flashdrive.credentials import FULL_CONFIG_KEY, new_master_key

        # The master key every generated credential derives from, as `flashdrive up` sets it.
        self.config = {"flashdrive:shopCertPem": cert, "flashdrive:shopKeyPem": key, FULL_CONFIG_KEY: new_master_key()}
        self.overlay = write_overlay(self.folder, STACK, self.images, CUSTOM_DOMAIN)
        self.tags: set[str] = {COLD_TAG, REBUILD_TAG}
        self.changes = 0

    # -- builds ------------------------------------------------------------------------------
    def _build_command(self) -> tuple[list[str], str]:
        """What the provider double runs for the app's docker:index/image:Image (same flags)."""
        from flashdrive.source_image import write_build_files
        from flashdrive.model import resolve
        from flashdrive.pipeline import check_spec

        model = resolve(*check_spec(self.spec, self.overlay), None)
        (build,) = model.builds.values()
        dockerfile = write_build_files(build)
        command = ["build", "--file", str(dockerfile)]
        for key, value in sorted(dict(build.build_args).items()):
            command += ["--build-arg", f"{key}={value}"]
        return command, str(build.context)

    def _build(self, tag: str, *extra: str) -> float:
        command, context = self._build_command()
        started = time.perf_counter()
        client = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
        result = subprocess.run([client, *command, *extra, "--tag", tag, context], capture_output=True, text=True,
                                timeout=1800, env={"DOCKER_BUILDKIT": "1", "PATH": "/usr/local/bin:/usr/bin:/bin"})
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"image build failed:\n{(result.stderr + result.stdout)[-3000:]}")
        return seconds

    def _change_source(self) -> None:
        self.changes += 1
        views = self.folder / "shop" / "app" / "store" / "views.py"
        # Unique across runs too: BuildKit's cache is keyed by content, and a change seen before is no change.
        views.write_text(views.read_text() + f"\n# benchmark source change {self.changes} {uuid.uuid4().hex}\n")

    def rebuild(self, *, colds: int, rebuilds: int) -> dict:
        """Cold: `--no-cache` (every step runs, pip downloads included). Rebuild: one source file
        changed since the last build, the cache warm."""
        cold, warm = [], []
        for _ in range(colds):
            cold.append(self._build(COLD_TAG, "--no-cache"))
            self.log(f"cold build: {cold[-1]:.1f}s")
            for _ in range(rebuilds):
                self._change_source()
                warm.append(self._build(REBUILD_TAG))
                self.log(f"rebuild after a source change: {warm[-1]:.1f}s")
        return {"cold_build_s": statistics.median(cold), "rebuild_s": statistics.median(warm),
                "rebuild_ratio": statistics.median(warm) / statistics.median(cold)}

    # -- from nothing to the first HTTPS 200 -------------------------------------------------
    def _clean(self) -> None:
        from deploy import destroy_stack

        destroy_stack(stack=STACK)

    def _first_200(self, started: float, read_ca, address: str = "127.0.0.1") -> float:
        from harness import https

        ca = None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if ca is None:
                    ca = read_ca()
                if ca is not None:
                    status, _, _ = https(HOST, "/", ca_pem=ca, timeout=5, address=address)
                    if status == 200:
                        return time.perf_counter() - started
            except Exception:  # noqa: BLE001 - not up yet: poll again
                pass
            time.sleep(0.05)
        raise RuntimeError(f"https://{HOST}/ did not answer 200 within 180 s")

    def first_https_harness(self) -> dict:
        from harness import Deployment
        from provider import docker

        self._clean()
        started = time.perf_counter()
        deployment = Deployment(STACK, self.spec, self.overlay, dict(self.config), images=self.images)
        try:
            deployment.deploy()
            deployed = time.perf_counter() - started

            def read_ca():
                pem = docker("exec", f"{STACK}-edge", "cat", "/data/caddy/pki/authorities/local/root.crt",
                             check=False).stdout
                return pem if "BEGIN CERTIFICATE" in pem else None
            seconds = self._first_200(started, read_ca, deployment.address)
        finally:
            if deployment.last is not None:
                self.tags.update(deployment.last.build_seconds)
            self._clean()
        builds = deployment.last.build_seconds if deployment.last else {}
        self.log(f"harness: deployed in {deployed:.1f}s, first HTTPS 200 at {seconds:.1f}s "
                 f"(image build from cache: {sum(builds.values()):.1f}s)")
        return {"seconds": seconds, "deploy_s": deployed, "build_s": sum(builds.values())}

    def first_https_raw(self) -> dict:
        import raw_docker
        from flashdrive.pipeline import run_pipeline

        specs = run_pipeline(self.spec, self.overlay,
                             build_in=lambda checked, program: raw_docker.container_specs(program, self.config))
        app_image = next(tag for tag in specs.images.values() if tag.startswith("flashdrive/"))
        if _docker("image", "inspect", app_image, check=False).returncode != 0:
            self._build(app_image)  # not timed: the floor starts from the image
            self.tags.add(app_image)
        api = raw_docker.DockerAPI()
        self._clean()
        started = time.perf_counter()
        try:
            marks = raw_docker.deploy(specs, api, publish_address=self.address)
            seconds = self._first_200(started, lambda: api.read_file(f"{STACK}-edge", EDGE_ROOT_CA), self.address)
        finally:
            self._clean()
        self.log(f"raw API: edge started at {marks['edge_started']:.1f}s, first HTTPS 200 at {seconds:.1f}s {marks}")
        return {"seconds": seconds, "marks": marks}

    # -- a code deploy under load -----------------------------------------------------------
    def _new_version(self) -> str:
        """A source change the edge can tell: a static file with a new token (collected at build)."""
        self._change_source()
        token = uuid.uuid4().hex
        (self.folder / "shop" / "app" / "store" / "static" / "store" / "version.txt").write_text(token)
        return token

    def _watch(self, token: str, ca: str, started: float) -> tuple[threading.Thread, dict]:
        """A thread that polls the edge until the new version's token is served; `found["seconds"]`
        is then the time since `started`."""
        from harness import https

        found: dict = {}

        def poll() -> None:
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                try:
                    status, _, body = https(HOST, VERSION_PATH, ca_pem=ca, timeout=5, address=self.address)
                    if status == 200 and body.decode().strip() == token:
                        found["seconds"] = time.perf_counter() - started
                        return
                except Exception:  # noqa: BLE001 - not served yet: poll again
                    pass
                time.sleep(0.1)

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        return thread, found

    def _under_load(self, ca: str, deploy, prepare=lambda: None) -> dict:
        """`deploy()` after a code change (and `prepare()`, untimed), under the e2e suite's bounded
        load on `/` (a page that reads and writes the database), until the new version is served."""
        from harness import BoundedLoad

        token = self._new_version()
        prepare()
        with BoundedLoad(HOST, ca, self.address, path="/", max_seconds=900) as load:
            started = time.perf_counter()
            watch, found = self._watch(token, ca, started)
            deploy()
            deployed = time.perf_counter() - started
            watch.join(timeout=900)
        if "seconds" not in found:
            raise RuntimeError("the new version was never served")
        return {"seconds": found["seconds"], "deploy_s": deployed, "requests": len(load.results),
                "failed": len(load.failures), "failures": sorted({str(f) for f in load.failures})[:3]}

    def code_deploy_harness(self) -> dict:
        from harness import Deployment

        self._clean()
        deployment = Deployment(STACK, self.spec, self.overlay, dict(self.config), images=self.images)
        try:
            deployment.deploy()
            ca = deployment.last.ca_pem.read_text()
            self._first_200(time.perf_counter(), lambda: ca, self.address)
            result = self._under_load(ca, deployment.deploy)
        finally:
            if deployment.last is not None:
                self.tags.update(deployment.last.build_seconds)
            self._clean()
        self.log(f"harness code deploy: new version served at {result['seconds']:.1f}s (up took "
                 f"{result['deploy_s']:.1f}s), {result['failed']} of {result['requests']} requests failed "
                 f"{result['failures']}")
        return result

    def code_deploy_raw(self) -> dict:
        import raw_docker
        from flashdrive.pipeline import run_pipeline

        def specs():
            return run_pipeline(self.spec, self.overlay,
                                build_in=lambda checked, program: raw_docker.container_specs(program, self.config))

        old = specs()
        app_image = next(tag for tag in old.images.values() if tag.startswith("flashdrive/"))
        self._build(app_image)  # not timed: the first deploy starts from the image
        self.tags.add(app_image)
        api = raw_docker.DockerAPI()
        self._clean()
        try:
            raw_docker.deploy(old, api, publish_address=self.address)
            ca = None
            deadline = time.monotonic() + 60
            while ca is None and time.monotonic() < deadline:  # Caddy writes its root when it starts
                ca = api.read_file(f"{STACK}-edge", EDGE_ROOT_CA)
                time.sleep(0.2)
            if ca is None:
                raise RuntimeError("the edge wrote no root certificate")
            self._first_200(time.perf_counter(), lambda: ca, self.address)
            new: list = []

            def deploy() -> None:
                self._build(app_image)  # `up` builds too
                raw_docker.roll(old, new[0], api)

            # What to create comes from the program: bookkeeping, not a step of the deploy, so untimed.
            result = self._under_load(ca, deploy, prepare=lambda: new.append(specs()))
        finally:
            self._clean()
        self.log(f"raw code deploy: new version served at {result['seconds']:.1f}s, {result['failed']} of "
                 f"{result['requests']} requests failed {result['failures']}")
        return result

    def close(self) -> None:
        self._clean()
        for tag in sorted(self.tags):
            _docker("image", "rm", tag, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def run(*, quick: bool, log=print) -> dict:
    """All Docker figures. Raises DockerUnavailable when there is no engine to measure on."""
    bench = DockerBench(log=log)
    try:
        figures = bench.rebuild(colds=1 if quick else 2, rebuilds=2 if quick else 3)
        harness, raw = [], []
        for _ in range(1 if quick else 3):  # interleaved: harness, raw, harness, raw...
            harness.append(bench.first_https_harness())
            raw.append(bench.first_https_raw())
        figures["first_https_s"] = statistics.median(h["seconds"] for h in harness)
        figures["raw_first_https_s"] = statistics.median(r["seconds"] for r in raw)
        figures["first_https_ratio"] = figures["first_https_s"] / figures["raw_first_https_s"]
        figures["first_https_build_s"] = statistics.median(h["build_s"] for h in harness)
        # One code deploy each: the failures are counts, not timings, and one deploy is minutes.
        harness_deploy, raw_deploy = bench.code_deploy_harness(), bench.code_deploy_raw()
        figures.update(
            code_deploy_failed=harness_deploy["failed"], code_deploy_requests=harness_deploy["requests"],
            code_deploy_s=harness_deploy["seconds"], code_deploy_up_s=harness_deploy["deploy_s"],
            raw_code_deploy_failed=raw_deploy["failed"], raw_code_deploy_requests=raw_deploy["requests"],
            raw_code_deploy_s=raw_deploy["seconds"],
            code_deploy_ratio=harness_deploy["seconds"] / raw_deploy["seconds"])
        return figures
    finally:
        bench.close()
