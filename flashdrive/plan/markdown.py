"""`flashdrive plan --format markdown`: the plan as a pull-request comment.

A summary of what the stack holds, then one table per component (app, database, disk, edge,
backups...), each row a resource with what a reviewer checks first: its physical name, its key
settings and the options that protect data.
"""

from __future__ import annotations

import json
from collections import Counter

from flashdrive.labels import (
    DOCKER_CONTAINER,
    DOCKER_IMAGE,
    DOCKER_NETWORK,
    DOCKER_REMOTE_IMAGE,
    DOCKER_VOLUME,
    RANDOM_PASSWORD,
    STACK_TYPE,
)
from flashdrive.plan.plan import Plan, PlannedResource
from flashdrive.plan.preview import preview_lines
from flashdrive.plan.render import option_flags

# The inputs worth a glance per resource type; everything else is in `--format json`.
KEY_INPUTS = {
    DOCKER_CONTAINER: ("image", "memory", "cpus", "ports"),
    DOCKER_VOLUME: ("name",),
    DOCKER_NETWORK: ("name", "internal"),
    DOCKER_IMAGE: ("imageName", "skipPush"),
    DOCKER_REMOTE_IMAGE: ("name",),
    RANDOM_PASSWORD: ("length",),
}


def _cell(value) -> str:
    if isinstance(value, list):  # ports: their external numbers, on their host address if one is given
        text = ", ".join(
            (f"{v['ip']}:" if v.get("ip") else "") + str(v.get("external", v)) if isinstance(v, dict) else str(v)
            for v in value
        )
    else:
        text = value if isinstance(value, str) else json.dumps(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def _settings(resource: PlannedResource) -> str:
    keys = KEY_INPUTS.get(resource.type, ("name",))
    shown = [f"{key}: `{_cell(resource.inputs[key])}`" for key in keys if key in resource.inputs]
    return "<br>".join(shown) or "—"


FLAG_WORDS = {"protect": "protected", "retain": "retained on delete", "delete-before-replace": "delete before replace"}


def _guards(resource: PlannedResource) -> str:
    return ", ".join(FLAG_WORDS[flag] for flag in option_flags(resource)) or "—"


def render_markdown(plan: Plan) -> str:
    customs = [r for r in plan.resources if r.custom]
    components = [r for r in plan.resources if not r.custom and r.type != STACK_TYPE]
    counts = Counter(
        f"{r.type.split(':')[-1]} provider" if r.type.startswith("pulumi:providers:") else r.type.split(":")[-1]
        for r in customs
    )
    lines = [
        f"### flashdrive plan — stack `{plan.stack}` ({plan.backend})",
        "",
        f"**{len(customs)} resources** in {len(components)} components: "
        + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        + ".",
        "",
    ]
    urls = plan.outputs.get("urls") if isinstance(plan.outputs, dict) else None
    if urls:
        lines += ["Public URLs: " + ", ".join(f"{app} → {url}" for app, url in sorted(urls.items())), ""]
    previewed = preview_lines(plan)
    if previewed:  # a preview: its seed, step by step, and the custom domains it does not get
        lines += ["**Preview.** " + previewed[0].capitalize() + ".", ""]
        lines += [f"   {line.strip()}" if line.startswith("  ") else f"- {line}" for line in previewed[1:]] + [""]
    by_parent: dict[str, list[PlannedResource]] = {}
    for resource in customs:
        by_parent.setdefault(resource.parent or "", []).append(resource)
    for component in components:
        children = by_parent.get(component.urn, [])
        if not children:
            continue
        lines += [f"#### {component.type.split(':')[-1]} `{component.name}`", ""]
        strategy, why = (component.outputs or {}).get("strategy"), (component.outputs or {}).get("strategy_reason")
        if isinstance(strategy, str) and isinstance(why, str):
            lines += [f"Deploys **{strategy}**: {why}.", ""]
        jobs = (component.outputs or {}).get("jobs")
        if isinstance(jobs, dict) and jobs:  # a scheduler's jobs and when they run
            lines += ["Jobs (UTC): " + ", ".join(f"`{name}` {_cell(when)}" for name, when in sorted(jobs.items())), ""]
            on_deploy = (component.outputs or {}).get("on_deploy")
            if isinstance(on_deploy, str):
                lines += [f"On a deploy: {on_deploy}.", ""]
        upgrade = (component.outputs or {}).get("upgrade")
        if isinstance(upgrade, dict):  # a database's major upgrade
            lines += [
                f"Major upgrade, {upgrade.get('engine')} {upgrade.get('from')} → {upgrade.get('to')}: "
                f"{upgrade.get('how')}.",
                "",
            ]
        lines += ["| resource | type | settings | data |", "|---|---|---|---|"]
        for child in children:
            lines.append(f"| `{child.name}` | {child.type.split(':')[-1]} | {_settings(child)} | {_guards(child)} |")
        lines.append("")
    return "\n".join(lines)
