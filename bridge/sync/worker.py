"""RQ workers that run jobs inside the app context, and the embedded in-process runtime."""

from __future__ import annotations

import logging
import threading

from flask import Flask
from rq import SimpleWorker
from rq.scheduler import RQScheduler
from rq.timeouts import TimerDeathPenalty

from bridge.sync import queue
from bridge.sync.relay import Relay

log = logging.getLogger(__name__)


class AppWorker(SimpleWorker):
    """A SimpleWorker (no fork) that runs each job in the Flask app's context."""

    app: Flask

    def perform_job(self, job, queue):
        """Open the app context around the job."""
        with self.app.app_context():
            return super().perform_job(job, queue)


class ThreadWorker(AppWorker):
    """A worker for a thread: no signal handlers, timer-based job timeouts (DESIGN.md)."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        """Signals only work in the main thread: install none."""


def make_worker(app: Flask, cls=AppWorker, queues=queue.QUEUES, **kwargs) -> AppWorker:
    """A worker of `cls` bound to the app, on the bridge's queues."""
    worker = cls([queue.get_queue(name, app) for name in queues], connection=queue.connection(app), **kwargs)
    worker.app = app
    return worker


class EmbeddedRuntime:
    """Worker threads plus the relay (and RQ's scheduler) in this process."""

    def __init__(self, app: Flask, workers: int = 1):
        self.app = app
        self.workers = [make_worker(app, ThreadWorker, worker_ttl=16) for _ in range(workers)]
        scheduler = RQScheduler([queue.get_queue(n, app) for n in queue.QUEUES], connection=queue.connection(app))
        self.relay = Relay(app, scheduler=scheduler)
        self.threads: list[threading.Thread] = []

    def start(self) -> "EmbeddedRuntime":
        """Start the threads."""
        for worker in self.workers:
            thread = threading.Thread(target=worker.work, kwargs={"with_scheduler": False, "logging_level": "WARNING"},
                                      name=worker.name, daemon=True)
            thread.start()
            self.threads.append(thread)
        relay_thread = threading.Thread(target=self.relay.run, name="relay", daemon=True)
        relay_thread.start()
        self.threads.append(relay_thread)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask every thread to stop and wait for them."""
        self.relay.stop()
        for worker in self.workers:
            worker._stop_requested = True
        for thread in self.threads:
            thread.join(timeout)
