"""What every plan format says about a preview: read from the stack output `preview`, which both
backends export from the resolved model (flashdrive/model/preview.py, `ResolvedPreview.describe`),
so a plan read back from JSON says the same."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flashdrive.plan.plan import Plan


def preview_of(plan: Plan) -> Mapping[str, Any] | None:
    found = plan.outputs.get("preview") if isinstance(plan.outputs, Mapping) else None
    return found if isinstance(found, Mapping) else None


def dropped_domains(preview: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(host, app) of the custom domains the preview does not have."""
    dropped = preview.get("dropped_domains")
    return sorted((str(h), str(a)) for h, a in dropped.items()) if isinstance(dropped, Mapping) else []


def seed_of(preview: Mapping[str, Any]) -> Mapping[str, Any] | None:
    seed = preview.get("seed")
    return seed if isinstance(seed, Mapping) else None


def preview_lines(plan: Plan) -> list[str]:
    """The preview in plain sentences, one per line; [] for a plan that is not a preview's."""
    preview = preview_of(plan)
    if preview is None:
        return []
    lines = [
        f"preview of pull request {preview.get('number')} of stack {preview.get('base')}; destroyed after "
        f"{preview.get('expire_after_days')} days; backups off; cron jobs " + ("run" if preview.get("cron") else "off")
    ]
    seed = seed_of(preview)
    if seed is None:
        lines.append("seed: none, the preview starts empty (previews.seed is not set)")
    else:
        steps = [str(s) for s in seed.get("steps") or []]
        lines.append(f"seed: from the {seed.get('from')}, {seed.get('when')}")
        lines += [f"  {n}. {step}" for n, step in enumerate(steps, start=1)]
    dropped = dropped_domains(preview)
    lines.append(
        "custom domains dropped: " + (", ".join(f"{host} (app {app})" for host, app in dropped) if dropped else "none")
    )
    return lines
