"""`flashdrive ps`: every container of a stack, as the engine reports it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flashdrive.labels import IMAGE_REVISION, ROLE_CRON
from flashdrive.operations.engine import parse_time
from flashdrive.operations.stack import DeployedStack, Member

PROBE_OUTPUT_CHARS = 80


def duration(seconds: float) -> str:
    """Whole units, the two largest: 45s, 3m10s, 2h5m, 3d4h."""
    seconds = int(max(seconds, 0))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def last_probe(health: dict | None, now: datetime) -> dict | None:
    """The last health probe: when, its exit code, and its result in words."""
    if not health or not health.get("Log"):
        return None
    probe = health["Log"][-1]
    output = " ".join((probe.get("Output") or "").split())
    ended = parse_time(probe.get("End"))
    ago = f" {duration((now - ended).total_seconds())} ago" if ended else ""
    code = probe.get("ExitCode")
    if code == 0:
        words = f"passed{ago}"
    elif code == -1 or "exceeded timeout" in output:
        words = f"timed out{ago}"
    else:
        lines = [line for line in (probe.get("Output") or "").strip().splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else f"exit {code}"
        if len(reason) > PROBE_OUTPUT_CHARS:
            reason = reason[: PROBE_OUTPUT_CHARS - 1] + "…"
        words = f"failed{ago}: {reason}"
    return {"exit_code": code, "ended_at": probe.get("End"), "output": output[:500], "words": words}


def size_of(host_config: dict) -> dict:
    memory = host_config.get("Memory") or 0
    nano = host_config.get("NanoCpus") or 0
    nproc = host_config.get("PidsLimit") or None  # set on one-offs; copies have none (see hardening.py)
    return {
        "cpus": nano / 1e9 if nano else None,
        "memory_mib": memory // (1024 * 1024) if memory else None,
        "processes": nproc,
    }


def describe_size(size: dict) -> str:
    parts = []
    if size["cpus"]:
        parts.append(f"{size['cpus']:g} CPU")
    if size["memory_mib"]:
        parts.append(f"{size['memory_mib']} MiB")
    return ", ".join(parts) or "unlimited"


def image_of(client: Any, image_id: str, cache: dict[str, dict]) -> dict:
    """The image's id, registry digest (when it came from or went to a registry) and git commit."""
    if image_id not in cache:
        attrs: dict = {}
        try:
            attrs = client.images.get(image_id).attrs
        except Exception:  # noqa: BLE001 - an image removed since: the container still names its id
            attrs = {}
        digests = attrs.get("RepoDigests") or []
        image_labels = (attrs.get("Config") or {}).get("Labels") or {}
        cache[image_id] = {
            "id": image_id,
            "digest": digests[0].split("@", 1)[-1] if digests else None,
            "tags": attrs.get("RepoTags") or [],
            "revision": image_labels.get(IMAGE_REVISION),
        }
    return cache[image_id]


def row(member: Member, image: dict, now: datetime) -> dict:
    attrs = member.attrs
    state = attrs.get("State") or {}
    health = state.get("Health")
    started, finished = parse_time(state.get("StartedAt")), parse_time(state.get("FinishedAt"))
    return {
        "name": member.display,
        "container": member.name,
        "id": member.id[:12],
        "app": member.app,
        "copy": member.node,
        "role": member.role,
        "state": state.get("Status", "unknown"),
        "exit_code": None if state.get("Running") else state.get("ExitCode"),
        "health": health.get("Status") if health else None,
        "last_probe": last_probe(health, now),
        "restarts": attrs.get("RestartCount", 0),
        "started_at": state.get("StartedAt") if started else None,
        "finished_at": state.get("FinishedAt") if finished and not state.get("Running") else None,
        "uptime_s": int((now - started).total_seconds()) if started and state.get("Running") else None,
        "image": image,
        "size": size_of(attrs.get("HostConfig") or {}),
        "jobs": _jobs(member, now) if member.role == ROLE_CRON else None,
    }


def _jobs(member: Member, now: datetime) -> list[dict]:
    """A scheduler's jobs: each one's last run (start, end, exit code, duration) and next run."""
    from flashdrive.cron.records import scheduler_status

    jobs = []
    for status in scheduler_status(member.container, now):
        last = status.last_run
        jobs.append(
            {
                "name": status.name,
                "schedule": status.schedule,
                "next_run": status.next_run.isoformat(),
                "skipped": status.skipped,
                "last_run": None
                if last is None
                else {
                    "start": last.start,
                    "end": last.end,
                    "exit_code": last.exit_code,
                    "duration_s": last.duration_s,
                    "timed_out": last.timed_out,
                },
            }
        )
    return jobs


def collect(stack: DeployedStack, now: datetime | None = None) -> list[dict]:
    now = now or datetime.now(UTC)
    cache: dict[str, dict] = {}
    return [row(m, image_of(stack.client, m.attrs.get("Image", ""), cache), now) for m in stack.members]


def short_image(image: dict) -> str:
    reference = image["digest"] or image["id"]
    algorithm, _, hexa = reference.partition(":")
    text = f"{algorithm}:{hexa[:12]}" if hexa else reference[:19]
    if image.get("revision"):
        text += f" ({image['revision'][:12]})"
    return text


def status_text(item: dict, now: datetime) -> str:
    if item["state"] == "running":
        return f"up {duration(item['uptime_s'] or 0)}"
    finished = parse_time(item["finished_at"]) if item["finished_at"] else None
    ago = f" {duration((now - finished).total_seconds())} ago" if finished else ""
    if item["state"] == "exited":
        return f"exited ({item['exit_code']}){ago}"
    return item["state"] + ago


def health_text(item: dict) -> str:
    if not item["health"]:
        return "-"
    probe = item["last_probe"]
    return f"{item['health']}, {probe['words']}" if probe else item["health"]


def render_text(stack_name: str, rows: list[dict], now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    header = ("NAME", "ROLE", "STATE", "HEALTH (last probe)", "RESTARTS", "IMAGE", "SIZE")
    table = [header] + [
        (
            r["name"],
            r["role"],
            status_text(r, now),
            health_text(r),
            str(r["restarts"]),
            short_image(r["image"]),
            describe_size(r["size"]),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
    lines = [f"Stack '{stack_name}': {len(rows)} container(s)", ""]
    for line in table:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + "  " + line[-1])
    for item in rows:
        for job in item.get("jobs") or []:
            last = job["last_run"]
            if last is None:
                ran = "never run"
            elif last["end"] is None:
                ran = f"running since {last['start']}"
            else:
                ran = f"last {last['start']} exit {last['exit_code']} ({last['duration_s']:g} s)"
            skipped = f", {job['skipped']} skipped" if job["skipped"] else ""
            lines.append(f"  {item['app']}.{job['name']}  {job['schedule']}  {ran}{skipped}  next {job['next_run']}")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def render_json(stack_name: str, rows: list[dict]) -> str:
    return json.dumps({"stack": stack_name, "containers": rows}, indent=2) + "\n"
