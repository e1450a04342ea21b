"""flashdrive:docker:Cron — an app's scheduled jobs, run by a scheduler in a container of the app's image.

The scheduler (flashdrive/cron/scheduler.py, with the one module of cronsim it needs) is uploaded
into that container and started with the image's own Python: no package is installed into the
app's image, and the next-run times are computed at run time, in the container, in UTC. Each run
is a child process of the scheduler, with the app's env, disks, networks and size (the container's);
never the edge network, never the Docker socket.

Deploys: pulumi-docker replaces a container delete-before-replace, which would stop the old
scheduler before the new one exists. So each version of the scheduler is a resource of its own,
named by a digest of everything it runs that the program knows (the image's source or reference,
env, disks, size, jobs, the scheduler itself): Pulumi creates the new version during the deploy and
deletes the old one, no longer declared, at its end. Both mount the app's cron state volume, whose
lock files keep a job from starting while the other scheduler runs it (and a due time from running
twice); the old scheduler, stopped with a grace period of the longest job timeout, starts nothing
more and leaves once its running jobs end. So a deploy never kills a running job (it finishes on
the version it started with), and `pulumi up` may finish up to that long after the new version
serves. What the digest cannot see (a new value of a config secret, a prebuilt tag pushed again)
replaces the scheduler in place: the old one still finishes its running job first, and runs due
until the new one starts are not run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pulumi
import pulumi_docker as docker

from flashdrive.cron import scheduler as scheduler_module
from flashdrive.cron.records import STATE_DIR
from flashdrive.cron.schedule import cronsim_source
from flashdrive.docker.hardening import hardened, labels
from flashdrive.docker.network import StackNetwork
from flashdrive.labels import LABEL_APP, LABEL_ROLE, LABEL_STACK, ROLE_CRON, ROLE_CRON_STATE
from flashdrive.model.stack import ResolvedApp

PROGRAM_DIR = "/flashdrive/cron"
# Between the end of a job's timeout and the scheduler's exit: the scheduler's SIGTERM-to-SIGKILL
# wait for a job past its timeout, plus writing the record.
LEAVE_MARGIN_S = scheduler_module.KILL_AFTER_S + 20


def grace_seconds(app: ResolvedApp) -> int:
    """How long an old scheduler may take to leave: its longest job's timeout, and a margin."""
    return max(job.timeout_s for job in app.cron) + LEAVE_MARGIN_S


def jobs_file(app: ResolvedApp) -> str:
    return (
        json.dumps(
            [
                {"name": job.name, "expression": job.expression, "command": job.command, "timeout_s": job.timeout_s}
                for job in app.cron
            ],
            indent=2,
        )
        + "\n"
    )


def _image_source(app: ResolvedApp) -> str:
    """What the app's image is made of, as far as the program knows before the build."""
    if app.build is None:
        return f"image {app.image}"
    # Here, not at the top: the buildpack package is loaded only for stacks that build from source.
    from flashdrive.buildpack.build_context import BadPattern, context_hash

    try:
        files = context_hash(app.build.context, app.build.context / ".flashdrive" / "Dockerfile")
    except (BadPattern, OSError):  # the build reports it; the version falls back to the rest
        files = "?"
    return json.dumps(["build", files, app.build.dockerfile, app.build.build_args, app.build.base_image])


def scheduler_version(app: ResolvedApp, program: str) -> str:
    """A digest of what a scheduler runs: a new one for every version worth a new scheduler."""
    parts = [
        _image_source(app),
        repr(app.env),
        repr(app.disks),
        repr(app.size),
        app.pids_limit,
        app.egress,
        jobs_file(app),
        program,
        cronsim_source(),
    ]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:10]


class DockerCron(pulumi.ComponentResource):
    def __init__(
        self,
        stack_name: str,
        app: ResolvedApp,
        image: pulumi.Input[str],
        envs: list,
        network: StackNetwork,
        volumes: list[docker.ContainerVolumeArgs],
        depends_on: list | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        """`image`: the app's image once its release succeeded; `envs`, `volumes`: its copies'."""
        super().__init__("flashdrive:docker:Cron", f"{stack_name}-{app.name}-cron", None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Locks and the run record, shared by the old and the new scheduler during a deploy. Not a
        # data volume: removing the app's last job removes it, with its history.
        self.state = docker.Volume(
            f"{stack_name}-{app.name}-cron-state",
            name=f"{stack_name}-{app.name}-cron-state",
            driver="local",
            labels=[
                docker.VolumeLabelArgs(label=k, value=v)
                for k, v in sorted({LABEL_STACK: stack_name, LABEL_APP: app.name, LABEL_ROLE: ROLE_CRON_STATE}.items())
            ],
            opts=child,
        )
        state_mount = docker.ContainerVolumeArgs(volume_name=self.state.name, container_path=STATE_DIR)
        # A new volume's root belongs to root; the app's user (whatever the image's is) must write its
        # locks there. Root, without a single capability, may chmod the folder it owns: once per deploy,
        # the sticky bit keeps one user from removing another's files.
        self.prepare = docker.Container(
            f"{stack_name}-{app.name}-cron-prepare",
            name=f"{stack_name}-{app.name}-cron-prepare",
            image=image,
            user="0:0",
            entrypoints=["python3", "-I", "-S", "-c", f"import os; os.chmod({STATE_DIR!r}, 0o1777)"],
            network_mode="none",
            volumes=[state_mount],
            attach=True,
            logs=True,
            must_run=False,
            labels=labels(stack_name, app=app.name, role="cron-prepare"),
            # Once, for the volume: a later image changes nothing about a folder's mode.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True, ignore_changes=["image"]),
            **hardened(restart="no"),
        )
        nets = [docker.ContainerNetworksAdvancedArgs(name=network.internal.name)]
        if app.egress:
            nets.append(docker.ContainerNetworksAdvancedArgs(name=network.egress.name))
        grace = grace_seconds(app)
        program = Path(scheduler_module.__file__).read_text(encoding="utf-8")
        # A resource per version: the new one starts while the old one finishes its running job.
        name = f"{stack_name}-{app.name}-cron-{scheduler_version(app, program)}"
        self.scheduler = docker.Container(
            name,
            name=name,
            image=image,
            # -I -S: the scheduler sees neither the app's PYTHON* settings nor its packages; the jobs it
            # starts get the container's whole env.
            entrypoints=["python3", "-I", "-S", f"{PROGRAM_DIR}/scheduler.py"],
            command=[f"{PROGRAM_DIR}/jobs.json", STATE_DIR],
            envs=envs,
            networks_advanced=nets,
            volumes=list(volumes) + [state_mount],
            uploads=[
                docker.ContainerUploadArgs(file=f"{PROGRAM_DIR}/scheduler.py", content=program),
                docker.ContainerUploadArgs(file=f"{PROGRAM_DIR}/cronsim.py", content=cronsim_source()),
                docker.ContainerUploadArgs(file=f"{PROGRAM_DIR}/jobs.json", content=jobs_file(app)),
            ],
            # What `flashdrive ps` and the plan diagram read: which app, which jobs, when.
            labels=labels(
                stack_name, app=app.name, role=ROLE_CRON, **{f"cron.{job.name}": job.schedule for job in app.cron}
            ),
            # The old scheduler leaves once its running jobs end; a job past its timeout is stopped by
            # the scheduler itself, so the grace period is never what ends a run.
            destroy_grace_seconds=grace,
            stop_timeout=grace,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.prepare] + list(depends_on or []),
                custom_timeouts=pulumi.CustomTimeouts(delete=f"{grace + 300}s"),
            ),
            **hardened(size=app.size),
        )
        self.register_outputs(
            {
                "jobs": {job.name: job.schedule for job in app.cron},
                "on_deploy": f"new scheduler first; the old one leaves after its running jobs "
                f"(up may wait {grace} s more)",
                "scheduler": self.scheduler.name,
                "state": self.state.name,
            }
        )
