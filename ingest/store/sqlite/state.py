"""Local state on SQLite: feed polling state, seen entries, the pending queue, raw pages, signatures
and pending alert evaluations. Always an SQLite file, whichever index is configured."""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

from ingest.models import FeedState, PendingEntry
from ingest.store.base import ClusterCandidate
from ingest.store.dates import from_iso, to_iso
from ingest.store.protocols import ClusterUpdate
from ingest.store.sqlite.schema import SQLiteDatabase


def _state_to_json(state: FeedState) -> str:
    data = {}
    for f in fields(FeedState):
        value = getattr(state, f.name)
        data[f.name] = to_iso(value) if isinstance(value, datetime) else value
    return json.dumps(data)


def _state_from_json(text: str) -> FeedState:
    data = json.loads(text)
    known = {f.name for f in fields(FeedState)}
    data = {k: v for k, v in data.items() if k in known}
    for key in ("last_poll", "last_success", "last_new", "next_poll"):
        data[key] = from_iso(data.get(key))
    return FeedState(**data)


class SQLiteState:
    """The `LocalState` seam over an `SQLiteDatabase` (shared with the SQLite index when that is the index)."""

    def __init__(self, db: SQLiteDatabase):
        self.db = db
        self.path = db.path

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group many small writes (entries seen, raw pages, articles on SQLite) into one commit."""
        with self.db.transaction():
            yield

    def backup(self, target: str | Path) -> int:
        return self.db.backup(target)

    def close(self) -> None:
        self.db.close()

    def query(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        return self.db.query(sql, params)

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.db.transaction()

    # -- feeds -----------------------------------------------------------------------------------

    def get_feed_state(self, url: str) -> FeedState | None:
        rows = self.query("SELECT state FROM feeds WHERE url = ?", (url,))
        return _state_from_json(rows[0]["state"]) if rows else None

    def save_feed_state(self, state: FeedState) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO feeds(url, state) VALUES (?, ?) ON CONFLICT(url) DO UPDATE SET state = excluded.state",
                       (state.url, _state_to_json(state)))

    def list_feed_states(self) -> list[FeedState]:
        return [_state_from_json(r["state"]) for r in self.query("SELECT state FROM feeds ORDER BY url")]

    def forget_feed(self, url: str) -> dict[str, int]:
        """Remove what polling kept about a feed: its state, its seen-entry keys and the raw pages of
        articles no other feed brought. Its stored articles stay (delete them separately)."""
        with self.transaction() as db:
            raw = db.execute("DELETE FROM raw_pages WHERE article_id IN (SELECT article_id FROM entries WHERE "
                             "feed_url = ?) AND article_id NOT IN (SELECT article_id FROM entries WHERE "
                             "feed_url != ?)", (url, url)).rowcount
            entries = db.execute("DELETE FROM entries WHERE feed_url = ?", (url,)).rowcount
            state = db.execute("DELETE FROM feeds WHERE url = ?", (url,)).rowcount
        return {"feed_state": state, "entries": entries, "raw_pages": raw}

    # -- entries ---------------------------------------------------------------------------------

    def known_entries(self, keys: Iterable[str]) -> dict[str, str]:
        keys = list(dict.fromkeys(keys))
        out: dict[str, str] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.query(f"SELECT key, article_id FROM entries WHERE key IN ({marks})", chunk):
                out[row["key"]] = row["article_id"]
        return out

    def record_entries(self, feed_url: str, pairs: Iterable[tuple[str, str]]) -> None:
        now = to_iso(datetime.now(UTC))
        with self.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO entries(key, feed_url, article_id, seen) VALUES (?, ?, ?, ?)",
                           [(k, feed_url, a, now) for k, a in pairs])

    # -- pending entries (the durable queue between polling and storing) ------------------------

    def save_poll(self, state: FeedState, queued: list[PendingEntry], seen: list[tuple[str, str, str]]) -> None:
        """A successful poll in one transaction: the feed's new state (validators, body hash) together
        with its new entries queued and the (feed_url, key, article id) keys of entries already known."""
        now = to_iso(datetime.now(UTC))
        with self.transaction() as db:
            db.execute("INSERT INTO feeds(url, state) VALUES (?, ?) ON CONFLICT(url) DO UPDATE SET state = excluded.state",
                       (state.url, _state_to_json(state)))
            db.executemany("INSERT OR IGNORE INTO entries(key, feed_url, article_id, seen) VALUES (?, ?, ?, ?)",
                           [(k, f, a, now) for f, k, a in seen])
            db.executemany("INSERT OR IGNORE INTO pending(article_id, feed_url, feed_name, entry, keys, queued) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                           [(p.article_id, p.feed_url, p.feed_name, p.entry_json(), json.dumps(p.keys), now)
                            for p in queued])

    def pending_entries(self, due: datetime | None = None, per_feed: int | None = None) -> list[PendingEntry]:
        """Queued entries in queue order, those due by `due` only, at most `per_feed` of each feed."""
        rows = self.query(
            "SELECT * FROM (SELECT rowid AS seq, *, row_number() OVER (PARTITION BY feed_url ORDER BY rowid) AS n "
            "FROM pending WHERE next_try IS NULL OR next_try <= ?) WHERE n <= ? ORDER BY seq",
            (to_iso(due) if due else "9999", per_feed or 2**62))
        return [PendingEntry(entry=PendingEntry.entry_from_json(r["entry"]), article_id=r["article_id"],
                             keys=json.loads(r["keys"]), feed_name=r["feed_name"], attempts=r["attempts"],
                             next_try=from_iso(r["next_try"]), last_error=r["last_error"], stub=bool(r["stub"]),
                             seq=r["seq"], feed_url=r["feed_url"]) for r in rows]

    def settle_entries(self, done: list[PendingEntry], retry: list[PendingEntry],
                       dead: list[tuple[PendingEntry, str]]) -> None:
        """Take stored and dead entries off the queue (dead ones recorded with their reason and their
        keys marked seen, so they are never fetched again); keep retried ones with their new schedule."""
        now = to_iso(datetime.now(UTC))
        with self.transaction() as db:
            gone = done + [p for p, _ in dead]
            db.executemany("DELETE FROM pending WHERE article_id = ? AND feed_url = ?",
                           [(p.article_id, p.feed_url) for p in gone])
            db.executemany("UPDATE pending SET attempts = ?, next_try = ?, last_error = ?, stub = ? "
                           "WHERE article_id = ? AND feed_url = ?",
                           [(p.attempts, to_iso(p.next_try), p.last_error, int(p.stub), p.article_id, p.feed_url)
                            for p in retry])
            db.executemany("INSERT OR REPLACE INTO dead_entries VALUES (?, ?, ?, ?, ?)",
                           [(p.article_id, p.feed_url, p.entry.link, reason[:500], now) for p, reason in dead])
            db.executemany("INSERT OR IGNORE INTO entries(key, feed_url, article_id, seen) VALUES (?, ?, ?, ?)",
                           [(k, p.entry.feed_url, p.article_id, now) for p, _ in dead for k in p.keys])

    def queue_summary(self) -> dict[str, dict]:
        """Per feed: entries queued, of them waiting for a page retry, dead entries, the next retry and last error."""
        out: dict[str, dict] = {}
        for r in self.query("SELECT feed_url, count(*) AS queued, sum(attempts > 0) AS retrying, "
                            "min(next_try) AS next_try, max(CASE WHEN attempts > 0 THEN last_error END) AS last_error "
                            "FROM pending GROUP BY feed_url"):
            out[r["feed_url"]] = {"queued": r["queued"], "retrying": r["retrying"] or 0, "dead": 0,
                                  "next_retry": from_iso(r["next_try"]), "last_retry_error": r["last_error"]}
        for r in self.query("SELECT feed_url, count(*) AS n FROM dead_entries GROUP BY feed_url"):
            out.setdefault(r["feed_url"], {"queued": 0, "retrying": 0, "next_retry": None,
                                           "last_retry_error": None})["dead"] = r["n"]
        return out

    def dead_entries(self, feed_url: str | None = None, limit: int = 100) -> list[dict]:
        sql = "SELECT * FROM dead_entries" + (" WHERE feed_url = ?" if feed_url else "")
        return [dict(r) for r in self.query(sql + " ORDER BY recorded DESC LIMIT ?",
                                            ([feed_url] if feed_url else []) + [limit])]

    # -- signatures (syndication clustering) -------------------------------------------------------

    def cluster_candidates(self, since: datetime) -> list[ClusterCandidate]:
        rows = self.query("SELECT * FROM signatures WHERE published IS NULL OR published >= ?", (to_iso(since),))
        return [ClusterCandidate(r["article_id"], r["domain"], from_iso(r["published"]), r["cluster_id"],
                                 r["signature"]) for r in rows]

    def save_signature(self, article_id: str, domain: str, published: datetime | None, cluster_id: str | None,
                       signature: bytes) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO signatures VALUES (?, ?, ?, ?, ?)",
                       (article_id, domain, to_iso(published), cluster_id, signature))

    def set_clusters(self, updates: list[ClusterUpdate]) -> None:
        """The signatures' side of a cluster change (the index updates its articles)."""
        with self.transaction() as db:
            for article_ids, cluster_id, _original in updates:
                db.executemany("UPDATE signatures SET cluster_id = ? WHERE article_id = ?",
                               [(cluster_id, aid) for aid in article_ids])

    # -- raw pages -------------------------------------------------------------------------------

    def save_raw(self, article_id: str, html: bytes, content_type: str | None = None) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO raw_pages VALUES (?, ?, ?, ?)",
                       (article_id, zlib.compress(html, 1), content_type, to_iso(datetime.now(UTC))))

    def get_raw(self, article_id: str) -> tuple[bytes, str | None] | None:
        rows = self.query("SELECT html, content_type FROM raw_pages WHERE article_id = ?", (article_id,))
        return (zlib.decompress(rows[0]["html"]), rows[0]["content_type"]) if rows else None

    def purge_raw(self, older_than: datetime) -> int:
        with self.transaction() as db:
            return db.execute("DELETE FROM raw_pages WHERE stored < ?", (to_iso(older_than),)).rowcount

    # -- pending alert evaluations -----------------------------------------------------------------

    def add_pending_alerts(self, article_ids: Iterable[str]) -> None:
        now = to_iso(datetime.now(UTC))
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO alert_pending(article_id, queued) VALUES (?, ?)",
                           [(i, now) for i in article_ids])

    def pending_alert_ids(self, limit: int = 500, older_than: datetime | None = None) -> list[str]:
        """Articles whose rule evaluation has not completed (oldest first)."""
        rows = self.query("SELECT article_id FROM alert_pending WHERE queued <= ? ORDER BY queued LIMIT ?",
                          (to_iso(older_than) if older_than else "9999", limit))
        return [r["article_id"] for r in rows]

    def clear_pending_alerts(self, article_ids: Iterable[str]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM alert_pending WHERE article_id = ?", [(i,) for i in article_ids])

    def forget_articles(self, article_ids: list[str]) -> None:
        """What this ingester kept about deleted articles: their raw pages and signatures."""
        for start in range(0, len(article_ids), 500):
            chunk = article_ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            with self.transaction() as db:
                db.execute(f"DELETE FROM raw_pages WHERE article_id IN ({marks})", chunk)
                db.execute(f"DELETE FROM signatures WHERE article_id IN ({marks})", chunk)
