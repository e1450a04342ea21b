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
  resource_docker_image.go (RemoteImage). pulumi-docker's own schema (`willReplaceOnChanges`)
  agrees, input by input: tests/diff/test_replacement_matches_the_provider.py checks the table
  against an extract of it, and names the inputs replaced here on purpose.
- `docker:index/image:Image` is pulumi-docker's own native resource (provider/provider.go): its
  Diff reports every change as an update (a rebuild), never a replacement.
- pulumi-random bridges hashicorp/terraform-provider-random, where every argument of RandomPassword,
  RandomString, RandomId, RandomUuid and RandomInteger has RequiresReplace.
- BRIEF.md, "Pulumi facts that shape the design": every Container input except restart, memory,
  cpu_shares and a few lifecycle fields forces a replacement; every Volume input forces a
  replacement.

- pulumi-kubernetes replaces an object whose name or namespace changes, or whose change touches a
  field the API server will not update (the provider's forceNew table): for a PersistentVolumeClaim
  its whole spec except `resources` (a claim's storage request grows in place), for a StatefulSet
  its selector, serviceName, volumeClaimTemplates and podManagementPolicy. Only the kinds that hold
  data are listed (`KUBERNETES_RULES`); other kinds fall to the default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flashdrive.labels import DOCKER_CONTAINER as CONTAINER
from flashdrive.labels import DOCKER_IMAGE as IMAGE
from flashdrive.labels import DOCKER_NETWORK as NETWORK
from flashdrive.labels import DOCKER_REMOTE_IMAGE as REMOTE_IMAGE
from flashdrive.labels import DOCKER_VOLUME as VOLUME
from flashdrive.labels import K8S_CLAIM as PVC
from flashdrive.labels import K8S_NAMESPACE as NAMESPACE
from flashdrive.labels import K8S_STATEFUL_SET as STATEFUL_SET
from flashdrive.labels import RANDOM_ID, RANDOM_INTEGER, RANDOM_PASSWORD, RANDOM_STRING, RANDOM_UUID

# Container fields without ForceNew in terraform-provider-docker's schema: lifecycle switches the
# provider reads at create/delete time, and the limits `docker update` can change on a running
# container. Everything else about a container (image, command, envs, labels, networks, volumes,
# ports, capabilities, uploads, cpus, ulimits, log options, ...) replaces it.
_CONTAINER_UPDATED_IN_PLACE = frozenset(
    {
        "attach",
        "logs",
        "mustRun",
        "rm",
        "start",
        "wait",
        "waitTimeout",
        "removeVolumes",
        "destroyGraceSeconds",
        "containerReadRefreshTimeoutMilliseconds",
        "restart",
        "maxRetryCount",
        "memory",
        "memorySwap",
        "memoryReservation",
        "cpuShares",
        "cpuSet",
        "cpuPeriod",
        "cpuQuota",
        "deviceReadBps",
        "deviceReadIops",
        "deviceWriteBps",
        "deviceWriteIops",
        # Not "healthcheck": the provider would update it in place, but the Docker API cannot change a
        # running container's health check (upstream issue #988), so the old probe would keep running.
        # App copies set replace_on_changes=["healthcheck"]: a changed probe replaces the copy.
        "init",
        "tmpfs",
    }
)

UPDATED_IN_PLACE: dict[str, frozenset[str]] = {
    CONTAINER: _CONTAINER_UPDATED_IN_PLACE,
    REMOTE_IMAGE: frozenset({"keepLocally", "forceRemove"}),
}

REPLACE_ON_ANY = frozenset(
    {
        VOLUME,
        NETWORK,
        RANDOM_PASSWORD,
        RANDOM_STRING,
        RANDOM_ID,
        RANDOM_UUID,
        RANDOM_INTEGER,
    }
)

UPDATE_ON_ANY = frozenset({IMAGE})


def _without(mapping, *keys: str) -> dict:
    return {k: v for k, v in (mapping or {}).items() if k not in keys} if isinstance(mapping, Mapping) else {}


def _identity(inputs: Mapping[str, Any]) -> tuple:
    metadata = inputs.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    return metadata.get("name"), metadata.get("namespace")


def _spec(inputs: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = inputs.get("spec")
    return spec if isinstance(spec, Mapping) else {}


# Kind → whether a change of its spec forces a replacement (nested fields matter for these kinds).
KUBERNETES_RULES: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], bool]] = {
    PVC: lambda base, head: _without(base, "resources") != _without(head, "resources"),
    STATEFUL_SET: lambda base, head: any(
        base.get(k) != head.get(k) for k in ("selector", "serviceName", "volumeClaimTemplates", "podManagementPolicy")
    ),
    NAMESPACE: lambda base, head: False,
}


def _kubernetes_replacing(
    type_token: str, changed: list[str], base: Mapping[str, Any], head: Mapping[str, Any]
) -> list[str]:
    replacing = []
    if "metadata" in changed and _identity(base) != _identity(head):
        replacing.append("metadata")
    if "spec" in changed and KUBERNETES_RULES[type_token](_spec(base), _spec(head)):
        replacing.append("spec")
    return replacing


def replacing_inputs(
    type_token: str,
    changed: Iterable[str],
    replace_on_changes: Iterable[str] = (),
    base_inputs: Mapping[str, Any] | None = None,
    head_inputs: Mapping[str, Any] | None = None,
) -> list[str]:
    """The changed inputs (top-level names) that force a replacement of a resource of this type,
    sorted. Empty: the change is an update in place. `replace_on_changes` is the resource option
    of the same name (`*` means every input). Kinds whose rules look inside an input need both
    sides' inputs; without them they fall to the default."""
    changed = sorted(set(changed))
    forced = set(replace_on_changes)
    if "*" in forced:
        return changed
    if type_token in KUBERNETES_RULES and base_inputs is not None and head_inputs is not None:
        return sorted(
            set(_kubernetes_replacing(type_token, changed, base_inputs, head_inputs)) | (forced & set(changed))
        )
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
    return (
        type_token in UPDATE_ON_ANY
        or type_token in REPLACE_ON_ANY
        or type_token in UPDATED_IN_PLACE
        or type_token in KUBERNETES_RULES
    )
