"""flashdrive:kubernetes:Cron — an app's scheduled jobs: one CronJob per job, its pods the app's own.

Each run is a pod like the app's copies (image, env and its Secret, disks, size, the "restricted" pod
security, the egress label the NetworkPolicies read), labelled with component `cron` so the app's
Service never sends it traffic. The semantics are the cluster's own:

- `concurrencyPolicy: Forbid`: a run due while the previous one is still going is skipped.
- A deploy changes the CronJob's template only; a running Job keeps its pods and its version, and
  Forbid counts it, so the new version never starts beside it and nothing kills it.
- `activeDeadlineSeconds` is the job's timeout; a failed run is not retried (`backoffLimit: 0`), the
  next one is due on schedule anyway.
- `startingDeadlineSeconds`: a run the controller could not start within a minute of its time (the
  controller was down, the previous run was still going) is skipped rather than started late.
- The last runs stay listed (`kubectl get jobs`) by the history limits.
"""

from __future__ import annotations

import hashlib

import pulumi
import pulumi_kubernetes as k8s

from flashdrive.kubernetes.hardening import labels
from flashdrive.model.stack import ResolvedApp, ResolvedCronJob

STARTING_DEADLINE_S = 60
HISTORY = 3
# CronJob names are at most 52 characters: the controller appends 11 to name each Job.
MAX_NAME = 52
JOB_LABEL = "flashdrive.dev/cron-job"


def cron_job_name(job: ResolvedCronJob) -> str:
    name = f"{job.app}-{job.name}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9].rstrip('-')}-{digest}"


class KubernetesCron(pulumi.ComponentResource):
    def __init__(
        self,
        stack_name: str,
        app: ResolvedApp,
        pod,
        namespace: pulumi.Input[str],
        depends_on: list | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        """`pod(container, component, restart, node)`: the app's pod template (flashdrive.kubernetes.app)."""
        super().__init__("flashdrive:kubernetes:Cron", f"{stack_name}-{app.name}-cron", None, opts)
        self.cron_jobs: dict[str, k8s.batch.v1.CronJob] = {}
        for job in app.cron:
            template = pod({"name": "job", "args": ["/bin/sh", "-c", job.command]}, "cron", "Never", node="cron")
            template["metadata"]["labels"] = {**template["metadata"]["labels"], JOB_LABEL: job.name}
            self.cron_jobs[job.name] = k8s.batch.v1.CronJob(
                f"{stack_name}-{app.name}-cron-{job.name}",
                metadata={
                    "name": cron_job_name(job),
                    "namespace": namespace,
                    "labels": {**labels(stack_name, app.name, "cron"), JOB_LABEL: job.name},
                },
                spec={
                    "schedule": job.expression,
                    "timeZone": "Etc/UTC",
                    "concurrencyPolicy": "Forbid",
                    "startingDeadlineSeconds": STARTING_DEADLINE_S,
                    "successfulJobsHistoryLimit": HISTORY,
                    "failedJobsHistoryLimit": HISTORY,
                    "jobTemplate": {
                        "metadata": {"labels": {**labels(stack_name, app.name, "cron"), JOB_LABEL: job.name}},
                        "spec": {"backoffLimit": 0, "activeDeadlineSeconds": job.timeout_s, "template": template},
                    },
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on or []),
            )
        self.register_outputs(
            {
                "jobs": {job.name: job.schedule for job in app.cron},
                "cron_jobs": [cron_job_name(job) for job in app.cron],
            }
        )
