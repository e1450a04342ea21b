"""A diff as text (terminals) or markdown (a pull-request comment).

Both put the data-loss verdict first, then the counts, then one group per app, database, disk,
edge, build and the networks, each listing its resources that change and how.
"""

from __future__ import annotations

import re

from msgspec import Struct

from flashdrive.diff.changes import CREATE, DELETE, REPLACE, SAME, UPDATE, VERDICTS, PlanDiff, ResourceChange
from flashdrive.diff.guard import Report
from flashdrive.diff.value_lines import lines, summary
from flashdrive.plan.render import app_strategies

COMMENT_MARKER = "<!-- flashdrive-diff -->"
MARKDOWN_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters
SIGNS = {CREATE: "+", UPDATE: "~", REPLACE: "±", DELETE: "-"}
_GROUP_ORDER = {"App": 0, "Database": 1, "Disk": 2, "Backups": 3, "Edge": 4, "Build": 5, "StackNetwork": 6}
_SINGLETONS = ("Backups", "Edge", "StackNetwork")  # one per stack: no name shown
_GROUP_TITLE = {"StackNetwork": "Networks"}


class Group(Struct, frozen=True):
    order: tuple[int, str]
    kind: str  # App, Database, ... or Stack
    name: str  # the app's or database's own name ("" for the edge, networks)
    status: str  # "", "new" or "removed"
    changes: list[ResourceChange]

    @property
    def title(self) -> str:
        kind = _GROUP_TITLE.get(self.kind, self.kind)
        return f"{kind} '{self.name}'" if self.name else kind

    @property
    def markdown_title(self) -> str:
        kind = _GROUP_TITLE.get(self.kind, self.kind)
        return f"{kind} `{self.name}`" if self.name else kind


def short_type(token: str) -> str:
    return token.rpartition(":")[2] or token


def _own_name(component_type: str, name: str, stack: str) -> str:
    if component_type in _SINGLETONS:
        return ""
    for prefix in (f"{stack}-disk-", f"{stack}-"):
        if stack and name.startswith(prefix):
            return name[len(prefix) :]
    return name


def groups(diff: PlanDiff) -> list[Group]:
    status_of = {c.resource.urn: {CREATE: "new", DELETE: "removed"}.get(c.verdict, "") for c in diff.components}
    found: dict[tuple, list[ResourceChange]] = {}
    meta: dict[tuple, tuple[str, str, str]] = {}
    for change in diff.changed:
        component = diff.component_of(change)
        if component is None:
            key: tuple = (9, "Stack", "")
            meta[key] = ("Stack", "", "")
        else:
            kind = short_type(component.type)
            stack = (diff.head if change.head is not None else diff.base).stack
            name = _own_name(kind, component.name, stack)
            key = (_GROUP_ORDER.get(kind, 8), kind, name)
            meta[key] = (kind, name, status_of.get(component.urn, ""))
        found.setdefault(key, []).append(change)
    return [Group((key[0], key[2]), *meta[key], changes=found[key]) for key in sorted(found)]


def _strategy(diff: PlanDiff, group: Group) -> tuple[str, str] | None:
    """How the changed app's copies are deployed, and why (a new or removed app rolls nothing)."""
    if group.kind != "App" or group.status:
        return None
    return app_strategies(diff.head).get(group.name)


def _because(change: ResourceChange) -> str:
    if change.verdict == REPLACE:
        return f"replaced because {', '.join(change.replacing)} {'changes' if len(change.replacing) == 1 else 'change'}"
    return ""


def _counts(diff: PlanDiff) -> str:
    counts = diff.counts()
    return ", ".join(f"{counts[v]} to {v}" for v in VERDICTS) + f"; {counts[SAME]} unchanged"


# --- text ------------------------------------------------------------------------------------


def render_text(
    diff: PlanDiff, report: Report, *, base_label: str, head_label: str, allow_data_loss: bool = False
) -> str:
    stack = diff.head.stack or diff.base.stack
    backend = diff.head.backend or diff.base.backend
    out = [
        f"flashdrive diff: stack '{stack}'"
        + (f" ({backend})" if backend else "")
        + f" — base {base_label}, head {head_label}",
        "",
    ]
    if report.findings:
        count = len(report.findings)
        title = "DATA LOSS ALLOWED (--allow-data-loss)" if allow_data_loss else "DATA LOSS"
        out.append(f"{title}: this change {report.action} {count} data holder{'s' if count != 1 else ''}:")
        out += [f"  ! {finding.message}." for finding in report.findings]
        if not allow_data_loss:
            out.append("  If this is intended, run again with --allow-data-loss.")
        out.append("")
    if report.cautions:
        out.append("Caution:")
        out += [f"  ! {caution}." for caution in report.cautions]
        out.append("")
    if not diff.changed:
        out += ["No changes: both sides declare the same resources with the same inputs.", ""]
    width = max((len(short_type(c.type)) for c in diff.changed), default=0)
    for group in groups(diff):
        out.append(group.title + (f" ({group.status})" if group.status else ""))
        strategy = _strategy(diff, group)
        if strategy:
            out.append(f"  deploys {strategy[0]} ({strategy[1]})")
        for change in group.changes:
            because = _because(change)
            out.append(
                f"  {SIGNS[change.verdict]} {change.verdict:<8} {short_type(change.type):<{width}}  "
                f"{change.name}" + (f"   ({because})" if because else "")
            )
            if change.verdict in (UPDATE, REPLACE):
                for input_change in change.inputs:
                    out += [f"        {line.sign} {line.text}" for line in lines(input_change)]
                for option, before, after in change.options:
                    out.append(f"        ~ option {option}: {before} → {after}")
        out.append("")
    out.append(f"Resources: {_counts(diff)}.")
    return "\n".join(out) + "\n"


# --- markdown --------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _code(text: str) -> str:
    ticks = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (ticks + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _what_changes(change: ResourceChange) -> str:
    if change.verdict == CREATE:
        return "new"
    if change.verdict == DELETE:
        return "removed"
    parts = []
    for input_change in change.inputs:
        text = _cell(summary(input_change))
        parts.append(f"{text} **(replaces)**" if input_change.replaces else text)
    parts += [_cell(f"option {o}: {b} → {a}") for o, b, a in change.options]
    return "<br>".join(parts)


def _details(group: Group) -> list[str]:
    body: list[str] = []
    for change in group.changes:
        if change.verdict not in (UPDATE, REPLACE):
            continue
        body.append(f"# {change.name} ({short_type(change.type)}, {change.verdict})")
        for input_change in change.inputs:
            body += [f"{line.sign} {line.text}" for line in lines(input_change)]
        body += [f"~ option {o}: {b} → {a}" for o, b, a in change.options]
    if not body:
        return []
    text = "\n".join(body)
    fence = "`" * max(3, max((len(run) + 1 for run in re.findall(r"`{3,}", text)), default=3))
    return ["<details><summary>Input changes</summary>", "", f"{fence}diff", text, fence, "", "</details>", ""]


def render_markdown(
    diff: PlanDiff,
    report: Report,
    *,
    base_label: str,
    head_label: str,
    allow_data_loss: bool = False,
    details: bool = True,
) -> str:
    stack = diff.head.stack or diff.base.stack
    out = [COMMENT_MARKER, f"## flashdrive diff: stack {_code(stack)}", ""]
    if report.findings:
        count = len(report.findings)
        holders = f"{count} data holder{'s' if count != 1 else ''}"
        if allow_data_loss:
            out += [
                "> [!WARNING]",
                f"> **Data loss allowed** (`--allow-data-loss`): this change {report.action} {holders}.",
                ">",
            ]
        else:
            out += [
                "> [!CAUTION]",
                f"> **Data loss: this change {report.action} {holders}.** It must not merge "
                f"until someone who owns the data allows it (`flashdrive diff --allow-data-loss`).",
                ">",
            ]
        out += [f"> - {_cell(finding.markdown)}." for finding in report.findings]
        out.append("")
    if report.cautions:
        out += ["> [!WARNING]", "> **Caution**", ">"]
        out += [f"> - {_cell(caution)}." for caution in report.cautions]
        out.append("")
    counts = diff.counts()
    out += [" · ".join(f"**{counts[v]}** to {v}" for v in VERDICTS) + f" · {counts[SAME]} unchanged", ""]
    if not diff.changed:
        out += ["No changes: both sides declare the same resources with the same inputs.", ""]
    for group in groups(diff):
        out += [f"### {group.markdown_title}" + (f" ({group.status})" if group.status else ""), ""]
        strategy = _strategy(diff, group)
        if strategy:
            out += [f"Deploys **{strategy[0]}**: {_cell(strategy[1])}.", ""]
        out += ["| resource | change | what changes |", "|---|---|---|"]
        for change in group.changes:
            out.append(
                f"| {_code(change.name)} {short_type(change.type)} | {SIGNS[change.verdict]} {change.verdict} "
                f"| {_what_changes(change)} |"
            )
        out.append("")
        if details:
            out += _details(group)
    out += [
        f"<sub>base {_code(base_label)} → head {_code(head_label)}. Planned offline by flashdrive: secrets "
        f"show as [secret]; source code counts by the digest of each build context.</sub>",
        "",
    ]
    text = "\n".join(out)
    if details and len(text) > MARKDOWN_LIMIT:
        shorter = render_markdown(
            diff, report, base_label=base_label, head_label=head_label, allow_data_loss=allow_data_loss, details=False
        )
        return (
            shorter.rstrip("\n") + "\n\n_Input details left out to fit a comment; run `flashdrive diff` "
            "for the full text._\n"
        )
    return text
