"""WebSub subscriptions in the local state (`store.sqlite_path`, both backends): one row per feed.

Its own table and connection beside the store's (the file is in WAL mode, so they do not block
each other for long). The `secret` column holds each subscription's HMAC key: it never leaves
this file except in the subscribe request to the hub, and it is registered with `ingest.redact`
whenever it is read.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ingest.redact import redact, register_secret

SCHEMA = """
CREATE TABLE IF NOT EXISTS websub_subscriptions (
    feed_url TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    hub TEXT NOT NULL,
    topic TEXT NOT NULL,
    secret TEXT NOT NULL,
    state TEXT NOT NULL,
    requested REAL,
    lease_seconds INTEGER,
    verified REAL,
    expires REAL,
    pushes INTEGER NOT NULL DEFAULT 0,
    last_push REAL,
    refused INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
"""


class SubState(StrEnum):
    """Where a subscription stands (a closed set: `ingest status` shows it)."""

    PENDING = "pending"      # asked the hub; waiting for its verification request
    ACTIVE = "active"        # verified: pushes are accepted until `expires` (renewed before)
    DENIED = "denied"        # the hub refused (hub.mode=denied): polling only
    FAILED = "failed"        # the subscribe request failed (network, hub answered an error): retried later
    UNSUBSCRIBING = "unsubscribing"  # the feed left feeds.yaml: unsubscribe asked, row removed once verified


@dataclass(slots=True)
class Subscription:
    feed_url: str
    id: str
    hub: str
    topic: str
    secret: str
    state: SubState = SubState.PENDING
    requested: float | None = None   # when the outstanding subscribe request was sent (None: none outstanding)
    lease_seconds: int | None = None
    verified: float | None = None
    expires: float | None = None
    pushes: int = 0
    last_push: float | None = None
    refused: int = 0                 # pushes refused (bad or missing signature)
    last_error: str | None = None

    def shown(self) -> dict:
        """For `ingest status`: everything but the secret."""
        return {"state": str(self.state), "hub": redact(self.hub), "topic": redact(self.topic), "expires": self.expires,
                "pushes": self.pushes, "last_push": self.last_push, "refused": self.refused,
                "last_error": self.last_error}


COLUMNS = ("feed_url", "id", "hub", "topic", "secret", "state", "requested", "lease_seconds", "verified", "expires",
           "pushes", "last_push", "refused", "last_error")


class SubscriptionStore:
    def __init__(self, path: str | Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _row(self, row) -> Subscription | None:
        if row is None:
            return None
        sub = Subscription(**dict(zip(COLUMNS, row, strict=True)))
        sub.state = SubState(sub.state)
        register_secret(sub.secret)
        return sub

    def get(self, feed_url: str) -> Subscription | None:
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM websub_subscriptions WHERE feed_url=?",
                                   (feed_url,)).fetchone()
        return self._row(row)

    def by_id(self, sub_id: str) -> Subscription | None:
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM websub_subscriptions WHERE id=?",
                                   (sub_id,)).fetchone()
        return self._row(row)

    def all(self) -> list[Subscription]:
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM websub_subscriptions").fetchall()
        return [s for s in (self._row(r) for r in rows) if s is not None]

    def save(self, sub: Subscription) -> None:
        values = [getattr(sub, c) for c in COLUMNS]
        values[COLUMNS.index("state")] = str(sub.state)
        with self._lock:
            self._db.execute(f"INSERT OR REPLACE INTO websub_subscriptions ({', '.join(COLUMNS)}) "
                             f"VALUES ({', '.join('?' * len(COLUMNS))})", values)

    def count_push(self, sub: Subscription, accepted: bool) -> None:
        column = "pushes" if accepted else "refused"
        with self._lock:
            self._db.execute(f"UPDATE websub_subscriptions SET {column}={column}+1, last_push=? WHERE id=?",
                             (time.time() if accepted else sub.last_push, sub.id))

    def remove(self, feed_url: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM websub_subscriptions WHERE feed_url=?", (feed_url,))


def subscriptions_by_feed(sqlite_path: str | Path) -> dict[str, dict]:
    """For `ingest status`: each subscribed feed's subscription (no secret); {} when there is none."""
    path = Path(sqlite_path)
    if not path.exists():
        return {}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return {}
    try:
        rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM websub_subscriptions").fetchall()
    except sqlite3.Error:  # no such table: WebSub never used with this state
        return {}
    finally:
        db.close()
    out = {}
    for row in rows:
        sub = Subscription(**dict(zip(COLUMNS, row, strict=True)))
        sub.state = SubState(sub.state)
        out[sub.feed_url] = sub.shown()
    return out
