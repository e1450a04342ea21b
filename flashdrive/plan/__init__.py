"""`flashdrive plan`: the real Pulumi program, run offline under the SDK's mock monitor.

plan = capture(program, config={"flashdrive:apiToken": "x"}, secret_config_keys=["flashdrive:apiToken"])
plan = plan_spec("flashdrive.yaml")          # the pipeline, {config: KEY} placeholders, under the capture
plan.resources / plan.by_type(token) / plan.get(name) / plan.outputs / plan.to_json()
"""

from flashdrive.plan.capture import PlanMocks, ProgramError, RecordingMonitor, capture
from flashdrive.plan.plan import Plan, PlannedResource
from flashdrive.plan.planner import config_keys, plan_spec
from flashdrive.plan.render import FORMATS, render

__all__ = [
    "FORMATS",
    "Plan",
    "PlanMocks",
    "PlannedResource",
    "ProgramError",
    "RecordingMonitor",
    "capture",
    "config_keys",
    "plan_spec",
    "render",
]
