"""The SQLite file both seams use: one connection, one lock, one transaction at a time.

`SQLiteDatabase` opens (or creates, or upgrades) the file and hands out transactions; the local state
(`ingest.store.sqlite.state`) and the SQLite index (`ingest.store.sqlite.index`) are views over one
such object, so on the SQLite backend articles, their queue entries and their pending-alert records
commit together. With an Elasticsearch/OpenSearch index the same file holds the local state and the
outbox (`ingest.store.outbox`).

Tables: meta, feeds (polling state), entries (feed item keys -> article id), pending (new entries
queued until their article is stored: written in the same transaction as the poll that found
them, and the page retry queue), dead_entries (entries whose page is gone, with the reason), articles,
articles_fts (title/body as written, stemmed per article language, and the stems of their compounds'
parts; the article's language; see ingest.query.analysis), raw_pages
(compressed HTML kept for re-cleaning), blocks + block_articles (learned boilerplate),
signatures (MinHash for syndication clusters), and the alert tables.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from ingest.errors import StoreError

log = logging.getLogger("ingest.store.sqlite")
SCHEMA_VERSION = 4
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
    published_tz TEXT
);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published);
CREATE INDEX IF NOT EXISTS articles_indexed ON articles(indexed);
CREATE INDEX IF NOT EXISTS articles_domain_hash ON articles(domain, content_hash);
CREATE INDEX IF NOT EXISTS articles_cluster ON articles(cluster_id);
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



class SQLiteDatabase:
    """The connection with its lock and re-entrant write transaction; `after_commit` runs work (an
    outbox flush) once the outermost transaction of this thread has committed, outside the lock."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.read_only = not _writable(self.path)
        try:
            if self.read_only:  # search, status, show still work; writes fail with one clear line
                self.conn = self._open_read_only()
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30,
                                           isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise db_error(self.path, exc) from None
        self.lock = threading.RLock()
        self._depth = 0  # >0 while a transaction is open (only the lock's holder can see it)
        self._owner = 0  # the thread whose transaction is open
        self._after_commit: list[Callable[[], None]] = []
        self.conn.row_factory = sqlite3.Row
        # Unicode-aware case folding for tag/source comparisons (SQLite's lower() is ASCII only).
        self.conn.create_function("ifold", 1, lambda v: v.lower() if isinstance(v, str) else v, deterministic=True)
        if self.read_only:
            return
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            self.conn.executescript(SCHEMA)
            self._upgrade_fts()
            self.conn.executescript(FTS_DDL)
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
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
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else SCHEMA_VERSION

    def _migrate(self) -> None:
        has_meta = self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone()
        if not has_meta:
            return  # a new file: SCHEMA creates the current version
        found = self.schema_version()
        if found > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: written by a newer ingest (schema {found}; this version knows "
                             f"{SCHEMA_VERSION}); upgrade ingest or use a backup")
        for version in range(found + 1, SCHEMA_VERSION + 1):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in filter(str.strip, MIGRATIONS[version].split(";")):
                    added = ADD_COLUMN.match(statement)
                    if added and added["column"] in {r[1] for r in self.conn.execute(
                            f"PRAGMA table_info({added['table']})")}:
                        continue  # already there (a file from a build between two versions): nothing to do
                    self.conn.execute(statement)
                self.conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def backup(self, target: str | Path) -> int:
        """A consistent copy of this file while it is in use (SQLite's online backup); returns bytes written."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        dest = sqlite3.connect(str(target))
        try:
            with self.lock:
                self.conn.backup(dest)
        finally:
            dest.close()
        return target.stat().st_size

    def _upgrade_fts(self) -> None:
        """A store made before the compound-parts view gets the new columns, its rows copied as they are
        (parts empty) so search keeps working; `ingest reindex` then fills the parts in, resumably."""
        cols = [r[1] for r in self.conn.execute("PRAGMA table_info(articles_fts)").fetchall()]
        if not cols or "title_parts" in cols:
            return
        log.warning("%s: adding the compound-parts view to the search index (once); "
                    "run `ingest reindex` to fill it in", self.path)
        old = ", ".join(f"f.{c}" for c in cols)
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute("ALTER TABLE articles_fts RENAME TO articles_fts_old")
            self.conn.execute(FTS_DDL)
            self.conn.execute(f"INSERT INTO articles_fts(rowid, {', '.join(cols)}, title_parts, body_parts, lang) "
                             f"SELECT f.rowid, {old}, '', '', coalesce(a.language, '') FROM articles_fts_old f "
                             "JOIN articles a ON a.rowid = f.rowid")
            self.conn.execute("DROP TABLE articles_fts_old")
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, '0')", (REINDEX_KEY,))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    # -- transactions ----------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; inside another one (same thread: the lock is re-entrant) it joins it.
        Work registered with `after_commit` runs once the outermost one has committed, outside the lock."""
        with self.lock:
            if self._depth:
                yield self.conn
                return
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise db_error(self.path, exc, self.read_only) from None
            self._depth, self._owner = 1, threading.get_ident()
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:  # disk full, read-only, locked: one line naming the file
                self._rollback()
                raise db_error(self.path, exc, self.read_only) from None
            except BaseException:
                self._rollback()
                raise
            finally:
                self._depth = 0
                hooks, self._after_commit = self._after_commit, []
        for hook in dict.fromkeys(hooks):  # committed (an error above skips them: nothing was written)
            hook()

    def in_transaction(self) -> bool:
        """Whether this thread has a transaction open (a batch being written)."""
        return bool(self._depth) and self._owner == threading.get_ident()

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run `hook` after the transaction this thread is in commits (called inside `transaction()`)."""
        self._after_commit.append(hook)

    def _rollback(self) -> None:
        try:
            self.conn.execute("ROLLBACK")
        except sqlite3.Error:  # SQLite may have rolled back by itself (full disk)
            pass

    def ensure_schema(self, script: str) -> None:
        """Create extra tables (the outbox of a cluster index keeps its rows in this file)."""
        if self.read_only:
            return
        with self.lock:
            try:
                self.conn.executescript(script)
            except sqlite3.Error as exc:
                raise db_error(self.path, exc) from None

    def query(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        with self.lock:
            try:
                return self.conn.execute(sql, tuple(params)).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc) and self.read_only:
                    return []  # an older or empty file opened read-only: nothing of that kind stored
                if "syntax error" in str(exc) or "no such" in str(exc) or "fts5" in str(exc).lower():
                    raise  # a query bug or an FTS5 query problem: the caller knows better
                raise db_error(self.path, exc, self.read_only) from None

    def close(self) -> None:
        with self.lock:
            self.conn.close()
