"""Embedded store: one SQLite file (WAL), FTS5 for search. The default backend.

Tables: feeds (polling state), entries (feed item keys -> article id), articles,
articles_fts (title/body as written and stemmed per article language), raw_pages
(compressed HTML kept for re-cleaning), blocks + block_articles (learned boilerplate),
signatures (MinHash for syndication clusters), and the alert tables.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

from ingest.errors import StoreError
from ingest.models import Article, FeedState, SearchResult
from ingest.store import sqlite_aggregates
from ingest.store.base import AlertRecord, BlockStat, ClusterCandidate, SearchRequest, SourceQuality
from ingest.text import stem_text

SCHEMA_VERSION = 1
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
    access TEXT NOT NULL DEFAULT 'unknown',
    published_precision TEXT,
    fetched_url TEXT,
    published_tz TEXT
);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published);
CREATE INDEX IF NOT EXISTS articles_indexed ON articles(indexed);
CREATE INDEX IF NOT EXISTS articles_domain_hash ON articles(domain, content_hash);
CREATE INDEX IF NOT EXISTS articles_cluster ON articles(cluster_id);
CREATE INDEX IF NOT EXISTS articles_source ON articles(source);
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
    title, body, title_stem, body_stem, tags,
    tokenize = "unicode61 remove_diacritics 2", prefix = '3'
);
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
"""

JSON_FIELDS = ("feed_urls", "tags", "keywords", "captions", "mentions")
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


class SQLiteStore:
    backend = "sqlite"

    def __init__(self, path: str | Path, rank_window: int = 10_000):
        self.path = Path(path)
        self.rank_window = rank_window  # see sqlite_search._ranked_from_index
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{self.path}: cannot open database: {exc}") from None
        self._lock = threading.RLock()
        self._depth = 0  # >0 while a transaction is open (only the lock's holder can see it)
        self._db.row_factory = sqlite3.Row
        # Unicode-aware case folding for tag/source comparisons (SQLite's lower() is ASCII only).
        self._db.create_function("ifold", 1, lambda v: v.lower() if isinstance(v, str) else v, deterministic=True)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
            self._add_columns()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable ingest database: {exc}") from None
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    # Columns added after a database was first created (CREATE TABLE IF NOT EXISTS leaves old tables as they are).
    ADDED_COLUMNS = {"access": "TEXT NOT NULL DEFAULT 'unknown'", "published_precision": "TEXT",
                     "fetched_url": "TEXT", "published_tz": "TEXT"}

    def _add_columns(self) -> None:
        have = {r[1] for r in self._db.execute("PRAGMA table_info(articles)")}
        for name, decl in self.ADDED_COLUMNS.items():
            if name not in have:
                self._db.execute(f"ALTER TABLE articles ADD COLUMN {name} {decl}")

    # -- plumbing --------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; inside `batch()` (same thread: the lock is re-entrant) it joins the batch's."""
        with self._lock:
            if self._depth:
                yield self._db
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group many small writes (entries seen, raw pages, block sightings) into one commit."""
        with self.transaction():
            yield

    def ensure_schema(self, script: str) -> None:
        """Create extra tables (used by adapters that keep local state in this file)."""
        with self._lock:
            self._db.executescript(script)

    def query(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

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
        for key in JSON_FIELDS:
            row[key] = json.dumps(row[key], ensure_ascii=False)
        row["published"] = to_iso(a.published)
        row["indexed"] = to_iso(a.indexed)
        row["is_original"] = int(a.is_original)
        return row

    def upsert_articles(self, articles: list[Article]) -> int:
        """Insert or update by id. `indexed` (first ingest time) and merged feed_urls survive updates."""
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
                db.execute("DELETE FROM articles_fts WHERE rowid = ?", (rowid,))
                db.execute("INSERT INTO articles_fts(rowid, title, body, title_stem, body_stem, tags) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                           (rowid, a.title, a.body, stem_text(a.title, a.language), stem_text(a.body, a.language),
                            " ".join(a.tags)))
        return len(articles)

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
