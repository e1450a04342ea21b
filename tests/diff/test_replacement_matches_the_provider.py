"""The replacement table against pulumi-docker's own schema: which inputs force a new resource.

`pulumi_docker_replacements.json` is extracted from pulumi-docker's published schema
(`willReplaceOnChanges` on each input property, the marker the engine's diff acts on). The table
may over-warn (replace where the provider updates) only where it says why; it must never
under-warn, which would hide a replacement, and with it a data-loss risk, from a preview.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flashdrive.diff.replacement import replacing_inputs

SCHEMA = json.loads((Path(__file__).parent / "pulumi_docker_replacements.json").read_text())

# Inputs the table replaces on purpose although the provider updates them in place.
DELIBERATE = {
    # The provider's update ignores a changed health check (upstream #988): the state says new,
    # Docker runs old. Copies set replace_on_changes for it, and the diff says so.
    ("docker:index/container:Container", "healthcheck"),
    # Volumes: every input replaces in our table; `cluster` (Swarm cluster volumes) is never set.
    ("docker:index/volume:Volume", "cluster"),
    # RemoteImage `build` is never set by flashdrive (images are built by docker:index/image:Image).
    ("docker:index/remoteImage:RemoteImage", "build"),
}

CASES = [(token, key, side) for token, sides in sorted(SCHEMA["resources"].items())
         for side in ("replace", "in_place") for key in sides[side]]


@pytest.mark.parametrize("token,key,side", CASES)
def test_the_table_says_what_the_provider_does_with_each_input(token, key, side):
    replaced = bool(replacing_inputs(token, [key]))
    if side == "replace":
        assert replaced, f"{token}.{key} forces a new resource in pulumi-docker: the diff must say replace"
    elif (token, key) in DELIBERATE:
        assert replaced
    else:
        assert not replaced, f"{token}.{key} is updated in place by pulumi-docker"


def test_the_extract_names_its_source():
    assert "willReplaceOnChanges" in SCHEMA["source"] and "pulumi-docker" in SCHEMA["source"]
