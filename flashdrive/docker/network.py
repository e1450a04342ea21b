"""flashdrive:docker:StackNetwork — the private network of a stack and the edge's networks.

- internal: apps and databases, by name, on any port; `internal` so nothing leaves through it.
- edge: the edge and web apps only; internal too, so a web app with `egress: false` stays in.
- public: the edge alone; its 80/443 are published here and ACME reaches out from here.
- egress: apps with `egress: true` (the default) reach the internet through it. Never databases.
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from flashdrive.labels import LABEL_NETWORK, LABEL_STACK


class StackNetwork(pulumi.ComponentResource):
    def __init__(self, stack: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("flashdrive:docker:StackNetwork", f"{stack}-network", None, opts)
        child = pulumi.ResourceOptions(parent=self)

        def network(role: str, internal: bool) -> docker.Network:
            return docker.Network(
                f"{stack}-{role}",
                name=f"{stack}-{role}",
                driver="bridge",
                internal=internal,
                labels=[
                    docker.NetworkLabelArgs(label=LABEL_STACK, value=stack),
                    docker.NetworkLabelArgs(label=LABEL_NETWORK, value=role),
                ],
                opts=child,
            )

        self.internal = network("internal", True)
        self.edge = network("edge", True)
        self.public = network("public", False)
        self.egress = network("egress", False)
        self.register_outputs(
            {
                "internal": self.internal.name,
                "edge": self.edge.name,
                "public": self.public.name,
                "egress": self.egress.name,
            }
        )
