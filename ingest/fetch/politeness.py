"""Per-host politeness: a concurrency limit, a minimum gap between requests, and Retry-After.

`HostLimiter` enforces the limits where a request is sent (shared by feed polls and page fetches).
`HostQueues` decides which page to fetch next: one FIFO queue per host, served round-robin, and
a page is handed out only when its host may be asked now. So fetch threads never sit in one
host's slot while other hosts are free: N hosts give N times one host's polite rate.

Both take `overrides`: a host's own (concurrency, min_interval) from a request profile
(`ingest.sources.profile`: a feed's or a site's `politeness:`), else the global settings.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Overrides = Callable[[str], tuple[int, float] | None]  # host -> (concurrency, min_interval) from a request profile


def _no_overrides(_host: str) -> None:
    return None


class HostLimiter:
    def __init__(self, concurrency: int = 2, min_interval: float = 0.5, clock=time.monotonic, sleep=time.sleep,
                 overrides: Overrides | None = None):
        self.concurrency = concurrency
        self.min_interval = min_interval
        self.overrides = overrides or _no_overrides
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
        concurrency, min_interval = self.overrides(host) or (self.concurrency, self.min_interval)
        with self._lock:
            sem = self._slots.setdefault(host, threading.Semaphore(concurrency))
        sem.acquire()
        try:
            while True:
                with self._lock:
                    now = self._clock()
                    start = max(self._last_start.get(host, float("-inf")) + min_interval,
                                self._blocked_until.get(host, 0.0))
                    if start <= now:
                        self._last_start[host] = now
                        break
                self._sleep(start - now)
            yield
        finally:
            sem.release()

    def sent(self, host: str) -> None:
        """The request has reached the server (its response began): the next one waits `min_interval`
        from now, not only from this one's start. So the gap holds as the server sees it, even when a
        busy client sends a request late in its slot."""
        with self._lock:
            self._last_start[host] = max(self._last_start.get(host, float("-inf")), self._clock())


class HostQueues:
    """Per-host FIFO queues served round-robin, each host at most `concurrency` items out at once and
    its items handed out at least `min_interval` apart (the same limits as the `HostLimiter`, which
    still guards the actual requests). Not thread-safe: one dispatcher thread takes, any thread
    may call `finished`."""

    def __init__(self, concurrency: int, min_interval: float, clock=time.monotonic, overrides: Overrides | None = None):
        self.concurrency, self.min_interval, self._clock = concurrency, min_interval, clock
        self.overrides = overrides or _no_overrides
        self._queues: dict[str, deque] = {}
        self._order: list[str] = []
        self._next = 0
        self._out: dict[str, int] = {}
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def put(self, host: str, item) -> None:
        if host not in self._queues:
            self._queues[host] = deque()
            self._order.append(host)
        self._queues[host].append(item)

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def take(self) -> tuple[str | None, object, float]:
        """(host, item, 0) for the next host in turn that may be asked now, else (None, None, seconds to wait)."""
        now = self._clock()
        wait = float("inf")
        with self._lock:
            n = len(self._order)
            for i in range(n):
                host = self._order[(self._next + i) % n]
                if not self._queues[host]:
                    continue
                concurrency, min_interval = self.overrides(host) or (self.concurrency, self.min_interval)
                if self._out.get(host, 0) >= concurrency:
                    continue  # a slot frees when one of its requests finishes: `finished` wakes nobody, poll
                ready = self._last.get(host, float("-inf")) + min_interval
                if ready > now:
                    wait = min(wait, ready - now)
                    continue
                self._next = (self._next + i + 1) % n
                self._out[host] = self._out.get(host, 0) + 1
                self._last[host] = now
                return host, self._queues[host].popleft(), 0.0
        return None, None, wait

    def finished(self, host: str) -> None:
        with self._lock:
            self._out[host] -= 1

    def drain(self) -> list:
        """Every item not handed out yet (the run is stopping)."""
        items = [item for host in self._order for item in self._queues[host]]
        for q in self._queues.values():
            q.clear()
        return items
