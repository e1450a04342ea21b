from django.db import models


class Visit(models.Model):
    """One row per GET /: counting them proves the release migration ran."""

    node = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class Job(models.Model):
    """Work handed from the web app to the worker through Redis."""

    QUEUED, DONE, FAILED = "queued", "done", "failed"
    STATUSES = [(QUEUED, QUEUED), (DONE, DONE), (FAILED, FAILED)]

    payload = models.TextField()
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED)
    result = models.TextField(blank=True)
    handled_by = models.CharField(max_length=60, blank=True)  # worker app.node
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def as_dict(self):
        return {
            "id": self.id,
            "status": self.status,
            "payload": self.payload,
            "result": self.result,
            "handled_by": self.handled_by,
        }
