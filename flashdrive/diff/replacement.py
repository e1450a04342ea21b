"""Which input changes make a provider replace a resource instead of updating it in place.

The one place this knowledge lives. A type listed here is either replaced on every input change
(`REPLACE_ON_ANY`), never replaced (`UPDATE_ON_ANY`), or replaced unless only the inputs named in
`UPDATED_IN_PLACE` changed. A type not listed is treated as replaced on any change: a diff that
over-warns is fixable, one that under-warns loses data.

Sources (input names are Pulumi's camelCase of the Terraform snake_case fields):

- pulumi-docker 5.x bridges kreuzwerker/terraform-provider-docker (v3 line). Container, Volume,
  Network and RemoteImage follow that provider's schema: a field marked `ForceNew: true` forces a
  replacement, every other field is updated in place. Read from
  internal/provider/resource_docker_container.go (container), resource_docker_volume.go and
  resource_docker_network.go (no Update function at all: every input replaces), and
  resource_docker_image.go (RemoteImage). Inputs added by later upstream releases and not found
  in that schema (cgroupParent, deviceCgroupRules, device*Bps/Iops, deviceRequests,
  memoryReservation, platform) fall to the default: replace.
- `docker:index/image:Image` is pulumi-docker's own native resource (provider/provider.go): its
  Diff reports every change as an update (a rebuild), never a replacement.
- pulumi-random bridges hashicorp/terraform-provider-random, where every argument of RandomPassword,
  RandomString, RandomId, RandomUuid and RandomInteger has RequiresReplace.
- BRIEF.md, "Pulumi facts that shape the design": every Container input except restart, memory,
  cpu_shares and a few lifecycle fields forces a replacement; every Volume input forces a
  replacement.

Kubernetes types (pulumi-kubernetes) join here when that backend lands.
"""

from __future__ import annotations

from collections.abc import Iterable

PROVIDER_SOURCES = {
    "docker": "pulumi-docker 5.x (terraform-provider-docker v3 schema: ForceNew fields)",
    "random": "pulumi-random 4.x (terraform-provider-random: every argument RequiresReplace)",
}

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
NETWORK = "docker:index/network:Network"
IMAGE = "docker:index/image:Image"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"

# Container fields without ForceNew in terraform-provider-docker's schema: lifecycle switches the
# provider reads at create/delete time, and the limits `docker update` can change on a running
# container. Everything else about a container (image, command, envs, labels, networks, volumes,
# ports, capabilities, uploads, cpus, ulimits, log options, ...) replaces it.
_CONTAINER_UPDATED_IN_PLACE = frozenset({
    "attach", "logs", "mustRun", "rm", "start", "wait", "waitTimeout", "removeVolumes",
    "destroyGraceSeconds", "containerReadRefreshTimeoutMilliseconds",
    "restart", "maxRetryCount",
    "memory", "memorySwap", "cpuShares", "cpuSet", "cpuPeriod", "cpuQuota",
    "healthcheck",  # updated in place, although the Docker API ignores it (upstream issue #988)
    "init", "tmpfs",
})

UPDATED_IN_PLACE: dict[str, frozenset[str]] = {
    CONTAINER: _CONTAINER_UPDATED_IN_PLACE,
    REMOTE_IMAGE: frozenset({"keepLocally", "forceRemove"}),
}

REPLACE_ON_ANY = frozenset({
    VOLUME,
    NETWORK,
    "random:index/randomPassword:RandomPassword",
    "random:index/randomString:RandomString",
    "random:index/randomId:RandomId",
    "random:index/randomUuid:RandomUuid",
    "random:index/randomInteger:RandomInteger",
})

UPDATE_ON_ANY = frozenset({IMAGE})


def replacing_inputs(type_token: str, changed: Iterable[str], replace_on_changes: Iterable[str] = ()) -> list[str]:
    """The changed inputs (top-level names) that force a replacement of a resource of this type,
    sorted. Empty: the change is an update in place. `replace_on_changes` is the resource option
    of the same name (`*` means every input)."""
    changed = sorted(set(changed))
    forced = set(replace_on_changes)
    if "*" in forced:
        return changed
    if type_token in UPDATE_ON_ANY:
        return [key for key in changed if key in forced]
    if type_token in REPLACE_ON_ANY:
        return changed
    in_place = UPDATED_IN_PLACE.get(type_token)
    if in_place is None:
        return changed  # unknown type: assume the worst
    return [key for key in changed if key not in in_place or key in forced]


def known(type_token: str) -> bool:
    """Whether the table has first-hand knowledge of this type."""
    return type_token in UPDATE_ON_ANY or type_token in REPLACE_ON_ANY or type_token in UPDATED_IN_PLACE
