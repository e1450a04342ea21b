"""JSON views that let end-to-end tests see what the platform did.

Every answer names the copy (`node`) that served it, so tests can tell the
copies apart behind the edge's load balancer.
"""

import json
import logging
import os
import re
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import queue
from .models import Job, Visit

log = logging.getLogger(__name__)
SAFE_NAME = re.compile(r"[A-Za-z0-9._-]+")


def whoami():
    return {
        "node": os.environ.get("FLASHDRIVE_NODE", ""),
        "app": os.environ.get("FLASHDRIVE_APP", ""),
        "stack": os.environ.get("FLASHDRIVE_STACK", ""),
    }


def healthz(request):
    # No database, no Redis: a slow Postgres must not take every copy out.
    return JsonResponse({"ok": True})


@require_GET
def index(request):
    me = whoami()
    Visit.objects.create(node=me["node"])
    return JsonResponse({**me, "visits": Visit.objects.count(), "db_vendor": connection.vendor})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def files(request, name):
    """POST writes MEDIA_ROOT/<name> from the body, GET reads it back (UTF-8 text)."""
    if not SAFE_NAME.fullmatch(name) or name in {".", ".."}:
        return JsonResponse({"error": "name must match [A-Za-z0-9._-]+"}, status=400)
    root = Path(settings.MEDIA_ROOT)
    path = root / name
    node = os.environ.get("FLASHDRIVE_NODE", "")
    if request.method == "POST":
        root.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a copy reading the shared disk never sees half a file.
        tmp = root / f".{name}.{uuid.uuid4().hex}.tmp"
        tmp.write_bytes(request.body)
        os.replace(tmp, path)
        return JsonResponse({"name": name, "size": len(request.body), "node": node}, status=201)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return JsonResponse({"error": f"no file {name}", "node": node}, status=404)
    return JsonResponse(
        {"name": name, "size": len(content), "content": content.decode("utf-8", "replace"), "node": node}
    )


@csrf_exempt
@require_POST
def create_job(request):
    try:
        payload = json.loads(request.body)["payload"]
    except (ValueError, KeyError, TypeError):
        payload = None
    if not isinstance(payload, str):
        return JsonResponse({"error": 'send JSON {"payload": "some text"}'}, status=400)
    job = Job.objects.create(payload=payload)  # committed now (autocommit), before the worker looks
    try:
        queue.push(job.id)
    except Exception as exc:  # Redis down: say so instead of leaving a job nobody will run
        log.exception("could not queue job %s", job.id)
        job.status, job.result = Job.FAILED, f"could not queue: {exc}"
        job.save(update_fields=["status", "result", "updated_at"])
        return JsonResponse({**job.as_dict(), "node": whoami()["node"]}, status=503)
    return JsonResponse({**job.as_dict(), "node": whoami()["node"]}, status=202)


@require_GET
def job_detail(request, job_id):
    job = Job.objects.filter(id=job_id).first()
    if job is None:
        return JsonResponse({"error": f"no job {job_id}"}, status=404)
    return JsonResponse({**job.as_dict(), "node": whoami()["node"]})
