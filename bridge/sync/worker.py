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

DEQUEUE_SLICE_SECONDS = 5
"""Longest wait for a job in one Redis call: under the client's socket timeout (10 s in queue.init_app),
else an idle worker reads the timeout as Redis lost and quits."""


class AppWorker(SimpleWorker):
    """A SimpleWorker (no fork) that runs each job in the Flask app's context."""

    app: Flask

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """Wait for a job in slices shorter than the Redis socket timeout (RQ loops over the slices)."""
        return super().dequeue_job_and_maintain_ttl(
            min(timeout, DEQUEUE_SLICE_SECONDS) if timeout else timeout, max_idle_time)

    def perform_job(self, job, queue):
        """Open the app context around the job."""
        with self.app.app_context():
            return super().perform_job(job, queue)


class ThreadWorker(AppWorker):
    """A worker for a thread: no signal handlers, timer-based job timeouts (DESIGN.md)."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        """Signals only work in the main thread: install none."""

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """Wait for a job in one-second slices, so a stop request is seen while idle."""
        while not self._stop_requested:
            result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time=1)
            if result is not None:
                return result
        return None


def make_worker(app: Flask, cls=AppWorker, queues=queue.QUEUES, **kwargs) -> AppWorker:
    """A worker of `cls` bound to the app, on the bridge's queues."""
    worker = cls([queue.get_queue(name, app) for name in queues], connection=queue.connection(app), **kwargs)
    worker.app = app
    return worker


class ThreadWorkers:
    """Worker threads, each restarted if its worker quits on an error (Redis gone a while)."""

    def __init__(self, app: Flask, count: int):
        self.app = app
        self.count = count
        self.workers: list[ThreadWorker] = []
        self.threads: list[threading.Thread] = []
        self.stopping = threading.Event()

    def _supervise(self) -> None:
        """Run a worker; if it quits, start a new one shortly."""
        while not self.stopping.is_set():
            worker = None
            try:
                worker = make_worker(self.app, ThreadWorker, worker_ttl=16)
                self.workers.append(worker)
                worker.work(with_scheduler=False, logging_level="WARNING")
            except Exception as exc:  # Redis gone, or the worker loop failed: start afresh shortly
                log.warning("worker thread stopped (%s); restarting", exc)
            finally:
                if worker in self.workers:
                    self.workers.remove(worker)
            self.stopping.wait(1.0)

    def start(self) -> "ThreadWorkers":
        """Start the threads."""
        for index in range(self.count):
            thread = threading.Thread(target=self._supervise, name=f"bridge-worker-{index}", daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask every worker to stop after its job and wait for the threads."""
        self.stopping.set()
        for worker in list(self.workers):
            worker._stop_requested = True
        for thread in self.threads:
            thread.join(timeout)


class EmbeddedRuntime:
    """Worker threads plus the relay (and RQ's scheduler) in this process."""

    def __init__(self, app: Flask, workers: int = 1):
        self.app = app
        self.pool = ThreadWorkers(app, workers)
        scheduler = RQScheduler([queue.get_queue(n, app) for n in queue.QUEUES], connection=queue.connection(app))
        self.relay = Relay(app, scheduler=scheduler)
        self.relay_thread: threading.Thread | None = None

    @property
    def workers(self) -> list[ThreadWorker]:
        """The running workers."""
        return self.pool.workers

    def start(self) -> "EmbeddedRuntime":
        """Start the threads."""
        from bridge.sync.reconcile_schedule import start_ticking

        start_ticking(self.app)
        self.pool.start()
        self.relay_thread = threading.Thread(target=self.relay.run, name="relay", daemon=True)
        self.relay_thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask every thread to stop and wait for them."""
        self.relay.stop()
        self.pool.stop(timeout)
        if self.relay_thread is not None:
            self.relay_thread.join(timeout)
