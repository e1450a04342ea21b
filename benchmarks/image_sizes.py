"""Runtime image size of the buildpack's two-stage build against a single-stage one, per app.

Single-stage means what an app with C extensions needs without the second stage: the image it runs
in is the build image (compilers and -dev headers included). Both are built from the same generated
Dockerfile (the single-stage variant only takes the build image as its runtime base too), with the
e2e stand-in images (tests/e2e/images/build.py) and the host's CA bundle, BuildKit on the local
engine. Images are tagged `realapps-bench/<app>:multi|single` and removed afterwards.

    /work/main/.venv/bin/python benchmarks/image_sizes.py [APP_DIR ...] [--keep]

Without APP_DIR: the fixture apps under tests/e2e/apps/ and the buildpack's pipenv fixture (the
other buildpack fixtures' locks carry placeholder hashes: they are for detection, not for building).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flashdrive.buildpack import detect, render_dockerfile  # noqa: E402

HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
DEFAULT_APPS = [*sorted(p for p in (ROOT / "tests" / "e2e" / "apps").iterdir() if (p / "Procfile").is_file()),
                ROOT / "tests" / "buildpack" / "fixtures" / "pipenv_flask"]


def _images() -> dict[str, str]:
    import importlib.util
    spec = importlib.util.spec_from_file_location("e2e_images_build", ROOT / "tests" / "e2e" / "images" / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.build_all(log=lambda line: None)


def _build(context: Path, dockerfile: str, tag: str) -> float:
    (context / ".flashdrive" / "Dockerfile").write_text(dockerfile)
    started = time.monotonic()
    client = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"  # BuildKit built in
    result = subprocess.run([client, "build", "-f", str(context / ".flashdrive" / "Dockerfile"), "-t", tag, str(context)],
                            capture_output=True, text=True, env={**os.environ, "DOCKER_BUILDKIT": "1"}, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"build of {tag} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return time.monotonic() - started


def _size(tag: str) -> int:
    return int(subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}", tag],
                              capture_output=True, text=True, check=True).stdout)


def measure(app: Path, images: dict[str, str], keep: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="realapps-bench.") as tmp:
        context = Path(tmp) / app.name
        shutil.copytree(app, context, ignore=shutil.ignore_patterns(".flashdrive", "__pycache__"))
        (context / ".flashdrive").mkdir()
        shutil.copy(HOST_CA, context / ".flashdrive" / "ca.pem")
        detection = detect(context)
        multi = render_dockerfile(detection, base_image=images["python"], build_image=images["python_build"],
                                  ca_bundle=".flashdrive/ca.pem")
        single = multi.replace(f"\nFROM {images['python']}\n", f"\nFROM {images['python_build']}\n")
        name = app.name.replace("_", "-")
        tags = {kind: f"realapps-bench/{name}:{kind}" for kind in ("multi", "single")}
        seconds = {"multi": _build(context, multi, tags["multi"]), "single": _build(context, single, tags["single"])}
        sizes = {kind: _size(tag) for kind, tag in tags.items()}
        compiler = subprocess.run(["docker", "run", "--rm", "--entrypoint", "sh", tags["multi"], "-c",
                                   "command -v gcc cc || true"], capture_output=True, text=True).stdout.strip()
        if not keep:
            subprocess.run(["docker", "image", "rm", *tags.values()], capture_output=True)
    return {"app": app.name, "manager": detection.package_manager,
            "multi_mb": round(sizes["multi"] / 1e6), "single_mb": round(sizes["single"] / 1e6),
            "saved_pct": round(100 * (1 - sizes["multi"] / sizes["single"])),
            "build_s": {k: round(v, 1) for k, v in seconds.items()}, "compiler_in_runtime": compiler or None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("apps", nargs="*", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the images")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    images = _images()
    rows = [measure(app.resolve(), images, args.keep) for app in (args.apps or DEFAULT_APPS)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'app':<24} {'manager':<8} {'multi MB':>9} {'single MB':>10} {'saved':>6}  compiler in runtime")
    for row in rows:
        print(f"{row['app']:<24} {row['manager']:<8} {row['multi_mb']:>9} {row['single_mb']:>10} "
              f"{row['saved_pct']:>5}%  {row['compiler_in_runtime'] or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
