"""`python manage.py worker`: run jobs queued by POST /jobs (Procfile: worker)."""

import logging
import os
import signal
import time

import redis
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from store import queue
from store.models import Job

log = logging.getLogger("store.worker")


class Command(BaseCommand):
    help = "Take job ids from the Redis list 'jobs' and run them until SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=int, default=2,
                            help="seconds to block on Redis before checking for shutdown")
        parser.add_argument("--burst", action="store_true",
                            help="exit once the queue is empty (for tests)")

    def handle(self, *args, timeout, burst, **options):
        self.stopping = False
        # `docker stop` sends SIGTERM and waits 10 s: finish the current job, then exit.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.stop)
        me = f"{os.environ.get('FLASHDRIVE_APP', 'worker')}.{os.environ.get('FLASHDRIVE_NODE', '0')}"
        # The socket timeout must outlast the blocking pop, or every idle wait would error.
        conn = queue.connect(socket_timeout=timeout + 5)
        log.info("worker %s waiting for jobs on Redis list %r", me, queue.QUEUE)
        while not self.stopping:
            try:
                # LPUSH by the web app + BRPOP here = first in, first out.
                item = conn.brpop([queue.QUEUE], timeout=timeout)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("Redis unavailable (%s); retrying", exc)
                time.sleep(1)
                continue
            if item is None:
                if burst:
                    break
                continue
            self.run(int(item[1]), me)
        log.info("worker %s stopped", me)

    def stop(self, signum, frame):
        log.info("signal %s: stopping after the current job", signum)
        self.stopping = True

    def run(self, job_id, me):
        # A long-lived process must drop connections Postgres closed meanwhile.
        close_old_connections()
        job = Job.objects.filter(id=job_id).first()
        if job is None:
            log.warning("job %s is not in the database; skipped", job_id)
            return
        try:
            job.result = job.payload[::-1]
            job.status = Job.DONE
        except Exception as exc:  # a real job could fail; record it instead of dying
            job.result, job.status = f"{type(exc).__name__}: {exc}", Job.FAILED
        job.handled_by = me
        job.save(update_fields=["result", "status", "handled_by", "updated_at"])
        log.info("job %s %s by %s", job.id, job.status, me)
