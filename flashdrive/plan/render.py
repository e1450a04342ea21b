"""Plan → text. `json` is the CLI contract (Plan.to_json); `text` reads like `pulumi preview`;
`markdown` is a pull-request comment, `mermaid` a diagram, `yaml` the Kubernetes manifests.
"""

from __future__ import annotations

import json
from typing import Any

from flashdrive.labels import STACK_TYPE
from flashdrive.plan.plan import Plan, PlannedResource

FORMATS = ("text", "json", "markdown", "mermaid", "yaml")

INDENT = "    "
VALUE_WIDTH = 100


def render(plan: Plan, fmt: str) -> str:
    """The plan in `fmt`, ending with a newline."""
    if fmt == "json":
        return plan.to_json() + "\n"
    if fmt == "text":
        return render_text(plan)
    if fmt == "yaml":
        from flashdrive.plan.manifests import render_manifests

        return render_manifests(plan)
    if fmt == "markdown":
        from flashdrive.plan.markdown import render_markdown

        return render_markdown(plan)
    if fmt == "mermaid":
        from flashdrive.plan.mermaid import render_mermaid

        return render_mermaid(plan)
    raise ValueError(f"unknown plan format {fmt!r}")


def abbreviate(value: Any, width: int = VALUE_WIDTH) -> str:
    """A value as one line of compact JSON, cut to `width` characters."""
    text = json.dumps(value, sort_keys=True, separators=(", ", ": "), ensure_ascii=False)
    return text if len(text) <= width else text[: width - 3] + "..."


def option_flags(resource: PlannedResource) -> list[str]:
    """The resource options a reviewer cares about, in a fixed order."""
    return [
        flag
        for flag, on in (
            ("protect", resource.protect),
            ("retain", resource.retain_on_delete),
            ("delete-before-replace", resource.delete_before_replace),
        )
        if on
    ]


def _flags(resource: PlannedResource) -> str:
    flags = [f"[{flag}]" for flag in option_flags(resource)]
    return ("  " + " ".join(flags)) if flags else ""


def _name(urn: str) -> str:
    return urn.rpartition("::")[2]


def certificate_sources(plan: Plan) -> dict[str, str]:
    """host → where its certificate comes from, as the edge components registered it."""
    found: dict[str, str] = {}
    for resource in plan.resources:
        sources = (resource.outputs or {}).get("certificates")
        if not resource.custom and isinstance(sources, dict):
            found.update({str(host): str(source) for host, source in sources.items()})
    return found


def database_upgrades(plan: Plan) -> dict[str, dict[str, str]]:
    """database → what the deploy does for its major upgrade (engine, from, to, how), as the database
    components registered it."""
    found: dict[str, dict[str, str]] = {}
    for resource in plan.resources:
        outputs = resource.outputs or {}
        upgrade = outputs.get("upgrade")
        if not resource.custom and isinstance(upgrade, dict):
            found[str(outputs.get("host") or resource.name)] = {str(k): str(v) for k, v in upgrade.items()}
    return found


def app_strategies(plan: Plan) -> dict[str, tuple[str, str]]:
    """app → (strategy, why): how a deploy changes its copies (rolling, stop-first), as the app
    components registered it."""
    found: dict[str, tuple[str, str]] = {}
    for resource in plan.resources:
        outputs = resource.outputs or {}
        strategy, why = outputs.get("strategy"), outputs.get("strategy_reason")
        if not resource.custom and isinstance(strategy, str) and isinstance(why, str):
            app = outputs.get("host")
            found[app if isinstance(app, str) else resource.name.removeprefix(f"{plan.stack}-")] = (strategy, why)
    return found


def render_text(plan: Plan) -> str:
    urns = {r.urn for r in plan.resources}
    children: dict[str | None, list[PlannedResource]] = {}
    for resource in plan.resources:  # already sorted by URN
        parent = resource.parent if resource.parent in urns else None
        children.setdefault(parent, []).append(resource)

    label = f"stack '{plan.stack}'"
    if plan.backend:
        label += f", backend {plan.backend}"
    lines = [f"Plan for {label} (Pulumi project {plan.project}, stack {plan.pulumi_stack})", ""]

    def emit(resource: PlannedResource, depth: int) -> None:
        pad = INDENT * depth
        lines.append(f"{pad}+ {resource.type}  {resource.name}{_flags(resource)}")
        detail = pad + "      "
        for key in sorted(resource.inputs):
            lines.append(f"{detail}{key}: {abbreviate(resource.inputs[key])}")
        if not resource.custom and resource.type != STACK_TYPE:
            # What a component says about itself (an app's host, a scheduler's jobs).
            for key, value in sorted((resource.outputs or {}).items()):
                lines.append(f"{detail}=> {key}: {abbreviate(value)}")
        if resource.depends_on:
            lines.append(f"{detail}(depends on: {', '.join(_name(u) for u in resource.depends_on)})")
        if resource.aliases:
            lines.append(f"{detail}(aliases: {abbreviate(list(resource.aliases))})")
        if resource.ignore_changes:
            lines.append(f"{detail}(ignore changes: {', '.join(resource.ignore_changes)})")
        if resource.replace_on_changes:
            lines.append(f"{detail}(replace on changes: {', '.join(resource.replace_on_changes)})")
        if resource.custom_timeouts:
            waits = ", ".join(f"{key} {value}" for key, value in resource.custom_timeouts.items())
            lines.append(f"{detail}(timeouts: {waits})")
        for child in children.get(resource.urn, []):
            emit(child, depth + 1)

    for root in children.get(None, []):
        emit(root, 0)

    if plan.outputs:
        lines += ["", "Outputs:"]
        for key in sorted(plan.outputs):
            lines.append(f"{INDENT}{key}: {abbreviate(plan.outputs[key])}")

    from flashdrive.plan.preview import preview_lines

    previewed = preview_lines(plan)
    if previewed:
        lines += ["", "Preview:"] + [f"{INDENT}{line}" for line in previewed]

    certificates = certificate_sources(plan)
    if certificates:
        lines += ["", "Certificates:"]
        lines += [f"{INDENT}{host}: {source}" for host, source in sorted(certificates.items())]

    strategies = app_strategies(plan)
    if strategies:
        lines += ["", "Deploys:"]
        lines += [f"{INDENT}{app}: {strategy} ({why})" for app, (strategy, why) in sorted(strategies.items())]

    upgrades = database_upgrades(plan)
    if upgrades:
        lines += ["", "Major upgrades:"]
        lines += [
            f"{INDENT}{name}: {u.get('engine')} {u.get('from')} → {u.get('to')}: {u.get('how')}"
            for name, u in sorted(upgrades.items())
        ]

    custom = sum(1 for r in plan.resources if r.custom)
    components = len(plan.resources) - custom
    lines += [
        "",
        f"Resources: {len(plan.resources)} to create "
        f"({custom} custom, {components} component{'' if components == 1 else 's'})",
    ]
    return "\n".join(lines) + "\n"
