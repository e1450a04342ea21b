"""flashdrive:kubernetes:Namespace — the stack's namespace, where every other object lives.

It enforces the Pod Security Standards "restricted" profile. It is retained on delete: deleting a
namespace deletes every PersistentVolumeClaim in it, and with them the disks, the databases'
data and the backup repository. A preview's is not: its data is a scrubbed copy, and destroying
the preview deletes its namespace, its claims with it, so no pull request leaves volumes behind.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from flashdrive.kubernetes.hardening import MANAGED_BY, PART_OF
from flashdrive.labels import K8S_MANAGED_BY

POD_SECURITY = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}


class Namespace(pulumi.ComponentResource):
    def __init__(self, stack: str, namespace: str, retain: bool = True, opts: pulumi.ResourceOptions | None = None):
        super().__init__("flashdrive:kubernetes:Namespace", f"{stack}-namespace", None, opts)
        self.namespace = k8s.core.v1.Namespace(
            f"{stack}-namespace",
            metadata={"name": namespace, "labels": {PART_OF: stack, K8S_MANAGED_BY: MANAGED_BY, **POD_SECURITY}},
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=retain),
        )
        # Objects take the name from here, so each one is created after the namespace.
        self.name: pulumi.Output[str] = self.namespace.metadata.name
        self.register_outputs({"name": self.name})
