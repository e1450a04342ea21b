"""flashdrive:docker:Edge — Caddy, the only container that publishes ports: 80 and 443.

It sits on the public network (ports, ACME) and the internal edge network (web apps only), so
it never reaches databases. Certificates and ACME accounts live on a retained volume.
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from flashdrive.docker.caddyfile import ACME_CA_ROOT, certificate_paths, certificate_sources, render_caddyfile
from flashdrive.docker.disk import retained_volume
from flashdrive.docker.hardening import EDGE_CAPABILITIES, hardened, labels
from flashdrive.docker.network import StackNetwork
from flashdrive.endpoints import config_value
from flashdrive.model.stack import ResolvedStack
from flashdrive.spec.sizes import SIZES

CADDYFILE = "/etc/caddy/Caddyfile"


class Edge(pulumi.ComponentResource):
    def __init__(self, stack: ResolvedStack, network: StackNetwork, depends_on: list | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("flashdrive:docker:Edge", f"{stack.name}-edge", None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.caddyfile = render_caddyfile(stack)
        self.volume = retained_volume(stack.edge_volume_name, {"flashdrive.stack": stack.name,
                                                               "flashdrive.role": "edge"}, self)
        image = docker.RemoteImage(f"{stack.name}-edge-image", name=stack.edge_image, keep_locally=True, opts=child)
        uploads = [docker.ContainerUploadArgs(file=CADDYFILE, content=self.caddyfile)]
        for app in stack.web_apps:
            for domain in app.domains:
                if not domain.acme:
                    cert, key = certificate_paths(domain.host)
                    uploads.append(docker.ContainerUploadArgs(file=cert, content=config_value(domain.certificate_config)))
                    uploads.append(docker.ContainerUploadArgs(file=key, content=config_value(domain.key_config)))
        if stack.uses_acme and stack.acme_ca_root_config:
            uploads.append(docker.ContainerUploadArgs(file=ACME_CA_ROOT, content=config_value(stack.acme_ca_root_config)))
        self.container = docker.Container(
            f"{stack.name}-edge",
            name=f"{stack.name}-edge",
            image=image.image_id,
            command=["caddy", "run", "--config", CADDYFILE, "--adapter", "caddyfile"],
            envs=["XDG_DATA_HOME=/data", "XDG_CONFIG_HOME=/config"],
            ports=[docker.ContainerPortArgs(internal=80, external=80, protocol="tcp"),
                   docker.ContainerPortArgs(internal=443, external=443, protocol="tcp")],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network.public.name),
                               docker.ContainerNetworksAdvancedArgs(name=network.edge.name, aliases=["edge"])],
            volumes=[docker.ContainerVolumeArgs(volume_name=self.volume.name, container_path="/data")],
            uploads=uploads,
            labels=labels(stack.name, role="edge"),
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True, depends_on=depends_on or []),
            **hardened(size=SIZES["s"], pids_limit=512, add_capabilities=EDGE_CAPABILITIES),
        )
        self.register_outputs({"caddyfile": self.caddyfile, "certificates": certificate_sources(stack)})
