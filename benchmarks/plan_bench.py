"""The plan figures, each measured in a fresh process (`python benchmarks/plan_bench.py FIGURE ...`
prints one JSON object), so one figure's heap never weighs on another's.

    overhead SPEC REPS   `flashdrive plan SPEC` (in-process CLI, output discarded) and the replay of its
                         plan, interleaved A B A B; the ratio of each pair
    plan SPEC REPS WARM  `flashdrive plan SPEC` alone, REPS times, after one warm-up plan of WARM
    memory SPEC          tracemalloc's peak during one plan of SPEC, and the process's max RSS
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
# The flashdrive of this checkout, not whichever one is installed (an editable install may point
# at another checkout).
if str(HERE.parent) not in sys.path:
    sys.path.insert(1, str(HERE.parent))


def run_cli_plan(spec: str) -> float:
    """Seconds of `flashdrive plan SPEC` run in this process; what it prints is discarded."""
    from flashdrive.cli.main import main

    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(["plan", spec])
    seconds = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"flashdrive plan {spec} exited with {code}")
    return seconds


def overhead(spec: str, reps: int) -> dict:
    from replay import replay_program

    from flashdrive.plan import capture, plan_spec

    plan = plan_spec(spec)
    bare, typed = replay_program(plan), replay_program(plan, typed=True)
    run_cli_plan(spec)  # warm-up: imports, caches
    capture(bare)
    plans, replays, ratios, typed_times = [], [], [], []
    for _ in range(reps):
        a = run_cli_plan(spec)
        started = time.perf_counter()
        capture(bare)
        b = time.perf_counter() - started
        plans.append(a)
        replays.append(b)
        ratios.append(a / b)
    for _ in range(max(1, reps // 2)):
        started = time.perf_counter()
        capture(typed)
        typed_times.append(time.perf_counter() - started)
    return {"resources": len(plan.resources), "plan_s": statistics.median(plans),
            "replay_s": statistics.median(replays), "ratio": statistics.median(ratios),
            "typed_replay_s": statistics.median(typed_times)}


def plan_times(spec: str, reps: int, warm_up: str) -> dict:
    run_cli_plan(warm_up)
    times = [run_cli_plan(spec) for _ in range(reps)]
    return {"plan_s": statistics.median(times), "times": times}


def memory(spec: str) -> dict:
    from flashdrive.plan import plan_spec

    plan_spec(Path(spec))  # imports and one-time caches are not the plan's
    tracemalloc.start()
    plan_spec(Path(spec))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"peak_memory_mb": peak / 2**20,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv: list[str]) -> int:
    figure, spec, *rest = argv
    if figure == "overhead":
        result = overhead(spec, int(rest[0]))
    elif figure == "plan":
        result = plan_times(spec, int(rest[0]), rest[1])
    elif figure == "memory":
        result = memory(spec)
    else:
        raise SystemExit(f"unknown figure {figure!r}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
