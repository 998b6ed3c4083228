"""The SQLite index: articles with FTS5 search, aggregates, learned blocks, rule matching and the
alert ledger, in the same file (and connection) as the local state. The default backend."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import fields
from datetime import UTC, datetime

from ingest.enrich.compounds import parts_text
from ingest.models import Article, SearchResult
from ingest.store.base import AlertRecord, ArticleSelection, BlockStat, SearchRequest, SourceQuality
from ingest.store.dates import from_iso, required_iso, to_iso
from ingest.store.protocols import ClusterUpdate
from ingest.store.sqlite import aggregates
from ingest.store.sqlite.filters import selection_condition
from ingest.store.sqlite.rules import RuleCache
from ingest.store.sqlite.rules import match_rules as run_rules
from ingest.store.sqlite.schema import FTS_COLUMNS, REINDEX_KEY, SQLiteDatabase
from ingest.store.sqlite.search import run_search
from ingest.store.sqlite.state import SQLiteState
from ingest.text import stem_text

JSON_FIELDS = ("feed_urls", "tags", "keywords", "captions", "mentions", "places", "entities")
ARTICLE_COLUMNS = [f.name for f in fields(Article)]


class SQLiteIndex:
    """The `Index` seam over the state's `SQLiteDatabase`: one transaction covers both seams."""

    backend = "sqlite"
    outbox = None  # writes are searchable when their transaction commits
    percolator = False  # rules run as queries on the batch (rules.py)

    def __init__(self, state: SQLiteState, rank_window: int = 10_000):
        self.state = state  # writes pending-alert records in the article transaction
        self.db: SQLiteDatabase = state.db
        self.rank_window = rank_window  # see search._ranked_from_index
        self.rule_cache = RuleCache()  # the rule matcher's compiled rules and temp tables

    def query(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        return self.db.query(sql, params)

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.db.transaction()

    def close(self) -> None:
        """The connection belongs to the local state, which closes it."""

    # -- articles --------------------------------------------------------------------------------

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
                self.state.add_pending_alerts(a.id for a in articles)  # joins this transaction
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
        cond, params = selection_condition(sel)
        return f" WHERE {cond}", params

    def count_selected(self, selection: ArticleSelection) -> int:
        where, params = self._selection_sql(selection)
        return self.query(f"SELECT count(*) FROM articles{where}", params)[0][0]

    def delete_articles(self, selection: ArticleSelection,
                        on_deleted: Callable[[list[str]], None] | None = None) -> int:
        """Delete the selected articles with their index rows and block sightings, 500 per transaction (a
        long retention run never holds the write lock for long); `on_deleted` (the local state forgetting
        their raw pages and signatures) joins each transaction. Seen-entry keys stay, so a feed that still
        lists a deleted article does not bring it back."""
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
                db.execute(f"DELETE FROM block_articles WHERE article_id IN ({marks})", ids)
                if on_deleted is not None:
                    on_deleted(ids)
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

    def set_clusters(self, updates: list[ClusterUpdate]) -> None:
        """The articles' side of a cluster change (the local state updates the signatures)."""
        with self.transaction() as db:
            for article_ids, cluster_id, original_id in updates:
                db.executemany("UPDATE articles SET cluster_id = ?, is_original = ? WHERE id = ?",
                               [(cluster_id, int(aid == original_id), aid) for aid in article_ids])

    # -- search ----------------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResult:
        return run_search(self, request)

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

    def block_stats(self, domain: str, since: datetime | None = None, min_articles: int = 1,
                    fingerprints: Collection[str] | None = None) -> list[BlockStat]:
        if fingerprints is None:
            rows = self._block_rows(domain, since, "", [])
        else:
            fps, rows = list(fingerprints), []
            for i in range(0, len(fps), 500):
                chunk = fps[i:i + 500]
                rows += self._block_rows(domain, since, f" AND b.fingerprint IN ({','.join('?' * len(chunk))})", chunk)
            rows.sort(key=lambda r: (-r["n"], r["first_seen"]))
        return [BlockStat(r["fingerprint"], r["text"], r["n"], r["status"], from_iso(r["first_seen"]),
                          from_iso(r["last_seen"])) for r in rows if r["n"] >= min_articles or r["status"]]

    def _block_rows(self, domain: str, since: datetime | None, where: str, params: list[str]) -> list:
        return self.query(
            "SELECT b.fingerprint, b.text, b.status, b.first_seen, b.last_seen, "
            "(SELECT count(*) FROM block_articles ba WHERE ba.domain = b.domain AND ba.fingerprint = b.fingerprint"
            f" AND ba.seen >= ?) AS n FROM blocks b WHERE b.domain = ?{where} ORDER BY n DESC, b.first_seen",
            (to_iso(since) or "", domain, *params))

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
        return aggregates.histogram(self, request, interval, field)

    def facet(self, request: SearchRequest, field: str, size: int = 10) -> list[tuple[str, int]]:
        return aggregates.facet(self, request, field, size)

    def source_quality(self) -> list[SourceQuality]:
        return aggregates.source_quality(self)

    # -- rule matching ---------------------------------------------------------------------------

    def match_rules(self, rules: dict[str, str], article_ids: list[str]) -> dict[str, list[str]]:
        return run_rules(self, rules, article_ids)

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

    # -- alert ledger ----------------------------------------------------------------------------

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
                            created=required_iso(r["created"]), delivered=from_iso(r["delivered"]),
                            attempts=r["attempts"], last_error=r["last_error"],
                            channels_done=json.loads(r["channels_done"])) for r in rows]
