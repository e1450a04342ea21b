"""How every fuzzer of the suite explores: a new seed each run, within an example and time budget,
and the seed printed on failure so the run can be replayed.

    FLASHDRIVE_FUZZ_SEED=N        replay a failed run (the failure's message says N)
    FLASHDRIVE_FUZZ_EXAMPLES=N    examples per fuzzer (default 200; CI runs more)
    FLASHDRIVE_FUZZ_SECONDS=S     time budget per fuzzer (default 60); past it, examples are skipped

Usage:

    @fuzz
    @given(...)
    def test_x(value):
        with example("test_x"):
            ...
"""

from __future__ import annotations

import contextlib
import os
import random
import time

from hypothesis import HealthCheck, reject, seed, settings
from hypothesis.errors import UnsatisfiedAssumption

SEED = int(os.environ.get("FLASHDRIVE_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
EXAMPLES = int(os.environ.get("FLASHDRIVE_FUZZ_EXAMPLES") or 200)
SECONDS = float(os.environ.get("FLASHDRIVE_FUZZ_SECONDS") or 60)

_started: dict[str, float] = {}


def fuzz(test):
    """Hypothesis settings for exploring (not a fixed derandomized corpus) within the budget."""
    return seed(SEED)(settings(
        max_examples=EXAMPLES, deadline=None, derandomize=False, database=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                               HealthCheck.function_scoped_fixture],
    )(test))


@contextlib.contextmanager
def example(fuzzer: str):
    """One example of `fuzzer`: skipped once the fuzzer has spent its SECONDS (rejected examples
    are cheap and end the run; those already run stand); a failure carries the replay seed."""
    started = _started.setdefault(fuzzer, time.monotonic())
    if time.monotonic() - started > SECONDS:
        reject()
    try:
        yield
    except UnsatisfiedAssumption:
        raise
    except BaseException as exc:
        exc.add_note(f"replay this fuzz run with FLASHDRIVE_FUZZ_SEED={SEED}")
        raise
