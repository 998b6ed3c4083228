"""The outbox: article documents a cluster index has not confirmed yet, kept in the local SQLite file.

A cluster index (Elasticsearch, OpenSearch) never writes an article straight to the cluster: the
document goes into `es_outbox` in the local state's transaction (with the entries it settles and its
pending-alert record: one commit), and is sent with bulk requests after that transaction commits
(`SQLiteDatabase.after_commit`). While the cluster is down documents wait here; a crash mid-flush
re-sends them (idempotent by id), so nothing is lost or duplicated. A document the cluster refuses
for a mapping reason moves to `es_rejected` with the reason, never dropped.

The index adapter exposes its `Outbox` as `Index.outbox` (the `OutboxHook` maintenance hook: size,
flush, rejected); an index that writes directly has `outbox = None`. The adapter also keeps its
small local bookkeeping (a re-index cursor) here, in the file's `meta` table (`get_mark`/`set_mark`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from ingest.errors import StoreUnavailable
from ingest.store.dates import to_iso
from ingest.store.sqlite.state import SQLiteState

log = logging.getLogger("ingest.store.outbox")
OUTBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS es_outbox (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    queued TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS es_rejected (
    id TEXT PRIMARY KEY,
    url TEXT,
    doc TEXT NOT NULL,
    reason TEXT NOT NULL,
    rejected TEXT NOT NULL
);
"""


class Outbox:
    """Documents waiting for the index, in the local state's file. `send(wait)` is the index's flush."""

    def __init__(self, state: SQLiteState, send: Callable[[bool], int]):
        self.state = state
        self.db = state.db
        self._send = send
        self.db.ensure_schema(OUTBOX_SCHEMA)

    # -- the maintenance hook (OutboxHook) ---------------------------------------------------------

    def size(self) -> int:
        return self.db.query("SELECT count(*) FROM es_outbox")[0][0]

    def flush(self, wait: bool = False) -> int:
        """Send what waits; returns how many documents were written (see the index's `flush_outbox`)."""
        return self._send(wait)

    def rejected(self) -> list[dict]:
        return [dict(r) for r in self.db.query("SELECT id, url, reason, rejected FROM es_rejected")]

    # -- used by the index adapter -------------------------------------------------------------------

    def queue(self, docs: list[dict], alert_pending: bool = False, send: bool = False) -> None:
        """Queue documents (a queued one is replaced); with `alert_pending` their pending-alert records
        are written in the same commit; with `send` they are flushed once the outermost transaction
        (a pipeline batch, or this one) has committed."""
        now = to_iso(datetime.now(UTC))
        with self.db.transaction() as db:
            db.executemany("INSERT INTO es_outbox(id, doc, queued) VALUES (?, ?, ?) "
                           "ON CONFLICT(id) DO UPDATE SET doc = excluded.doc",
                           [(d["id"], json.dumps(d, ensure_ascii=False), now) for d in docs])
            if alert_pending:  # same commit as the outbox rows: a crash cannot keep one without the other
                self.state.add_pending_alerts(d["id"] for d in docs)
            if send:
                self.db.after_commit(self._flush_quietly)

    def flush_after_batch(self) -> None:
        """Inside a batch with nothing new to queue: still send what waits (left from a cluster outage)
        once the batch commits, as every batch does."""
        if self.db.in_transaction():
            self.db.after_commit(self._flush_quietly)

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except StoreUnavailable as exc:
            log.warning("%s; %d articles wait in the outbox", exc, self.size())

    def docs(self, ids: Iterable[str] | None = None) -> dict[str, dict]:
        """Queued documents by id: all of them, or those of `ids` that are queued."""
        if ids is None:
            rows = self.db.query("SELECT id, doc FROM es_outbox")
        else:
            wanted = list(ids)
            rows = []
            for i in range(0, len(wanted), 500):
                chunk = wanted[i:i + 500]
                rows += self.db.query(f"SELECT id, doc FROM es_outbox WHERE id IN ({','.join('?' * len(chunk))})",
                                      chunk)
        return {r["id"]: json.loads(r["doc"]) for r in rows}

    def oldest(self, limit: int) -> list[dict]:
        return [json.loads(r["doc"]) for r in
                self.db.query("SELECT id, doc FROM es_outbox ORDER BY queued LIMIT ?", (limit,))]

    def remove(self, ids: list[str]) -> None:
        """Sent: off the queue."""
        with self.db.transaction() as db:
            db.executemany("DELETE FROM es_outbox WHERE id = ?", [(i,) for i in ids])

    def reject(self, doc_id: str, doc: dict, reason: str) -> None:
        """Refused by the index for a mapping reason: kept aside with its URL and the reason."""
        with self.db.transaction() as db:
            db.execute("INSERT OR REPLACE INTO es_rejected VALUES (?, ?, ?, ?, ?)",
                       (doc_id, doc.get("url"), json.dumps(doc, ensure_ascii=False), reason,
                        to_iso(datetime.now(UTC))))
            db.execute("DELETE FROM es_outbox WHERE id = ?", (doc_id,))

    # -- the adapter's local bookkeeping ---------------------------------------------------------

    def get_mark(self, key: str) -> str | None:
        rows = self.db.query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_mark(self, key: str, value: str, keep: bool = False) -> None:
        """Set a meta value (`keep`: only when it is not set yet)."""
        with self.db.transaction() as db:
            db.execute(f"INSERT OR {'IGNORE' if keep else 'REPLACE'} INTO meta VALUES (?, ?)", (key, value))

    def clear_mark(self, key: str) -> None:
        with self.db.transaction() as db:
            db.execute("DELETE FROM meta WHERE key = ?", (key,))
