"""Per-host politeness: a concurrency limit, a minimum gap between requests, and Retry-After."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class HostLimiter:
    def __init__(self, concurrency: int = 2, min_interval: float = 0.5, clock=time.monotonic, sleep=time.sleep):
        self.concurrency = concurrency
        self.min_interval = min_interval
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._slots: dict[str, threading.Semaphore] = {}
        self._last_start: dict[str, float] = {}
        self._blocked_until: dict[str, float] = {}

    def blocked_for(self, host: str) -> float:
        """Seconds until the host may be asked again after a 429/503 with Retry-After (0 if free)."""
        with self._lock:
            return max(0.0, self._blocked_until.get(host, 0.0) - self._clock())

    def defer(self, host: str, seconds: float) -> None:
        with self._lock:
            until = self._clock() + seconds
            self._blocked_until[host] = max(until, self._blocked_until.get(host, 0.0))

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of the host's concurrency slots, starting no sooner than min_interval after the last start.

        The start is claimed when the thread actually runs, not reserved ahead: a thread that wakes
        late from its wait (a busy machine) must not end up right behind the next one."""
        with self._lock:
            sem = self._slots.setdefault(host, threading.Semaphore(self.concurrency))
        sem.acquire()
        try:
            while True:
                with self._lock:
                    now = self._clock()
                    start = max(self._last_start.get(host, float("-inf")) + self.min_interval,
                                self._blocked_until.get(host, 0.0))
                    if start <= now:
                        self._last_start[host] = now
                        break
                self._sleep(start - now)
            yield
        finally:
            sem.release()
