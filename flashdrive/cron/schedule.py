"""Cron schedules: validated and evaluated with cronsim, the same library the scheduler ships.

cronsim (BSD, by the author of Healthchecks.io) is a single pure-Python module with no dependencies
of its own, and it follows Debian cron's rules (day of month OR day of week when both are set).
That is why it is the one here rather than croniter (which pulls in python-dateutil): the Docker
scheduler runs inside the app's image, and one standard-library-only file is all it needs there.

cronsim accepts more than every backend does (seconds, `L`, `W`, `#`; Kubernetes reads day of week
7 as invalid), so a schedule is first held to the five-field syntax that Debian cron, busybox crond
and Kubernetes all share, then handed to cronsim for the ranges and the meaning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

FIELDS = ("minute", "hour", "day of month", "month", "day of week")
# cronsim's error text names the field; its names (with the seconds field it adds) → ours.
_CRONSIM_FIELDS = {"minute": 0, "hour": 1, "day-of-month": 2, "month": 3, "day-of-week": 4}
SHORTHANDS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_SHARED_SYNTAX = re.compile(r"^[0-9A-Za-z*,/-]+$")
_NAMES = {3: "jan feb mar apr may jun jul aug sep oct nov dec", 4: "sun mon tue wed thu fri sat"}


@dataclass(frozen=True)
class ScheduleProblem:
    message: str
    offset: int  # where in the text the bad part starts (0: the whole schedule)
    hint: str


def expand(schedule: str) -> str:
    """The five fields of a schedule (`@daily` → `0 0 * * *`), single-spaced."""
    text = schedule.strip()
    return SHORTHANDS.get(text.lower(), " ".join(text.split()))


def problem(schedule: str) -> ScheduleProblem | None:
    """Why `schedule` is not a five-field UTC cron schedule every backend runs the same, or None."""
    text = schedule.strip()
    lead = len(schedule) - len(schedule.lstrip())
    fields_hint = (
        'five fields: minute hour day-of-month month day-of-week, e.g. "0 4 * * *", or @hourly, @daily, @weekly'
    )
    if text.startswith("@"):
        if text.lower() in SHORTHANDS:
            return None
        return ScheduleProblem(
            f"'{text}' is not a shorthand cron knows",
            lead,
            f'use one of {", ".join(sorted(SHORTHANDS))}, or five fields like "0 4 * * *"',
        )
    spans = [(m.start(), m.group()) for m in re.finditer(r"\S+", schedule)]
    if len(spans) != 5:
        return ScheduleProblem(
            f"it has {len(spans)} field{'' if len(spans) == 1 else 's'}, a schedule has 5", lead, f"write {fields_hint}"
        )
    for index, (offset, field) in enumerate(spans):
        label = FIELDS[index]
        if not _SHARED_SYNTAX.match(field):
            return ScheduleProblem(
                f"the {label} field '{field}' uses syntax not every backend runs",
                offset,
                "use numbers, names, *, ranges (1-5), lists (1,15) and steps (*/10)",
            )
        words = re.findall(r"[A-Za-z]+", field)
        known = _NAMES.get(index, "").split()
        for word in words:
            if word.upper() in ("L", "W", "LW"):
                return ScheduleProblem(
                    f"the {label} field '{field}' uses '{word}', which not every backend runs",
                    offset + field.find(word),
                    "list the days instead, e.g. 28-31" if index == 2 else "use *, numbers and ranges",
                )
            if word.lower() not in known:
                where = f"names are only {' '.join(known)}" if known else "this field takes numbers only"
                return ScheduleProblem(
                    f"the {label} field '{field}' has '{word}', which is not a {label}",
                    offset + field.find(word),
                    where,
                )
        if index == 4 and re.search(r"(^|[,-])7($|[,/-])", field):
            return ScheduleProblem(
                f"the day of week field '{field}' uses 7 for Sunday, which Kubernetes refuses",
                offset,
                "write 0 for Sunday",
            )
    from cronsim import CronSim, CronSimError  # only for specs with cron jobs: kept off a cold start

    try:
        CronSim(expand(schedule), datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        name = str(exc).removeprefix("Bad ").strip()
        bad_field = _CRONSIM_FIELDS.get(name)
        if bad_field is None:
            return ScheduleProblem(f"'{text}' is not a cron schedule ({exc})", lead, f"write {fields_hint}")
        offset, field = spans[bad_field]
        bounds = {0: "0-59", 1: "0-23", 2: "1-31", 3: "1-12 or jan-dec", 4: "0-6 or sun-sat"}[bad_field]
        label = FIELDS[bad_field]
        return ScheduleProblem(
            f"the {label} field '{field}' is not valid",
            offset,
            f"{'an' if label == 'hour' else 'a'} {label} is {bounds}; ranges run upwards (1-5) "
            "and steps are positive (*/10)",
        )
    return None


def next_runs(schedule: str, after: datetime, count: int = 1) -> list[datetime]:
    """The next `count` times (UTC) a valid schedule is due, strictly after `after`."""
    from cronsim import CronSim

    after = after.astimezone(UTC) if after.tzinfo else after.replace(tzinfo=UTC)
    runs = CronSim(expand(schedule), after)
    return [next(runs) for _ in range(count)]


@lru_cache(maxsize=1)
def cronsim_source() -> str:
    """The cronsim module, as shipped next to the Docker scheduler, with its license on top.

    Only the evaluator module travels (`cronsim.py`: standard library only); `explain` is not used.
    """
    from importlib import metadata

    import cronsim.cronsim as module

    distribution = metadata.distribution("cronsim")
    license_text = ""
    for file in distribution.files or []:
        if "LICENSE" in file.name.upper():
            license_text = Path(str(distribution.locate_file(file))).read_text(encoding="utf-8")
            break
    header = [f"# cronsim {distribution.version}, shipped unchanged by flashdrive for its cron scheduler.", "#"]
    header += [f"# {line}".rstrip() for line in license_text.strip().splitlines()]
    return "\n".join(header) + "\n\n" + Path(module.__file__).read_text(encoding="utf-8")
