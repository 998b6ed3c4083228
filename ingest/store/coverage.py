"""Local state for coverage (issue 19): backfill queueing, the article re-check schedule, article versions.

Kept in the local SQLite state on every backend (the SQLite store's own file, or the Elasticsearch /
OpenSearch store's local file), so both backends show the same versions and schedule:

    update_checks     one row per article still watched for updates: the page URL, its validators
                      (ETag, Last-Modified) for a conditional GET, how many re-checks were done and
                      when the next is due. Durable: a killed daemon finds its due re-checks again.
    article_versions  the versions an article had before an update replaced them: when that version
                      was first seen, its title, text hash, full text and a short summary of the
                      change that replaced it (`+N/-M sentences`, `title changed`).

Backfill queues its URLs into the ordinary pending queue (`enqueue`, one transaction, INSERT OR
IGNORE: a re-run never queues an entry twice), under a queue key of its own so that feed polls never
take them; the pipeline then stores them like any polled entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from ingest.models import PendingEntry
from ingest.store.dates import from_iso, to_iso

if TYPE_CHECKING:
    from ingest.store import Backends
    from ingest.store.protocols import Index, LocalState
    from ingest.store.sqlite.state import SQLiteState

SCHEMA = """
CREATE TABLE IF NOT EXISTS update_checks (
    article_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    first_seen TEXT NOT NULL,
    checks INTEGER NOT NULL DEFAULT 0,
    next_check TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS update_checks_due ON update_checks(next_check);
CREATE TABLE IF NOT EXISTS article_versions (
    article_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    seen TEXT NOT NULL,
    replaced TEXT NOT NULL,
    title TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    change TEXT NOT NULL,
    PRIMARY KEY (article_id, version)
);
"""


@dataclass(slots=True)
class UpdateCheck:
    """A due (or scheduled) re-check of one article's page."""

    article_id: str
    url: str
    etag: str | None
    last_modified: str | None
    first_seen: datetime
    checks: int
    next_check: datetime


@dataclass(slots=True)
class Version:
    """One earlier version of an article (the current one is the stored article itself)."""

    version: int
    seen: datetime        # first seen in this form
    replaced: datetime    # when the next version replaced it
    title: str
    text_hash: str
    body: str
    change: str           # what the replacing version changed, e.g. "+2/-1 sentences, title changed"

    def to_dict(self, text: bool = True) -> dict:
        data = {"version": self.version, "seen": self.seen.isoformat(), "replaced": self.replaced.isoformat(),
                "title": self.title, "text_hash": self.text_hash, "change": self.change}
        if text:
            data["text"] = self.body
        return data


def local_state(store: Backends) -> SQLiteState:
    """The local SQLite state (`transaction()` and `query()`) of the store pair."""
    return cast("SQLiteState", store.state)


def seams(store: Backends) -> tuple[LocalState, Index]:
    """(local state, index) of the store pair."""
    return store.state, store.index


class CoverageState:
    def __init__(self, store: Backends):
        self.db = local_state(store)
        if not self.db.db.read_only:
            with self.db.transaction() as db:  # statement by statement: executescript would end the transaction
                for statement in filter(str.strip, SCHEMA.split(";")):
                    db.execute(statement)

    # -- backfill -----------------------------------------------------------------------------

    def enqueue(self, queued: list[PendingEntry]) -> int:
        """Queue entries in one transaction; entries already queued stay as they are. Returns how many are new."""
        now = to_iso(datetime.now(UTC))
        with self.db.transaction() as db:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO pending(article_id, feed_url, feed_name, entry, keys, queued) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                           [(p.article_id, p.feed_url, p.feed_name, p.entry_json(), json.dumps(p.keys), now)
                            for p in queued])
            return db.total_changes - before

    def queued_ids(self, queue_key: str) -> set[str]:
        return {r[0] for r in self.db.query("SELECT article_id FROM pending WHERE feed_url = ?", (queue_key,))}

    def queue_counts(self, queue_key: str) -> tuple[int, int]:
        """(entries queued under this key, of them waiting for a page retry)."""
        row = self.db.query("SELECT count(*), coalesce(sum(attempts > 0), 0) FROM pending WHERE feed_url = ?",
                            (queue_key,))[0]
        return int(row[0]), int(row[1])

    # -- the re-check schedule -------------------------------------------------------------------

    def schedule(self, checks: Iterable[UpdateCheck]) -> None:
        """Watch these articles (an article already watched keeps its schedule and first-seen time)."""
        with self.db.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO update_checks VALUES (?, ?, ?, ?, ?, ?, ?)",
                           [(c.article_id, c.url, c.etag, c.last_modified, to_iso(c.first_seen), c.checks,
                             to_iso(c.next_check)) for c in checks])

    def due(self, now: datetime, limit: int = 200) -> list[UpdateCheck]:
        rows = self.db.query("SELECT * FROM update_checks WHERE next_check <= ? ORDER BY next_check LIMIT ?",
                             (to_iso(now), limit))
        return [UpdateCheck(article_id=r["article_id"], url=r["url"], etag=r["etag"],
                            last_modified=r["last_modified"], first_seen=from_iso(r["first_seen"]) or now,
                            checks=r["checks"], next_check=from_iso(r["next_check"]) or now) for r in rows]

    def checked(self, check: UpdateCheck, next_check: datetime | None) -> None:
        """Record a re-check: the next one is due at `next_check`; None ends the watch."""
        with self.db.transaction() as db:
            if next_check is None:
                db.execute("DELETE FROM update_checks WHERE article_id = ?", (check.article_id,))
            else:
                db.execute("UPDATE update_checks SET etag = ?, last_modified = ?, checks = ?, next_check = ? "
                           "WHERE article_id = ?", (check.etag, check.last_modified, check.checks,
                                                    to_iso(next_check), check.article_id))

    def watched(self) -> int:
        return int(self.db.query("SELECT count(*) FROM update_checks")[0][0])

    # -- versions -------------------------------------------------------------------------------

    def add_version(self, article_id: str, seen: datetime, replaced: datetime, title: str, text_hash: str,
                    body: str, change: str) -> int:
        """Keep the version an update replaced; returns its number (1 = the first version seen)."""
        with self.db.transaction() as db:
            row = db.execute("SELECT coalesce(max(version), 0) FROM article_versions WHERE article_id = ?",
                             (article_id,)).fetchone()
            number = int(row[0]) + 1
            db.execute("INSERT INTO article_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (article_id, number, to_iso(seen), to_iso(replaced), title, text_hash, body, change))
        return number

    def versions(self, article_id: str) -> list[Version]:
        rows = self.db.query("SELECT * FROM article_versions WHERE article_id = ? ORDER BY version", (article_id,))
        return [Version(version=r["version"], seen=from_iso(r["seen"]) or datetime.now(UTC),
                        replaced=from_iso(r["replaced"]) or datetime.now(UTC), title=r["title"],
                        text_hash=r["text_hash"], body=r["body"], change=r["change"]) for r in rows]
