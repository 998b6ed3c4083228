"""Embedded store: one SQLite file (WAL), FTS5 for search. The default backend.

Tables: feeds (polling state), entries (feed item keys -> article id), pending (new entries
queued until their article is stored: written in the same transaction as the poll that found
them, and the page retry queue), dead_entries (entries whose page is gone, with the reason), articles,
articles_fts (title/body as written, stemmed per article language, and the stems of their compounds'
parts; the article's language; see ingest.query.analysis), raw_pages
(compressed HTML kept for re-cleaning), blocks + block_articles (learned boilerplate),
signatures (MinHash for syndication clusters), and the alert tables.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from ingest.enrich.compounds import parts_text
from ingest.errors import StoreError
from ingest.models import Article, FeedState, PendingEntry, SearchResult
from ingest.store import sqlite_aggregates
from ingest.store.base import (
    AlertRecord,
    ArticleSelection,
    BlockStat,
    ClusterCandidate,
    SearchRequest,
    SourceQuality,
)
from ingest.text import stem_text

log = logging.getLogger("ingest.store.sqlite")
SCHEMA_VERSION = 5
# Upgrades of an existing file: MIGRATIONS[v] is the SQL that takes a version v-1 file to version v.
# They run in order, each in one transaction, before SCHEMA (whose CREATE ... IF NOT EXISTS then adds
# whole new tables and indexes). A file written by a newer ingest is refused, never altered.
# Every schema change bumps SCHEMA_VERSION, adds its migration here and a line to CHANGELOG.md.
MIGRATIONS: dict[int, str] = {
    2: "ALTER TABLE articles ADD COLUMN places TEXT NOT NULL DEFAULT '[]';"
       "ALTER TABLE articles ADD COLUMN entities TEXT NOT NULL DEFAULT '[]'",
    3: "",  # the compound-parts columns of articles_fts: `_upgrade_fts` rebuilds the FTS table (and
            # `ingest reindex` fills them); an older ingest must not write to such a file
    4: "ALTER TABLE articles ADD COLUMN access TEXT NOT NULL DEFAULT 'unknown';"
       "ALTER TABLE articles ADD COLUMN published_precision TEXT;"
       "ALTER TABLE articles ADD COLUMN fetched_url TEXT;"
       "ALTER TABLE articles ADD COLUMN published_tz TEXT",
    5: "ALTER TABLE articles ADD COLUMN story_id TEXT",  # stories (enrich/stories.py); older articles: none
}
ADD_COLUMN = re.compile(r"\s*ALTER TABLE (?P<table>\w+) ADD COLUMN (?P<column>\w+)", re.IGNORECASE)
FTS_COLUMNS = ("title", "body", "title_stem", "body_stem", "tags", "title_parts", "body_parts", "lang")
FTS_DDL = f"""CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
    {', '.join(FTS_COLUMNS)},
    tokenize = "unicode61 remove_diacritics 2", prefix = '3'
);"""
REINDEX_KEY = "reindex_cursor"  # meta: the last rowid whose token views are current, while a pass runs
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    feed_url TEXT NOT NULL,
    article_id TEXT NOT NULL,
    seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending (
    article_id TEXT NOT NULL,
    feed_url TEXT NOT NULL,
    feed_name TEXT NOT NULL DEFAULT '',
    entry TEXT NOT NULL,
    keys TEXT NOT NULL,
    queued TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try TEXT,
    last_error TEXT,
    stub INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (article_id, feed_url)
);
CREATE TABLE IF NOT EXISTS dead_entries (
    article_id TEXT NOT NULL,
    feed_url TEXT NOT NULL,
    url TEXT NOT NULL,
    reason TEXT NOT NULL,
    recorded TEXT NOT NULL,
    PRIMARY KEY (article_id, feed_url)
);
CREATE TABLE IF NOT EXISTS articles (
    rowid INTEGER PRIMARY KEY,
    id TEXT UNIQUE NOT NULL,
    url TEXT NOT NULL,
    canonical_url TEXT,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    source TEXT NOT NULL,
    domain TEXT NOT NULL,
    feed_urls TEXT NOT NULL DEFAULT '[]',
    author TEXT,
    published TEXT,
    indexed TEXT NOT NULL,
    updated TEXT NOT NULL,
    language TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    keywords TEXT NOT NULL DEFAULT '[]',
    captions TEXT NOT NULL DEFAULT '[]',
    mentions TEXT NOT NULL DEFAULT '{}',
    content_hash TEXT NOT NULL DEFAULT '',
    cluster_id TEXT,
    is_original INTEGER NOT NULL DEFAULT 1,
    extraction TEXT NOT NULL,
    boilerplate_chars INTEGER NOT NULL DEFAULT 0,
    raw_chars INTEGER NOT NULL DEFAULT 0,
    guid TEXT,
    summary TEXT,
    places TEXT NOT NULL DEFAULT '[]',
    entities TEXT NOT NULL DEFAULT '[]',
    access TEXT NOT NULL DEFAULT 'unknown',
    published_precision TEXT,
    fetched_url TEXT,
    published_tz TEXT,
    story_id TEXT
);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published);
CREATE INDEX IF NOT EXISTS articles_indexed ON articles(indexed);
CREATE INDEX IF NOT EXISTS articles_domain_hash ON articles(domain, content_hash);
CREATE INDEX IF NOT EXISTS articles_cluster ON articles(cluster_id);
CREATE INDEX IF NOT EXISTS articles_story ON articles(story_id);
CREATE INDEX IF NOT EXISTS articles_story ON articles(story_id);
CREATE INDEX IF NOT EXISTS articles_story ON articles(story_id);
CREATE INDEX IF NOT EXISTS articles_source ON articles(source);
CREATE TABLE IF NOT EXISTS raw_pages (
    article_id TEXT PRIMARY KEY,
    html BLOB NOT NULL,
    content_type TEXT,
    stored TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (
    domain TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    text TEXT NOT NULL,
    status TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (domain, fingerprint)
);
CREATE TABLE IF NOT EXISTS block_articles (
    domain TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    article_id TEXT NOT NULL,
    seen TEXT NOT NULL,
    PRIMARY KEY (domain, fingerprint, article_id)
);
CREATE TABLE IF NOT EXISTS signatures (
    article_id TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    published TEXT,
    cluster_id TEXT,
    signature BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS signatures_published ON signatures(published);
CREATE TABLE IF NOT EXISTS alerts (
    rule TEXT NOT NULL,
    story TEXT NOT NULL,
    article_ids TEXT NOT NULL,
    sources TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    created TEXT NOT NULL,
    delivered TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    channels_done TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (rule, story)
);
CREATE INDEX IF NOT EXISTS alerts_created ON alerts(created);
CREATE TABLE IF NOT EXISTS alert_pending (
    article_id TEXT PRIMARY KEY,
    queued TEXT NOT NULL
);
"""

JSON_FIELDS = ("feed_urls", "tags", "keywords", "captions", "mentions", "places", "entities")
ARTICLE_COLUMNS = [f.name for f in fields(Article)]


def to_iso(value: datetime | None) -> str | None:
    """UTC ISO-8601 with a Z, so string order is time order."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


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


def db_error(path: Path, exc: Exception, read_only: bool = False) -> StoreError:
    """One line naming the file for what SQLite (or the OS) reports, with what to do about it."""
    text = str(exc)
    low = text.lower()
    if "disk is full" in low or "no space" in low or getattr(exc, "errno", None) == errno.ENOSPC or (
            "disk i/o" in low and _disk_nearly_full(path)):
        return StoreError(f"{path}: disk full while writing; free space and run again (the disk is full: what "
                          "was stored is kept, unstored entries stay queued)")
    if "disk i/o" in low:
        return StoreError(f"{path}: cannot write: {text}")
    if "readonly" in low or "read-only" in low or read_only:
        return StoreError(f"{path}: the database is read-only (the file or its folder is not writable); "
                          f"reading commands work, this one needs to write")
    if "locked" in low or "busy" in low:
        return StoreError(f"{path}: the database is locked by another process; try again when it has finished")
    if "unable to open" in low:
        return StoreError(f"{path}: cannot open the database (check that the folder exists and is accessible)")
    if isinstance(exc, sqlite3.DatabaseError) and ("malformed" in low or "not a database" in low):
        return StoreError(f"{path}: not a usable ingest database: {text}")
    return StoreError(f"{path}: database error: {text}")


def _disk_nearly_full(path: Path) -> bool:
    """SQLite reports some full disks as a generic I/O error: less room than a journal needs means full."""
    try:
        st = os.statvfs(path.parent if str(path.parent) else ".")
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 1_000_000


def _writable(path: Path) -> bool:
    """Whether this process may write the file and create its journal beside it (a new file: its folder)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not path.exists():
        return True  # created below, or a clear error when the folder is not writable
    return os.access(path, os.W_OK) and os.access(folder, os.W_OK)


class SQLiteStore:
    backend = "sqlite"

    def __init__(self, path: str | Path, rank_window: int = 10_000):
        self.path = Path(path)
        self.rank_window = rank_window  # see sqlite_search._ranked_from_index
        self.read_only = not _writable(self.path)
        try:
            if self.read_only:  # search, status, show still work; writes fail with one clear line
                self._db = self._open_read_only()
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30,
                                           isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise db_error(self.path, exc) from None
        self._lock = threading.RLock()
        self._depth = 0  # >0 while a transaction is open (only the lock's holder can see it)
        self._db.row_factory = sqlite3.Row
        # Unicode-aware case folding for tag/source comparisons (SQLite's lower() is ASCII only).
        self._db.create_function("ifold", 1, lambda v: v.lower() if isinstance(v, str) else v, deterministic=True)
        if self.read_only:
            return
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            self._db.executescript(SCHEMA)
            self._upgrade_fts()
            self._db.executescript(FTS_DDL)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as exc:
            raise db_error(self.path, exc) from None

    def _open_read_only(self) -> sqlite3.Connection:
        """mode=ro; a WAL file whose -shm cannot be created (read-only folder) opens as immutable."""
        uri = "file:" + quote(str(self.path.resolve()))
        for flags in ("?mode=ro", "?mode=ro&immutable=1"):
            db = sqlite3.connect(uri + flags, uri=True, check_same_thread=False, timeout=30, isolation_level=None)
            try:
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return db
            except sqlite3.Error:
                db.close()
                if flags.endswith("immutable=1"):
                    raise
        raise AssertionError("unreachable")

    def schema_version(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else SCHEMA_VERSION

    def _migrate(self) -> None:
        has_meta = self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone()
        if not has_meta:
            return  # a new file: SCHEMA creates the current version
        found = self.schema_version()
        if found > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: written by a newer ingest (schema {found}; this version knows "
                             f"{SCHEMA_VERSION}); upgrade ingest or use a backup")
        for version in range(found + 1, SCHEMA_VERSION + 1):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in filter(str.strip, MIGRATIONS[version].split(";")):
                    added = ADD_COLUMN.match(statement)
                    if added and added["column"] in {r[1] for r in self._db.execute(
                            f"PRAGMA table_info({added['table']})")}:
                        continue  # already there (a file from a build between two versions): nothing to do
                    self._db.execute(statement)
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def backup(self, target: str | Path) -> int:
        """A consistent copy of this file while it is in use (SQLite's online backup); returns bytes written."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        dest = sqlite3.connect(str(target))
        try:
            with self._lock:
                self._db.backup(dest)
        finally:
            dest.close()
        return target.stat().st_size

    def _upgrade_fts(self) -> None:
        """A store made before the compound-parts view gets the new columns, its rows copied as they are
        (parts empty) so search keeps working; `ingest reindex` then fills the parts in, resumably."""
        cols = [r[1] for r in self._db.execute("PRAGMA table_info(articles_fts)").fetchall()]
        if not cols or "title_parts" in cols:
            return
        log.warning("%s: adding the compound-parts view to the search index (once); "
                    "run `ingest reindex` to fill it in", self.path)
        old = ", ".join(f"f.{c}" for c in cols)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("ALTER TABLE articles_fts RENAME TO articles_fts_old")
            self._db.execute(FTS_DDL)
            self._db.execute(f"INSERT INTO articles_fts(rowid, {', '.join(cols)}, title_parts, body_parts, lang) "
                             f"SELECT f.rowid, {old}, '', '', coalesce(a.language, '') FROM articles_fts_old f "
                             "JOIN articles a ON a.rowid = f.rowid")
            self._db.execute("DROP TABLE articles_fts_old")
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, '0')", (REINDEX_KEY,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # Columns added after a database was first created (CREATE TABLE IF NOT EXISTS leaves old tables as they are).
    # -- plumbing --------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; inside `batch()` (same thread: the lock is re-entrant) it joins the batch's."""
        with self._lock:
            if self._depth:
                yield self._db
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise db_error(self.path, exc, self.read_only) from None
            self._depth = 1
            try:
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:  # disk full, read-only, locked: one line naming the file
                self._rollback()
                raise db_error(self.path, exc, self.read_only) from None
            except BaseException:
                self._rollback()
                raise
            finally:
                self._depth = 0

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:  # SQLite may have rolled back by itself (full disk)
            pass

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group many small writes (entries seen, raw pages, block sightings) into one commit."""
        with self.transaction():
            yield

    def ensure_schema(self, script: str) -> None:
        """Create extra tables (used by adapters that keep local state in this file)."""
        if self.read_only:
            return
        with self._lock:
            try:
                self._db.executescript(script)
            except sqlite3.Error as exc:
                raise db_error(self.path, exc) from None

    def query(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db.execute(sql, tuple(params)).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc) and self.read_only:
                    return []  # an older or empty file opened read-only: nothing of that kind stored
                if "syntax error" in str(exc) or "no such" in str(exc) or "fts5" in str(exc).lower():
                    raise  # a query bug or an FTS5 query problem: the caller knows better
                raise db_error(self.path, exc, self.read_only) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

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

    def delete_feed_state(self, url: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM feeds WHERE url = ?", (url,))

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

    # -- articles --------------------------------------------------------------------------------

    def known_ids(self, ids: Iterable[str]) -> set[str]:
        ids = list(dict.fromkeys(ids))
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(r["id"] for r in self.query(f"SELECT id FROM articles WHERE id IN ({marks})", chunk))
        return found

    def _article_row(self, a: Article) -> dict:
        row = {name: getattr(a, name) for name in ARTICLE_COLUMNS}
        row["story_id"] = a.story_id or a.cluster_id or a.id  # ungrouped: a story of its own
        for key in JSON_FIELDS:
            row[key] = json.dumps(row[key], ensure_ascii=False)
        row["published"] = to_iso(a.published)
        row["indexed"] = to_iso(a.indexed)
        row["is_original"] = int(a.is_original)
        return row

    def upsert_articles(self, articles: list[Article], alert_pending: bool = False) -> int:
        """Insert or update by id. `indexed` (first ingest time) and merged feed_urls survive updates.
        `alert_pending`: record in the same transaction that the rules still have to see these articles."""
        if not articles:
            return 0
        now = to_iso(datetime.now(UTC))
        cols = ARTICLE_COLUMNS + ["updated"]
        placeholders = ",".join(f":{c}" for c in cols)
        updates = ",".join(f"{c} = excluded.{c}" for c in cols if c not in ("id", "indexed", "feed_urls"))
        with self.transaction() as db:
            for a in articles:
                existing = db.execute("SELECT rowid, feed_urls FROM articles WHERE id = ?", (a.id,)).fetchone()
                if existing:
                    a.feed_urls = list(dict.fromkeys(json.loads(existing["feed_urls"]) + a.feed_urls))
                row = self._article_row(a)
                row["updated"] = now
                db.execute(f"INSERT INTO articles({','.join(cols)}) VALUES ({placeholders}) "
                           f"ON CONFLICT(id) DO UPDATE SET {updates}, "
                           f"feed_urls = excluded.feed_urls", row)
                rowid = existing["rowid"] if existing else db.execute(
                    "SELECT rowid FROM articles WHERE id = ?", (a.id,)).fetchone()[0]
                self._write_fts(db, rowid, a.title, a.body, a.language, a.tags)
            if alert_pending:
                self.add_pending_alerts(a.id for a in articles)
        return len(articles)

    @staticmethod
    def _write_fts(db, rowid: int, title: str, body: str, language: str | None, tags: list[str]) -> None:
        db.execute("DELETE FROM articles_fts WHERE rowid = ?", (rowid,))
        db.execute(f"INSERT INTO articles_fts(rowid, {', '.join(FTS_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (rowid, title, body, stem_text(title, language), stem_text(body, language), " ".join(tags),
                    parts_text(title, language), parts_text(body, language), language or ""))

    # -- re-indexing -----------------------------------------------------------------------------

    def reindex_pending(self) -> bool:
        return bool(self.query("SELECT 1 FROM meta WHERE key = ?", (REINDEX_KEY,)))

    def reindex(self, batch_size: int = 200, restart: bool = False) -> Iterator[tuple[int, int]]:
        """Rebuild every article's token views from its stored text, `batch_size` articles a commit.

        The cursor (last rowid done) is committed with each batch, so an interrupted pass resumes
        where it stopped; without a pending pass (or with `restart`) a new one starts at the beginning.
        """
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (REINDEX_KEY,)).fetchone()
            cursor = 0 if restart or row is None else int(row[0])
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (REINDEX_KEY, str(cursor)))
        total = self.query("SELECT count(*) FROM articles")[0][0]
        done = self.query("SELECT count(*) FROM articles WHERE rowid <= ?", (cursor,))[0][0]
        yield done, total
        while True:
            rows = self.query("SELECT rowid, title, body, language, tags FROM articles WHERE rowid > ? "
                              "ORDER BY rowid LIMIT ?", (cursor, batch_size))
            if not rows:
                break
            with self.transaction() as db:
                for r in rows:
                    self._write_fts(db, r["rowid"], r["title"], r["body"], r["language"], json.loads(r["tags"] or "[]"))
                cursor = rows[-1]["rowid"]
                db.execute("UPDATE meta SET value = ? WHERE key = ?", (str(cursor), REINDEX_KEY))
            done += len(rows)
            yield done, max(total, done)
        with self.transaction() as db:
            db.execute("DELETE FROM meta WHERE key = ?", (REINDEX_KEY,))

    def add_feed_url(self, article_id: str, feed_url: str) -> None:
        with self.transaction() as db:
            row = db.execute("SELECT feed_urls FROM articles WHERE id = ?", (article_id,)).fetchone()
            if row is None:
                return
            urls = json.loads(row["feed_urls"])
            if feed_url not in urls:
                urls.append(feed_url)
                db.execute("UPDATE articles SET feed_urls = ? WHERE id = ?", (json.dumps(urls), article_id))

    @staticmethod
    def row_to_article(row: sqlite3.Row) -> Article:
        data = {name: row[name] for name in ARTICLE_COLUMNS}
        for key in JSON_FIELDS:
            data[key] = json.loads(data[key]) if data[key] else ([] if key != "mentions" else {})
        data["published"] = from_iso(data["published"])
        data["indexed"] = from_iso(data["indexed"])
        data["is_original"] = bool(data["is_original"])
        return Article(**data)

    def get_article(self, article_id: str) -> Article | None:
        rows = self.query("SELECT * FROM articles WHERE id = ?", (article_id,))
        if not rows and len(article_id) < 20:
            rows = self.query("SELECT * FROM articles WHERE id LIKE ? LIMIT 2", (article_id + "%",))
            rows = rows if len(rows) == 1 else []
        return self.row_to_article(rows[0]) if rows else None

    # -- retention and deletion -------------------------------------------------------------------

    @staticmethod
    def _selection_sql(sel: ArticleSelection) -> tuple[str, list]:
        from ingest.store.sqlite_filters import selection_condition

        cond, params = selection_condition(sel)
        return f" WHERE {cond}", params

    def count_selected(self, selection: ArticleSelection) -> int:
        where, params = self._selection_sql(selection)
        return self.query(f"SELECT count(*) FROM articles{where}", params)[0][0]

    def delete_articles(self, selection: ArticleSelection) -> int:
        """Delete the selected articles with their index rows, raw pages, signatures and block sightings,
        500 per transaction (a long retention run never holds the write lock for long). Seen-entry keys
        stay, so a feed that still lists a deleted article does not bring it back."""
        where, params = self._selection_sql(selection)
        deleted = 0
        while True:
            rows = self.query(f"SELECT rowid, id FROM articles{where} LIMIT 500", params)
            if not rows:
                return deleted
            ids = [r["id"] for r in rows]
            marks = ",".join("?" * len(ids))
            with self.transaction() as db:
                db.executemany("DELETE FROM articles_fts WHERE rowid = ?", [(r["rowid"],) for r in rows])
                db.execute(f"DELETE FROM articles WHERE id IN ({marks})", ids)
                db.execute(f"DELETE FROM raw_pages WHERE article_id IN ({marks})", ids)
                db.execute(f"DELETE FROM signatures WHERE article_id IN ({marks})", ids)
                db.execute(f"DELETE FROM block_articles WHERE article_id IN ({marks})", ids)
            deleted += len(ids)

    def prune_bookkeeping(self, ledger_before: datetime | None, sightings_before: datetime) -> dict[str, int]:
        """Delivered ledger rows created before `ledger_before` (None: keep all), block sightings and
        automatic blocks not seen since `sightings_before`. An undelivered alert is kept whatever its age
        (it still has to go out), and so is a block a user pinned or rejected."""
        cutoff = to_iso(sightings_before)
        with self.transaction() as db:
            ledger = 0 if ledger_before is None else db.execute(
                "DELETE FROM alerts WHERE created < ? AND delivered IS NOT NULL", (to_iso(ledger_before),)).rowcount
            sightings = db.execute("DELETE FROM block_articles WHERE seen < ?", (cutoff,)).rowcount
            blocks = db.execute("DELETE FROM blocks WHERE last_seen < ? AND status IS NULL", (cutoff,)).rowcount
        return {"alerts": ledger, "block_sightings": sightings, "blocks": blocks}

    def ids_with_prefix(self, prefix: str, limit: int = 5) -> list[str]:
        # ids are lower-case hex: a prefix with other characters matches nothing and needs no escaping
        if not prefix or not all(c in "0123456789abcdef" for c in prefix):
            return []
        return [r["id"] for r in self.query("SELECT id FROM articles WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
                                            (prefix, prefix + "g", limit))]

    def iter_articles(self, domain: str | None = None) -> Iterator[Article]:
        last = 0
        while True:
            sql = "SELECT * FROM articles WHERE rowid > ?" + (" AND domain = ?" if domain else "") + " ORDER BY rowid LIMIT 200"
            rows = self.query(sql, (last, domain) if domain else (last,))
            if not rows:
                return
            for row in rows:
                yield self.row_to_article(row)
            last = rows[-1]["rowid"]

    def count_articles(self, feed_url: str | None = None) -> int:
        if feed_url:
            rows = self.query("SELECT count(*) FROM articles, json_each(articles.feed_urls) j WHERE j.value = ?",
                              (feed_url,))
        else:
            rows = self.query("SELECT count(*) FROM articles")
        return rows[0][0]

    def article_counts_by_feed(self) -> dict[str, int]:
        rows = self.query("SELECT j.value AS feed, count(*) AS n FROM articles, json_each(articles.feed_urls) j GROUP BY j.value")
        return {r["feed"]: r["n"] for r in rows}

    def find_same_bodies(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        found: dict[tuple[str, str], str] = {}
        for domain, content_hash in dict.fromkeys(keys):
            rows = self.query("SELECT id FROM articles WHERE domain = ? AND content_hash = ? LIMIT 1",
                              (domain, content_hash))
            if rows:
                found[(domain, content_hash)] = rows[0]["id"]
        return found

    def cluster_candidates(self, since: datetime) -> list[ClusterCandidate]:
        rows = self.query("SELECT * FROM signatures WHERE published IS NULL OR published >= ?", (to_iso(since),))
        return [ClusterCandidate(r["article_id"], r["domain"], from_iso(r["published"]), r["cluster_id"],
                                 r["signature"]) for r in rows]

    def save_signature(self, article_id: str, domain: str, published: datetime | None, cluster_id: str | None,
                       signature: bytes) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO signatures VALUES (?, ?, ?, ?, ?)",
                       (article_id, domain, to_iso(published), cluster_id, signature))

    def set_clusters(self, updates: list[tuple[list[str], str, str]]) -> None:
        with self.transaction() as db:
            for article_ids, cluster_id, original_id in updates:
                for aid in article_ids:
                    db.execute("UPDATE articles SET cluster_id = ?, is_original = ? WHERE id = ?",
                               (cluster_id, int(aid == original_id), aid))
                    db.execute("UPDATE signatures SET cluster_id = ? WHERE article_id = ?", (cluster_id, aid))

    # -- search ----------------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResult:
        from ingest.store.sqlite_search import run_search  # query compiler lives beside this adapter

        return run_search(self, request)

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

    # -- learned boilerplate ---------------------------------------------------------------------

    def record_blocks(self, domain: str, sightings: list[tuple[str, list[tuple[str, str]]]]) -> None:
        now = to_iso(datetime.now(UTC))
        with self.transaction() as db:
            for article_id, blocks in sightings:
                for fp, text in blocks:
                    db.execute("INSERT INTO blocks(domain, fingerprint, text, status, first_seen, last_seen) "
                               "VALUES (?, ?, ?, NULL, ?, ?) ON CONFLICT(domain, fingerprint) "
                               "DO UPDATE SET last_seen = excluded.last_seen", (domain, fp, text[:500], now, now))
                    db.execute("INSERT OR IGNORE INTO block_articles VALUES (?, ?, ?, ?)",
                               (domain, fp, article_id, now))

    def block_stats(self, domain: str, since: datetime | None = None, min_articles: int = 1) -> list[BlockStat]:
        rows = self.query(
            "SELECT b.fingerprint, b.text, b.status, b.first_seen, b.last_seen, "
            "(SELECT count(*) FROM block_articles ba WHERE ba.domain = b.domain AND ba.fingerprint = b.fingerprint"
            " AND ba.seen >= ?) AS n FROM blocks b WHERE b.domain = ? ORDER BY n DESC, b.first_seen",
            (to_iso(since) or "", domain))
        return [BlockStat(r["fingerprint"], r["text"], r["n"], r["status"], from_iso(r["first_seen"]),
                          from_iso(r["last_seen"])) for r in rows if r["n"] >= min_articles or r["status"]]

    def block_article_ids(self, domain: str, fingerprints: set[str]) -> set[str]:
        fps = list(fingerprints)
        out: set[str] = set()
        for i in range(0, len(fps), 500):
            chunk = fps[i:i + 500]
            rows = self.query(f"SELECT DISTINCT article_id FROM block_articles WHERE domain = ? AND fingerprint IN "
                              f"({','.join('?' * len(chunk))})", [domain, *chunk])
            out.update(r["article_id"] for r in rows)
        return out

    def set_block_status(self, domain: str, fingerprint: str, status: str | None) -> bool:
        with self.transaction() as db:
            cur = db.execute("UPDATE blocks SET status = ? WHERE domain = ? AND fingerprint LIKE ?",
                             (status, domain, fingerprint + "%"))
            return cur.rowcount > 0

    def list_domains(self) -> list[tuple[str, int]]:
        return [(r["domain"], r["n"]) for r in
                self.query("SELECT domain, count(*) AS n FROM articles GROUP BY domain ORDER BY domain")]

    # -- aggregates ------------------------------------------------------------------------------

    def histogram(self, request: SearchRequest, interval: str = "day", field: str = "published"
                  ) -> list[tuple[datetime, int]]:
        return sqlite_aggregates.histogram(self, request, interval, field)

    def facet(self, request: SearchRequest, field: str, size: int = 10) -> list[tuple[str, int]]:
        return sqlite_aggregates.facet(self, request, field, size)

    def source_quality(self) -> list[SourceQuality]:
        return sqlite_aggregates.source_quality(self)

    # -- alert ledger ----------------------------------------------------------------------------

    def match_rules(self, rules: dict[str, str], article_ids: list[str]) -> dict[str, list[str]]:
        from ingest.store.sqlite_rules import match_rules  # rule evaluation lives beside the adapter

        return match_rules(self, rules, article_ids)

    def match_batch(self, rules: dict[str, str], articles: list[Article]) -> tuple[dict[str, list[str]], set[str]]:
        """Rules against a stored batch: (matches, ids evaluated). Committed rows are searchable at once."""
        ids = [a.id for a in articles]
        return self.match_rules(rules, ids), set(ids)

    def get_articles(self, ids: list[str]) -> list[Article]:
        """The articles of these exact ids that exist, in the order given."""
        found: dict[str, Article] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            for row in self.query(f"SELECT * FROM articles WHERE id IN ({','.join('?' * len(chunk))})", chunk):
                found[row["id"]] = self.row_to_article(row)
        return [found[i] for i in ids if i in found]

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

    def claim_alert(self, record: AlertRecord) -> bool:
        with self.transaction() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO alerts(rule, story, article_ids, sources, title, url, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (record.rule, record.story, json.dumps(record.article_ids), json.dumps(record.sources),
                 record.title, record.url, to_iso(record.created)))
            return cur.rowcount == 1

    def extend_alert(self, rule: str, story: str, article_id: str, source: str,
                     lead: tuple[str, str] | None = None) -> None:
        with self.transaction() as db:
            row = db.execute("SELECT article_ids, sources, title, url, delivered FROM alerts WHERE rule = ? AND story = ?",
                             (rule, story)).fetchone()
            if row is None:
                return
            ids, sources = json.loads(row["article_ids"]), json.loads(row["sources"])
            title, url = row["title"], row["url"]
            if lead and row["delivered"] is None and article_id not in ids:  # the original came after a copy
                title, url = lead
                ids = [article_id] + [i for i in ids if i != article_id]
                sources = [source] + [s for s in sources if s != source]
            if article_id not in ids:
                ids.append(article_id)
            if source not in sources:
                sources.append(source)
            db.execute("UPDATE alerts SET article_ids = ?, sources = ?, title = ?, url = ? WHERE rule = ? AND story = ?",
                       (json.dumps(ids), json.dumps(sources), title, url, rule, story))

    def update_alert(self, record: AlertRecord) -> None:
        with self.transaction() as db:
            db.execute("UPDATE alerts SET delivered = ?, attempts = ?, last_error = ?, channels_done = ?, "
                       "article_ids = ?, sources = ? WHERE rule = ? AND story = ?",
                       (to_iso(record.delivered), record.attempts, record.last_error,
                        json.dumps(record.channels_done), json.dumps(record.article_ids),
                        json.dumps(record.sources), record.rule, record.story))

    def iter_alerts(self) -> Iterator[AlertRecord]:
        yield from self.list_alerts(limit=-1)  # SQLite: LIMIT -1 is no limit

    def list_alerts(self, rule: str | None = None, limit: int = 100, undelivered: bool = False
                    ) -> list[AlertRecord]:
        where, params = [], []
        if rule:
            where.append("rule = ?")
            params.append(rule)
        if undelivered:
            where.append("delivered IS NULL")
        sql = "SELECT * FROM alerts" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self.query(sql + " ORDER BY created DESC, rowid DESC LIMIT ?", params + [limit])
        return [AlertRecord(rule=r["rule"], story=r["story"], article_ids=json.loads(r["article_ids"]),
                            sources=json.loads(r["sources"]), title=r["title"], url=r["url"],
                            created=from_iso(r["created"]), delivered=from_iso(r["delivered"]),
                            attempts=r["attempts"], last_error=r["last_error"],
                            channels_done=json.loads(r["channels_done"])) for r in rows]
