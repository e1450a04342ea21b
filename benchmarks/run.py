"""flashdrive's benchmarks, every figure in one run.

    python benchmarks/run.py [--quick] [--json] [--no-docker]

A table by default; `--json` prints one JSON object instead (progress goes to stderr). `--quick`
plans N=50 apps instead of 200 and repeats less; `--no-docker` skips the figures that need a
Docker engine (they are then null), as they also are when no engine answers.

Figures (several repetitions, medians; each plan figure in a fresh process):
- plan_overhead_ratio: `flashdrive plan` of a generated N-app stack over a replay program that
  registers exactly the plan's resources as bare resources under the same mock monitor (the
  floor), interleaved A B A B, median of the pairs' ratios.
- plan_scaling_ratio: plan time for 10×N apps over N apps (linear is 10).
- cold_start_ratio: a fresh process planning a one-app stack over a fresh process that only
  imports pulumi and pulumi_docker. cold_start_instructions_ratio: the same two processes'
  instructions as valgrind's callgrind counts them (when valgrind is installed, not with --quick;
  None otherwise):
  deterministic, so it shows a change of a few percent that the noisy wall clock of a shared
  machine hides (it runs higher than the time ratio: imports wait on memory, which it ignores).
- peak_memory_mb: tracemalloc's peak during the N-app plan.
- rebuild_ratio: the example app's image rebuilt after a source-only change over its cold build.
- first_https_s / raw_first_https_s: from nothing to the first HTTPS 200 of the example stack,
  through the e2e harness, and by plain Docker API calls (the floor).
- code_deploy_failed: requests that failed during a code deploy of the example stack (a bounded
  load on `/` through the edge); code_deploy_s / raw_code_deploy_s: from `up` (its image build
  included) to the new version serving, and the same steps by plain Docker calls (build, release,
  new copies beside the old until healthy, old ones stopped gracefully), with their failures too.
Goals are to reach, not asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from stacks import write_spec  # noqa: E402

GOALS = {  # figure: (goal, lower is better)
    "plan_overhead_ratio": 1.10,
    "plan_scaling_ratio": 11.0,
    "cold_start_ratio": 1.3,
    "rebuild_ratio": 0.2,
    "first_https_ratio": 1.2,
    "code_deploy_failed": 0,
}
KEYS = ("plan_overhead_ratio", "plan_scaling_ratio", "cold_start_ratio", "cold_start_instructions_ratio", "peak_memory_mb",
        "rebuild_ratio", "first_https_s", "raw_first_https_s", "code_deploy_failed", "code_deploy_s",
        "raw_code_deploy_s")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def figure_process(*args: str) -> dict:
    """One figure of plan_bench.py, in a fresh interpreter."""
    result = subprocess.run([sys.executable, str(HERE / "plan_bench.py"), *args], capture_output=True, text=True,
                            cwd=ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"plan_bench.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def process_seconds(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    return time.perf_counter() - started


def cold_start(spec: Path, reps: int, *, count_instructions: bool = True) -> dict:
    plan = [sys.executable, "-m", "flashdrive", "plan", str(spec)]
    imports = [sys.executable, "-c", "import pulumi, pulumi_docker"]
    # Both with bytecode, as an installed package has it (PYTHONDONTWRITEBYTECODE would make
    # flashdrive, and only it, compile its source in every run): the warm-up writes it into a
    # scratch PYTHONPYCACHEPREFIX, so the tree stays clean, and warms the OS's file cache.
    with tempfile.TemporaryDirectory(prefix="flashdrive-bench-pyc-") as pycache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = pycache
        process_seconds(plan, env), process_seconds(imports, env)
        plans, bare, ratios = [], [], []
        for _ in range(reps):
            a, b = process_seconds(plan, env), process_seconds(imports, env)
            plans.append(a)
            bare.append(b)
            ratios.append(a / b)
        counted = {}
        if count_instructions and _which("valgrind"):
            try:
                counted = {"cold_start_instructions": instructions(plan, env),
                           "import_pulumi_instructions": instructions(imports, env)}
            except RuntimeError as failed:  # the other figures still count
                log(f"instruction count skipped: {failed}")
            else:
                counted["cold_start_instructions_ratio"] = (counted["cold_start_instructions"]
                                                            / counted["import_pulumi_instructions"])
    return {"cold_start_ratio": statistics.median(ratios), "cold_start_s": statistics.median(plans),
            "import_pulumi_s": statistics.median(bare), "cold_start_instructions_ratio": None, **counted}


def instructions(command: list[str], env: dict[str, str]) -> int:
    """The instructions a process executes, as callgrind counts them (about 50 times slower than a run)."""
    result = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    found = re.search(r"==\d+== Collected : (\d+)", result.stderr)
    if result.returncode != 0 or found is None:
        raise RuntimeError(f"valgrind printed no instruction count:\n{result.stderr[-2000:]}")
    return int(found.group(1))


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    docker = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True,
                            text=True).stdout.strip() if _which("docker") else ""
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": memory_gib, "python": platform.python_version(),
            "os": platform.platform(), "docker": docker or None}


def _which(name: str) -> bool:
    from shutil import which

    return which(name) is not None


def run(*, quick: bool, docker: bool) -> dict:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="flashdrive-bench-specs-") as folder:
        figures = _run_in(Path(folder), quick=quick, docker=docker)
    figures["seconds"] = time.perf_counter() - started
    return figures


def _run_in(folder: Path, *, quick: bool, docker: bool) -> dict:
    n = 50 if quick else 200
    small, one, big = write_spec(folder, n), write_spec(folder, 1), write_spec(folder, 10 * n)
    figures: dict = {"quick": quick, "n_apps": n, "machine": machine()}

    log(f"plan overhead: {n} apps, plan and replay interleaved")
    overhead = figure_process("overhead", str(small), str(3 if quick else 5))
    figures.update(plan_overhead_ratio=overhead["ratio"], plan_s=overhead["plan_s"], replay_s=overhead["replay_s"],
                   typed_replay_s=overhead["typed_replay_s"], resources=overhead["resources"],
                   plan_overhead_ratio_typed=overhead["plan_s"] / overhead["typed_replay_s"])

    log(f"plan scaling: {n} and {10 * n} apps")
    base = figure_process("plan", str(small), str(3), str(one))
    large = figure_process("plan", str(big), str(2), str(one))
    figures.update(plan_scaling_ratio=large["plan_s"] / base["plan_s"], plan_n_s=base["plan_s"],
                   plan_10n_s=large["plan_s"])

    log("cold start: fresh processes")
    figures.update(cold_start(one, 5 if quick else 10, count_instructions=not quick))  # callgrind: ~40 s

    log(f"peak memory: {n} apps under tracemalloc")
    memory = figure_process("memory", str(small))
    figures.update(peak_memory_mb=memory["peak_memory_mb"], max_rss_mb=memory["max_rss_mb"])

    docker_keys = ("rebuild_ratio", "first_https_s", "raw_first_https_s", "first_https_ratio", "cold_build_s",
                   "rebuild_s", "first_https_build_s", "code_deploy_failed", "code_deploy_requests", "code_deploy_s",
                   "code_deploy_up_s", "raw_code_deploy_failed", "raw_code_deploy_requests", "raw_code_deploy_s",
                   "code_deploy_ratio")
    figures.update(dict.fromkeys(docker_keys))
    if not docker:
        figures["docker_skipped"] = "--no-docker"
    else:
        import docker_bench

        try:
            log("docker: cold build, rebuilds, first HTTPS, a code deploy under load (harness and raw API)")
            figures.update(docker_bench.run(quick=quick, log=log))
        except docker_bench.DockerUnavailable as reason:
            figures["docker_skipped"] = str(reason)
            log(f"docker figures skipped: {reason}")
    return figures


def table(figures: dict) -> str:
    def value(key: str, unit: str = "") -> str:
        v = figures.get(key)
        if isinstance(v, int) and not isinstance(v, bool):  # counts
            return f"{v}{unit}"
        return "—" if v is None else f"{v:.2f}{unit}"

    def goal(key: str) -> str:
        if key not in GOALS:
            return ""
        v = figures.get(key)
        mark = "" if v is None else (" met" if v <= GOALS[key] else " MISSED")
        return f"≤ {GOALS[key]:g}{mark}"

    n = figures["n_apps"]
    rows = [
        ("plan_overhead_ratio", f"plan {n} apps / replay of its {figures['resources']} resources "
                                f"({value('plan_s', ' s')} / {value('replay_s', ' s')})", "plan_overhead_ratio"),
        ("plan_overhead_ratio_typed", f"plan / replay with the SDK classes' declared outputs "
                                      f"({value('typed_replay_s', ' s')})", None),
        ("plan_scaling_ratio", f"plan {10 * n} apps / {n} apps ({value('plan_10n_s', ' s')} / "
                               f"{value('plan_n_s', ' s')})", "plan_scaling_ratio"),
        ("cold_start_ratio", f"fresh `flashdrive plan` of 1 app / `import pulumi, pulumi_docker` "
                             f"({value('cold_start_s', ' s')} / {value('import_pulumi_s', ' s')})", "cold_start_ratio"),
        ("cold_start_instructions_ratio", "the same two processes' instructions (callgrind; — without valgrind)", None),
        ("peak_memory_mb", f"tracemalloc peak, plan of {n} apps (max RSS {value('max_rss_mb', ' MB')})", None),
        ("rebuild_ratio", f"rebuild after a source change / cold build ({value('rebuild_s', ' s')} / "
                          f"{value('cold_build_s', ' s')})", "rebuild_ratio"),
        ("first_https_s", f"nothing → first HTTPS 200, e2e harness (app image from cache: "
                          f"{value('first_https_build_s', ' s')})", None),
        ("raw_first_https_s", "the same containers by plain Docker API calls", None),
        ("first_https_ratio", "harness / raw", "first_https_ratio"),
        ("code_deploy_failed", f"failed requests of {value('code_deploy_requests')} during a code deploy, "
                               f"harness (raw: {value('raw_code_deploy_failed')} of "
                               f"{value('raw_code_deploy_requests')})", "code_deploy_failed"),
        ("code_deploy_s", f"`up` of a code change → the new version serving, harness (`up` took "
                          f"{value('code_deploy_up_s', ' s')})", None),
        ("raw_code_deploy_s", "the same steps by plain Docker calls", None),
        ("code_deploy_ratio", "harness / raw", None),
    ]
    width = max(len(key) for key, _, _ in rows)
    lines = [f"{'figure'.ljust(width)}  {'value':>8}  {'goal':<14}  what", "-" * (width + 80)]
    for key, what, goal_key in rows:
        lines.append(f"{key.ljust(width)}  {value(key):>8}  {goal(goal_key) if goal_key else '':<14}  {what}")
    m = figures["machine"]
    lines.append("")
    lines.append(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}, "
                 f"Docker {m['docker'] or 'none'}; {'--quick, ' if figures['quick'] else ''}"
                 f"{figures['seconds']:.0f} s")
    if figures.get("docker_skipped"):
        lines.append(f"docker figures skipped: {figures['docker_skipped']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N=50 apps, fewer repetitions (about 3 minutes)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--no-docker", action="store_true", help="skip the figures that need a Docker engine")
    args = parser.parse_args(argv)
    figures = run(quick=args.quick, docker=not args.no_docker)
    print(json.dumps(figures, indent=2, sort_keys=True) if args.json else table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
