"""Worker processes for CPU-bound work (extraction and per-article enrichment), one task at a time each.

Why not `concurrent.futures.ProcessPoolExecutor`: it cannot stop one task. Here
- a task that runs past `time_limit` has its worker killed and replaced, and only that task fails
  (`WorkerTimeout`); a worker that dies (out of memory, a crash in a native parser) fails only its
  task (`WorkerCrashed`) and is replaced too;
- anything a task raises, `BaseException` included (a Rust panic surfaces as pyo3's
  `PanicException`, which is not an `Exception`), comes back as a `TaskFailed` with its type and
  message, and the worker lives on;
- workers die with their parent, even on `kill -9`: `PR_SET_PDEATHSIG` on Linux, and on every
  system a watchdog thread that exits when the parent process is gone;
- workers are forked by the pool's own thread (it lives as long as the pool), started at once so
  their models load while feeds are polled.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

log = logging.getLogger("ingest.workers")
PR_SET_PDEATHSIG = 1


class WorkerError(Exception):
    """A task did not produce a result; the message says why, in one line."""


class WorkerTimeout(WorkerError):
    pass


class WorkerCrashed(WorkerError):
    pass


class TaskFailed(WorkerError):
    pass


class WorkerStopped(WorkerError):
    """The pool was shut down with `kill_running` before the task finished: nothing is wrong with the task."""


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _worker_main(conn: Connection, parent_pid: int, initializer: Callable | None, initargs: tuple) -> None:
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if initializer is not None:
        try:
            initializer(*initargs)
        except BaseException:  # noqa: BLE001 - a failed warm-up only costs time on the first task
            log.debug("worker initializer failed", exc_info=True)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        func, args = message
        try:
            reply = ("ok", func(*args))
        except BaseException as exc:  # noqa: BLE001 - panics from native code derive from BaseException
            reply = ("error", f"{type(exc).__name__}: {exc}"[:500])
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - a result that cannot be pickled fails its task only
            conn.send(("error", f"result not sendable: {type(exc).__name__}: {exc}"[:500]))


@dataclass
class _Worker:
    process: mp.process.BaseProcess
    conn: Connection
    task: tuple[Future, Callable, tuple] | None = None
    deadline: float = 0.0


class WorkerPool:
    def __init__(self, workers: int, initializer: Callable | None = None, initargs: tuple = (),
                 time_limit: float = 60.0):
        self.size, self.time_limit = max(1, workers), time_limit
        self._initializer, self._initargs = initializer, initargs
        self._ctx = mp.get_context("fork")  # workers inherit the loaded modules: no re-import per worker
        self._tasks: deque[tuple[Future, Callable, tuple]] = deque()
        self._lock = threading.Lock()
        self._closed = False
        self._abort = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._workers: list[_Worker] = []
        self.replaced = 0  # workers killed (time limit) or dead and replaced
        self._thread = threading.Thread(target=self._run, daemon=True, name="worker-pool")
        self._thread.start()

    # -- public ----------------------------------------------------------------------------------

    def submit(self, func: Callable, *args) -> Future:
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("worker pool is shut down")
            self._tasks.append((future, func, args))
        self._wake()
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = True, kill_running: bool = False) -> None:
        """Stop the workers once the running tasks are done (at once with `kill_running`)."""
        with self._lock:
            self._closed = True
            self._abort = self._abort or kill_running
            if cancel_futures:
                while self._tasks:
                    self._tasks.popleft()[0].cancel()
        self._wake()
        if wait:
            self._thread.join()

    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process.pid]

    # -- the pool's thread -----------------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"x")

    def _start_worker(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_worker_main, args=(child, os.getpid(), self._initializer, self._initargs),
                                    daemon=True, name="ingest-worker")
        process.start()
        child.close()
        return _Worker(process, parent)

    def _run(self) -> None:
        try:
            self._workers = [self._start_worker() for _ in range(self.size)]
            while True:
                with self._lock:
                    closing = self._closed
                    self._assign()
                busy = [w for w in self._workers if w.task]
                if closing and self._abort:
                    for w in busy:
                        if w.task is not None:
                            w.task[0].set_exception(WorkerStopped("stopped before the task finished"))
                        w.task = None
                    return
                if closing and not busy and not self._tasks:
                    return
                self._wait(busy)
        finally:
            self._stop_workers()

    def _assign(self) -> None:
        for w in self._workers:
            while w.task is None and self._tasks:
                future, func, args = self._tasks.popleft()
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    w.conn.send((func, args))
                except Exception as exc:  # noqa: BLE001 - arguments that cannot be pickled fail this task only
                    future.set_exception(TaskFailed(f"task not sendable: {type(exc).__name__}: {exc}"[:500]))
                    continue
                w.task, w.deadline = (future, func, args), time.monotonic() + self.time_limit

    def _wait(self, busy: list[_Worker]) -> None:
        timeout = max(0.0, min((w.deadline for w in busy), default=time.monotonic() + 1.0) - time.monotonic())
        handles: dict[Any, _Worker] = {}  # a worker's connection and its process sentinel -> the worker
        for w in busy:
            handles[w.conn] = w
            handles[w.process.sentinel] = w
        for ready in wait([self._wake_r, *handles], timeout=timeout):
            if ready == self._wake_r:
                with contextlib.suppress(BlockingIOError, OSError):
                    os.read(self._wake_r, 4096)
                continue
            w = handles[ready]
            if w.task is not None:
                self._collect(w)
        now = time.monotonic()
        for w in busy:
            if w.task is not None and now > w.deadline:
                self._replace(w, WorkerTimeout(f"extraction took longer than {self.time_limit:g}s; worker replaced"))

    def _collect(self, w: _Worker) -> None:
        if w.task is None:
            return
        future = w.task[0]
        try:
            if not w.conn.poll():
                raise EOFError  # the sentinel fired: the process is gone
            status, value = w.conn.recv()
        except (EOFError, OSError):
            code = w.process.exitcode
            self._replace(w, WorkerCrashed(f"extraction worker died (exit code {code}); worker replaced"))
            return
        w.task = None
        if status == "ok":
            future.set_result(value)
        else:
            future.set_exception(TaskFailed(value))

    def _replace(self, w: _Worker, error: WorkerError) -> None:
        future = w.task[0] if w.task else None
        w.task = None
        self._kill(w)
        self.replaced += 1
        log.warning("%s", error)
        index = self._workers.index(w)
        if not self._closed:
            self._workers[index] = self._start_worker()
        else:
            del self._workers[index]
        if future is not None:
            future.set_exception(error)

    @staticmethod
    def _kill(w: _Worker) -> None:
        with contextlib.suppress(Exception):
            w.process.kill()
            w.process.join(5)
        w.conn.close()

    def _stop_workers(self) -> None:
        for w in self._workers:
            with contextlib.suppress(Exception):
                w.conn.send(None)
        deadline = time.monotonic() + 3.0
        for w in self._workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
            if w.process.is_alive():
                self._kill(w)
            else:
                w.conn.close()
        self._workers = []
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
