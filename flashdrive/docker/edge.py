"""flashdrive:docker:Edge — Caddy, the only container that publishes ports: 80 and 443.

It sits on the public network (ports, ACME) and the internal edge network (web apps only), so
it never reaches databases. Certificates and ACME accounts live on a retained volume.

One Caddy process for the life of the stack: the edge holds 80/443, so replacing its container is
an outage (and pulumi-docker replaces containers delete-before-replace). Its routes therefore are
not an input of the container: a Command writes the Caddyfile onto the edge's volume through a
one-off container, and Caddy, run with `--watch`, reloads it in place (a graceful reload: open
connections finish, health checks carry on). Adding copies or apps changes routing live. The
copies are addressed by their aliases (`<app>-<n>`), which old and new versions of a rolling copy
share, so a roll needs no routing change at all; Caddy's active health checks and the dialer's
fallback to the next address keep requests off a copy that is starting or stopping.
"""

from __future__ import annotations

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from flashdrive.docker.caddyfile import ACME_CA_ROOT, certificate_paths, certificate_sources, render_caddyfile
from flashdrive.docker.disk import retained_volume
from flashdrive.docker.hardening import EDGE_CAPABILITIES, hardened, labels
from flashdrive.docker.network import StackNetwork
from flashdrive.endpoints import config_value
from flashdrive.labels import EDGE_CADDYFILE, LABEL_ROLE, LABEL_STACK, ROLE_EDGE
from flashdrive.model.stack import ResolvedStack
from flashdrive.spec.sizes import SIZES

CADDYFILE = EDGE_CADDYFILE  # on the edge's volume, written by the routes Command

# Writes the Caddyfile from the environment onto the volume, atomically (Caddy never reads half a file).
WRITE_ROUTES = (
    "printf '%s' \"$FLASHDRIVE_CADDYFILE\" | docker run --rm -i --network none --cap-drop ALL "
    '--security-opt no-new-privileges:true --mount "type=volume,source=$FLASHDRIVE_EDGE_VOLUME,target=/data" '
    '--entrypoint /bin/sh "$FLASHDRIVE_EDGE_IMAGE" '
    f"-c 'cat > {CADDYFILE}.new && mv {CADDYFILE}.new {CADDYFILE}'"
    # Caddy's watcher looks at the file every second: by the time the engine moves on
    # (and stops copies that left the routes), the edge routes by the new file.
    " && sleep 2"
)


class DockerEdge(pulumi.ComponentResource):
    def __init__(
        self,
        stack: ResolvedStack,
        network: StackNetwork,
        docker_host: str,
        depends_on: list | None = None,
        opts: pulumi.ResourceOptions | None = None,
        publish_address: str | None = None,
    ):
        """`depends_on`: the web copies the routes lead to; `publish_address`: the host address of
        80/443 (flashdrive:publishAddress; None: every address)."""
        super().__init__("flashdrive:docker:Edge", f"{stack.name}-edge", None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.caddyfile = render_caddyfile(stack)
        self.volume = retained_volume(
            stack.edge_volume_name, {LABEL_STACK: stack.name, LABEL_ROLE: ROLE_EDGE}, self, retain=stack.preview is None
        )
        image = docker.RemoteImage(f"{stack.name}-edge-image", name=stack.edge_image, keep_locally=True, opts=child)
        self.routes = command.local.Command(
            f"{stack.name}-edge-routes",
            create=WRITE_ROUTES,
            environment={
                "DOCKER_HOST": docker_host,
                "FLASHDRIVE_CADDYFILE": self.caddyfile,
                "FLASHDRIVE_EDGE_VOLUME": self.volume.name,
                "FLASHDRIVE_EDGE_IMAGE": image.image_id,
            },
            triggers=[self.caddyfile],
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on or []),
        )
        uploads = []
        for app in stack.web_apps:
            for domain in app.domains:
                if not domain.acme:
                    cert, key = certificate_paths(domain.host)
                    cert_config, key_config = domain.own_certificate
                    uploads.append(docker.ContainerUploadArgs(file=cert, content=config_value(cert_config)))
                    uploads.append(docker.ContainerUploadArgs(file=key, content=config_value(key_config)))
        if stack.uses_acme and stack.acme_ca_root_config:
            uploads.append(
                docker.ContainerUploadArgs(file=ACME_CA_ROOT, content=config_value(stack.acme_ca_root_config))
            )
        self.container = docker.Container(
            f"{stack.name}-edge",
            name=f"{stack.name}-edge",
            image=image.image_id,
            command=["caddy", "run", "--config", CADDYFILE, "--adapter", "caddyfile", "--watch"],
            envs=["XDG_DATA_HOME=/data", "XDG_CONFIG_HOME=/config"],
            ports=[
                docker.ContainerPortArgs(internal=port, external=port, protocol="tcp", ip=publish_address)
                for port in (80, 443)
            ],
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(name=network.public.name),
                docker.ContainerNetworksAdvancedArgs(name=network.edge.name, aliases=["edge"]),
            ],
            volumes=[docker.ContainerVolumeArgs(volume_name=self.volume.name, container_path="/data")],
            uploads=uploads or None,
            labels=labels(stack.name, role=ROLE_EDGE),
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True, depends_on=[self.routes]),
            **hardened(size=SIZES["s"], add_capabilities=EDGE_CAPABILITIES),
        )
        self.register_outputs({"caddyfile": self.caddyfile, "certificates": certificate_sources(stack)})
