"""Small Pulumi programs the plan tests run (real pulumi_docker / pulumi_random resources)."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker
import pulumi_random as random

API_TOKEN = "tok-very-secret-4711"
HUSH = "hush-hush-0815"
CONFIG = {"flashdrive:apiToken": API_TOKEN, "flashdrive:region": "eu-west"}
SECRET_KEYS = ["flashdrive:apiToken"]

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
NETWORK = "docker:index/network:Network"
PASSWORD = "random:index/randomPassword:RandomPassword"
APP = "flashdrive:test:App"
STACK = "pulumi:pulumi:Stack"


class App(pulumi.ComponentResource):
    """A component with a network, a retained volume, a password and a container."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__(APP, name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = pulumi.Config()
        self.network = docker.Network(f"{name}-net", name=f"{name}-net", internal=True, opts=child)
        self.volume = docker.Volume(
            f"{name}-data", name=f"{name}-data",
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True, protect=True))
        self.password = random.RandomPassword(f"{name}-pw", length=24, special=False, opts=child)
        token = config.require_secret("apiToken")
        self.release = docker.Container(f"{name}-release", image="python:3.12", must_run=False, opts=child)
        self.container = docker.Container(
            f"{name}-1",
            image="python:3.12",
            memory=512,
            envs=[
                pulumi.Output.concat("DB_PASSWORD=", self.password.result),
                "PLAIN=hello",
                token.apply(lambda t: f"API_TOKEN={t}"),
                f"REGION={config.require('region')}",
            ],
            labels=[
                docker.ContainerLabelArgs(label="plain", value="yes"),
                docker.ContainerLabelArgs(label="token", value=token),
            ],
            command=["sh", "-c", pulumi.Output.concat("serve --token ", token)],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=self.network.name, aliases=["web"])],
            volumes=[docker.ContainerVolumeArgs(volume_name=self.volume.name, container_path="/data")],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release], delete_before_replace=True,
                                        ignore_changes=["image"], replace_on_changes=["volumes"],
                                        aliases=[pulumi.Alias(name=f"{name}-old")]))
        self.url = pulumi.Output.concat("http://", self.container.name, ":8000")
        self.register_outputs({"url": self.url, "password": self.password.result})


def sample_program() -> None:
    app = App("shop")
    pulumi.export("url", app.url)
    pulumi.export("token", pulumi.Config().require_secret("apiToken"))
    pulumi.export("mixed", {"plain": "x", "secret": pulumi.Output.secret(HUSH), "list": ["a", pulumi.Output.secret(HUSH)]})
    pulumi.export("count", 3)


def protected_parent_program() -> None:
    parent = App("vault", opts=pulumi.ResourceOptions(protect=True))
    pulumi.export("url", parent.url)


def other_program() -> None:
    docker.Network("other-net", name="other-net")
    pulumi.export("only", "other")


def failing_program() -> None:
    docker.Network("doomed-net", name="doomed-net")
    raise pulumi.RunError("the spec is valid, but the kubernetes backend is not built yet")


def failing_apply_program() -> None:
    net = docker.Network("net", name="net")
    docker.Container("c", image=net.name.apply(lambda n: 1 / 0), name="c")


def duplicate_program() -> None:
    docker.Volume("data", name="a")
    docker.Volume("data", name="b")


def leaky_program() -> None:
    token = pulumi.Config().get("apiToken")  # should have been get_secret
    docker.Container("leaky", image="x", envs=[f"API_TOKEN={token}"])
    pulumi.export("token", token)


def logging_program() -> None:
    pulumi.log.warn("disk 'media' is shared by 2 copies")
    pulumi.log.info("just so you know")
    docker.Network("n", name="n")


def image_program(dockerfile: str = "Dockerfile") -> None:
    image = docker.Image("shop-app", image_name="flashdrive/shop-app:latest", skip_push=True,
                         build=docker.DockerBuildArgs(context="app", dockerfile=dockerfile))
    remote = docker.RemoteImage("redis", name="redis:7.4", keep_locally=True)
    docker.Container("web", image=image.repo_digest, name="web")
    docker.Container("cache", image=remote.image_id, name="cache")
    pulumi.export("digest", image.repo_digest)
