"""The Pulumi program: read the stack config, load the spec, build the stack."""

import pulumi

from flashdrive.program import run

config = pulumi.Config("flashdrive")
run(config.get("spec") or "flashdrive.yaml", config.get("overlay") or None, config.get("preview") or None)
