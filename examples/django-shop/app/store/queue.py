"""The Redis list that carries job ids from the web app to the worker."""

import redis
from django.conf import settings

QUEUE = "jobs"


def connect(**options):
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=5, **options)


def push(job_id):
    connect(socket_timeout=5).lpush(QUEUE, job_id)
