"""`flashdrive diff`: what a change to a stack does to each resource, and whether it loses data.

base, head = load_side("base.plan.json"), load_side("flashdrive.yaml")   # plan JSON or spec
diff = diff_plans(base.plan, head.plan)      # create / update / replace / delete per resource
report = check(diff)                         # data-loss findings (with causes) and cautions
render_text(diff, report, ...) / render_markdown(diff, report, ...)
"""

from flashdrive.diff.changes import CREATE, DELETE, REPLACE, SAME, UPDATE, PlanDiff, ResourceChange, diff_plans
from flashdrive.diff.display import COMMENT_MARKER, render_markdown, render_text
from flashdrive.diff.guard import Finding, Report, check
from flashdrive.diff.sources import Side, load_side, plan_from_json

__all__ = [
    "COMMENT_MARKER",
    "CREATE",
    "DELETE",
    "REPLACE",
    "SAME",
    "UPDATE",
    "Finding",
    "PlanDiff",
    "Report",
    "ResourceChange",
    "Side",
    "check",
    "diff_plans",
    "load_side",
    "plan_from_json",
    "render_markdown",
    "render_text",
]
