"""Elasticsearch index: the `Index` seam over a cluster, for users who outgrow one machine.

Layout (prefix `ingest` by default):
    ingest-articles           write alias over ingest-articles-000001, -000002 ... (rollover)
    ingest-blocks             learned boilerplate blocks (domain|fingerprint), shared by all ingesters
    ingest-block-articles     (domain|fingerprint|article) sightings, counted per block
    ingest-alerts             alert ledger, doc id = hash(rule|story), claimed with op_type=create
    ingest-rules              percolator index holding the compiled alert rules

The local state (feed polling state, seen entry keys, the pending queue, raw pages, signatures,
pending alert evaluations) is the SQLite `LocalState` beside the ingester (`store.sqlite_path`),
opened separately (`ingest.store.open_backends`). This adapter only writes its `Outbox` there: a
stored batch puts its articles into the outbox and takes its entries off the queue in one local
transaction, and the outbox is flushed with bulk requests after that commit (`ingest.store.outbox`).

Beside this module: `schema.py` (templates, indices, rollover), `query.py` (the query compiler),
`filters.py` (request and selection filters), `search.py`, `aggregates.py` and `rules.py`
(percolator/_msearch alert matching), twins of `ingest.store.sqlite`'s files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError, helpers
from elasticsearch import ConnectionError as ESConnectionError

from ingest.config import ElasticsearchSettings, StoreSettings
from ingest.errors import StoreError, StoreUnavailable
from ingest.models import Article, SearchResult
from ingest.redact import install as redact_install
from ingest.redact import redact_url, register_secret, register_url
from ingest.store.base import (
    AlertRecord,
    ArticleSelection,
    BlockStat,
    SearchRequest,
    SourceQuality,
)
from ingest.store.dates import from_iso, required_iso, to_iso
from ingest.store.elasticsearch import aggregates
from ingest.store.elasticsearch.filters import selection_query
from ingest.store.elasticsearch.rules import RuleCache
from ingest.store.elasticsearch.rules import match_batch as rules_batch
from ingest.store.elasticsearch.rules import match_rules as rules_match
from ingest.store.elasticsearch.schema import article_doc, doc_article
from ingest.store.elasticsearch.search import run_search
from ingest.store.outbox import Outbox
from ingest.store.protocols import ClusterUpdate
from ingest.store.sqlite.state import SQLiteState

log = logging.getLogger("ingest.store.es")
REINDEX_KEY = "es_reindex_cursor"  # local meta: the last article id whose token views are current
FLUSH_THREADS = 2  # bulk requests in flight at once (see `_bulk_write_parallel`)
BLOCK_CHUNK = 5000  # fingerprints per block-count request (a search returns at most 10,000 hits)
RECENT_DOCS = 500  # documents kept after writing, for alert percolation (ten pipeline batches, ~10 MB)

def read_secret(env_name: str | None, file: str | None, product: str = "Elasticsearch") -> str | None:
    if file:
        try:
            return Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise StoreError(f"{file}: cannot read the {product} secret: {exc.strerror}") from None
    return os.environ.get(env_name) if env_name else None


class ElasticsearchIndex:
    """The cluster adapter. Everything that differs between cluster products sits in the client seam
    below (client, error classes, helpers, lifecycle policy); `ingest.store.opensearch` overrides only that."""

    backend = "elasticsearch"
    product = "Elasticsearch"
    helpers = helpers  # bulk/scan helpers of this product's client library

    def __init__(self, settings: StoreSettings, state: SQLiteState, client=None):
        self.settings = settings
        self.conf = self._conf(settings)
        self.prefix = self.conf.index_prefix
        self.outbox = Outbox(state, self.flush_outbox)  # in the local state's file and transactions
        self.client = client or self._connect()
        self._ready = False
        self._flush_lock = threading.Lock()
        self.rule_cache = RuleCache()  # what alert matching keeps between batches (rules.py)
        self.percolator = False  # set by setup(): whether the cluster has the percolator module
        # The last documents written, with their analysed fields (not in _source): alert percolation
        # reads the batch just stored from here instead of fetching and analysing it again.
        self.recent_docs: OrderedDict[str, dict] = OrderedDict()

    # -- the client seam: what differs between cluster products ----------------------------------

    @staticmethod
    def _conf(settings: StoreSettings) -> ElasticsearchSettings:
        """The settings section naming the cluster (url, prefix, credentials, sizes)."""
        return settings.elasticsearch

    @staticmethod
    def api_status(exc: Exception) -> int | None:
        """HTTP status of an error the cluster answered with; None for anything else."""
        return exc.meta.status if isinstance(exc, ApiError) else None

    @staticmethod
    def _down(exc: Exception) -> bool:
        """The cluster did not answer at all (refused, timed out, reset)."""
        return isinstance(exc, ESConnectionError | TransportError) and not isinstance(exc, ApiError)

    def try_lifecycle(self) -> bool:
        """Attach the rollover policy where the cluster can (ILM); else `ingest es rollover` does it."""
        from ingest.store.elasticsearch.schema import try_ilm

        return try_ilm(self.client, self.prefix, self.conf.rollover_max_docs, self.conf.rollover_max_age)

    @property
    def url(self) -> str:
        """The cluster URL for messages: credentials masked."""
        return redact_url(self.conf.url) or ""

    def _connect(self) -> Any:  # Elasticsearch, or a client taking its calls (OpenSearch: ESStyleClient)
        es = self.conf
        kwargs: dict = {"request_timeout": es.timeout, "retry_on_timeout": True, "max_retries": 2}
        api_key = read_secret(es.api_key_env, None)
        password = read_secret(es.password_env, es.password_file)
        redact_install()  # client debug logging (elastic_transport, urllib3) is scrubbed too
        register_url(es.url)
        register_secret(api_key, password)
        if api_key:
            kwargs["api_key"] = api_key
        elif es.username and password:
            kwargs["basic_auth"] = (es.username, password)
        if es.ca_file:
            kwargs["ca_certs"] = es.ca_file
        return Elasticsearch(es.url, **kwargs)

    def name(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"

    @property
    def articles_alias(self) -> str:
        return self.name("articles")

    def setup(self) -> dict:
        """Create templates, the first backing index with its write alias and the side indices. Idempotent."""
        from ingest.store.elasticsearch.schema import ensure_indices

        result = ensure_indices(self)
        self.percolator = result["percolator"]
        self._ready = True
        return result

    def ensure(self) -> None:
        if self._ready:
            return
        try:
            self.setup()
        except Exception as exc:
            if self._down(exc):
                raise StoreUnavailable(f"{self.product} at {self.url} is not reachable: {exc}") from None
            raise

    def call(self, func, *args, **kwargs):
        """Run a client call, turning connection trouble into StoreUnavailable."""
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if self._down(exc):
                raise StoreUnavailable(f"{self.product} at {self.url} is not reachable: "
                                       f"{type(exc).__name__}") from None
            raise

    def close(self) -> None:
        """Send what waits (when the cluster answers) and close the client; the local state closes its file."""
        try:
            self.flush_outbox()
        except StoreUnavailable:
            pass
        self.client.close()

    def flush_outbox(self, wait: bool = False) -> int:
        """Send queued articles with bulk requests; returns how many were written. Safe to call anytime.
        Without `wait` a flush already running in another thread makes this a no-op (best effort); with
        it, this waits for that flush (and its refresh) and then flushes what is left."""
        if not self._flush_lock.acquire(blocking=wait):
            return 0
        try:
            self.ensure()
            written = 0
            size = self.conf.bulk_size
            while True:
                docs = self.outbox.oldest(size * FLUSH_THREADS)
                if not docs:
                    return written
                written += self._bulk_write_parallel(docs)
                self.call(self.client.indices.refresh, index=self.articles_alias)  # searchable for alerts
        finally:
            self._flush_lock.release()

    def _bulk_write_parallel(self, docs: list[dict]) -> int:
        """Bulk requests side by side: one request keeps a single indexing thread of the node busy
        while the others wait (on two cores, two requests index ~1.5x as fast as one)."""
        parts = max(1, min(FLUSH_THREADS, -(-len(docs) // 100)))  # small flushes: one request
        if parts == 1:
            return self._bulk_write(docs)
        step = -(-len(docs) // parts)
        chunks = [docs[i:i + step] for i in range(0, len(docs), step)]
        with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
            return sum(pool.map(self._bulk_write, chunks))

    def _locate(self, ids: list[str]) -> dict[str, str]:
        """Backing index that already holds each id (so an update never makes a second copy after rollover)."""
        if not ids:
            return {}
        resp = self.call(self.client.search, index=f"{self.articles_alias}", query={"ids": {"values": ids}},
                          size=len(ids), source=False)
        return {h["_id"]: h["_index"] for h in resp["hits"]["hits"]}

    def _bulk_write(self, docs: list[dict], attempt: int = 0) -> int:
        """Create new articles through the write alias; update existing ones in the backing index that
        holds them (keeping their first ingest time and all their feeds), guarded by sequence numbers."""
        where = self._locate([d["id"] for d in docs])
        current = self._current(where)
        actions = []
        for d in docs:
            existing = current.get(d["id"])
            if existing:
                src = existing["_source"]
                merged = {**d, "indexed": src.get("indexed", d["indexed"]),
                          "feed_urls": list(dict.fromkeys((src.get("feed_urls") or []) + d["feed_urls"]))}
                actions.append({"_op_type": "index", "_index": existing["_index"], "_id": d["id"], "_source": merged,
                                "if_seq_no": existing["_seq_no"], "if_primary_term": existing["_primary_term"]})
            else:
                actions.append({"_op_type": "create", "_index": self.articles_alias, "_id": d["id"], "_source": d})
        ok_ids, conflicts = [], []
        try:
            for success, item in self.helpers.streaming_bulk(self.client, actions, raise_on_error=False,
                                                             raise_on_exception=False, max_retries=3,
                                                             initial_backoff=1, chunk_size=max(1, len(actions))):
                info = next(iter(item.values()))
                doc_id = info.get("_id")
                if success:
                    ok_ids.append(doc_id)
                elif info.get("status") == 409:  # written meanwhile (another ingester): merge again
                    conflicts.append(doc_id)
                elif info.get("status") == 400:
                    self._reject(doc_id, docs, info.get("error"))
                else:
                    raise StoreUnavailable(f"bulk item {doc_id} failed with status {info.get('status')}")
        except Exception as exc:
            if self._down(exc):
                raise StoreUnavailable(f"{self.product} at {self.url} is not reachable") from None
            raise
        self.outbox.remove(ok_ids)
        written = set(ok_ids)
        self._remember([a["_source"] for a in actions if a["_id"] in written])
        if conflicts and attempt < 5:
            self.call(self.client.indices.refresh, index=self.articles_alias)  # let _locate see them
            ok_ids += [None] * self._bulk_write([d for d in docs if d["id"] in set(conflicts)], attempt + 1)
        return len(ok_ids)

    def _remember(self, docs: list[dict]) -> None:
        for d in docs:
            self.recent_docs.pop(d["id"], None)
            self.recent_docs[d["id"]] = d
        while len(self.recent_docs) > RECENT_DOCS:
            self.recent_docs.popitem(last=False)

    def _current(self, where: dict[str, str]) -> dict[str, dict]:
        """The stored versions (source, seq_no, primary_term) of ids known to exist."""
        if not where:
            return {}
        resp = self.call(self.client.mget, docs=[{"_index": idx, "_id": i} for i, idx in where.items()])
        return {d["_id"]: d for d in resp["docs"] if d.get("found")}

    def _reject(self, doc_id: str, docs: list[dict], error) -> None:
        """A document the cluster refuses for a mapping reason is kept aside with its URL, never dropped."""
        doc = next((d for d in docs if d["id"] == doc_id), {})
        reason = json.dumps(error)[:2000]
        log.error("%s rejected %s: %s", self.product, doc.get("url"), reason)
        self.outbox.reject(doc_id, doc, reason)

    # -- articles --------------------------------------------------------------------------------

    def upsert_articles(self, articles: list[Article], alert_pending: bool = False) -> int:
        if not articles:
            self.outbox.flush_after_batch()
            return 0
        # sent once the outermost local transaction (a pipeline batch, or this write) has committed
        self.outbox.queue([article_doc(a) for a in articles], alert_pending, send=True)
        return len(articles)

    def add_feed_url(self, article_id: str, feed_url: str) -> None:
        queued = self.outbox.docs([article_id]).get(article_id)
        if queued is not None:
            if feed_url not in queued["feed_urls"]:
                queued["feed_urls"].append(feed_url)
                self.outbox.queue([queued])
            return
        article = self.get_article(article_id)
        if article and feed_url not in article.feed_urls:
            article.feed_urls.append(feed_url)
            self.upsert_articles([article])

    def get_article(self, article_id: str) -> Article | None:
        queued = self.outbox.docs([article_id]).get(article_id)
        if queued is not None:
            return doc_article(queued)
        self.ensure()
        resp = self.call(self.client.search, index=self.articles_alias, size=2,
                          query={"bool": {"should": [{"ids": {"values": [article_id]}},
                                                     {"prefix": {"id": article_id}}]}})
        hits = resp["hits"]["hits"]
        exact = [h for h in hits if h["_id"] == article_id]
        if exact or len(hits) == 1:
            return doc_article((exact or hits)[0]["_source"])
        return None

    # -- retention and deletion -------------------------------------------------------------------

    def count_selected(self, selection: ArticleSelection) -> int:
        self.ensure()
        return self.call(self.client.count, index=self.articles_alias, query=selection_query(selection))["count"]

    def _delete_matching(self, index: str, query: dict) -> list[str]:
        """Delete every document matching `query` with bulk deletes aimed at each backing index (scan +
        bulk, not delete-by-query: that needs the reindex module, which minimal distributions lack)."""
        if not self.call(self.client.indices.exists, index=index):
            return []
        hits = [(h["_index"], h["_id"]) for h in self.helpers.scan(self.client, index=index, query={"query": query},
                                                               size=1000, _source=False)]
        for start in range(0, len(hits), 1000):
            actions = [{"_op_type": "delete", "_index": i, "_id": d} for i, d in hits[start:start + 1000]]
            self.call(self.helpers.bulk, self.client, actions, refresh=True, raise_on_error=False)
        return [d for _, d in hits]

    def delete_articles(self, selection: ArticleSelection,
                        on_deleted: Callable[[list[str]], None] | None = None) -> int:
        """Delete the selected articles from every backing index (after the outbox is flushed, so a queued
        copy cannot bring one back) and their block sightings; `on_deleted` gets each chunk of ids (the
        local state forgets their raw pages and signatures)."""
        self.ensure()
        self.flush_outbox()
        ids = self._delete_matching(self.articles_alias, selection_query(selection))
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            self._delete_matching(self.name("block-articles"), {"terms": {"article_id": chunk}})
            if on_deleted is not None:
                on_deleted(chunk)
        return len(ids)

    def prune_bookkeeping(self, ledger_before: datetime | None, sightings_before: datetime) -> dict[str, int]:
        self.ensure()
        cutoff = to_iso(sightings_before)
        ledger = [] if ledger_before is None else self._delete_matching(self.name("alerts"), {"bool": {"filter": [
            {"range": {"created": {"lt": to_iso(ledger_before)}}}, {"exists": {"field": "delivered"}}]}})
        sightings = self._delete_matching(self.name("block-articles"), {"range": {"seen": {"lt": cutoff}}})
        blocks = self._delete_matching(self.name("blocks"), {"bool": {
            "filter": [{"range": {"last_seen": {"lt": cutoff}}}], "must_not": [{"exists": {"field": "status"}}]}})
        return {"alerts": len(ledger), "block_sightings": len(sightings), "blocks": len(blocks)}

    def ids_with_prefix(self, prefix: str, limit: int = 5) -> list[str]:
        if not prefix:
            return []
        self.ensure()
        resp = self.call(self.client.search, index=self.articles_alias, size=limit, source=False,
                          query={"prefix": {"id": prefix}}, sort=[{"id": "asc"}])
        return [h["_id"] for h in resp["hits"]["hits"]]

    # -- re-indexing -----------------------------------------------------------------------------

    def mark_reindex_pending(self) -> None:
        self.outbox.set_mark(REINDEX_KEY, "", keep=True)

    def reindex_pending(self) -> bool:
        self.ensure()
        return self.outbox.get_mark(REINDEX_KEY) is not None

    def reindex(self, batch_size: int = 200, restart: bool = False) -> Iterator[tuple[int, int]]:
        """Rebuild every article's token views from its stored text (`_source`), in id order.

        The last id done is kept in the local SQLite file after each batch, so an interrupted pass
        resumes there. Each document is rewritten in the backing index that holds it, guarded by its
        sequence number: an article updated meanwhile (it got fresh views then) is left alone.
        """
        self.ensure()
        self.flush_outbox()
        mark = self.outbox.get_mark(REINDEX_KEY)
        cursor = "" if restart or mark is None else mark
        self.outbox.set_mark(REINDEX_KEY, cursor)
        alias = self.articles_alias
        total = self.call(self.client.count, index=alias)["count"]
        done = self.call(self.client.count, index=alias, query={"range": {"id": {"lte": cursor}}})["count"] \
            if cursor else 0
        yield done, total
        while True:
            body: dict = {"size": batch_size, "sort": [{"id": "asc"}], "seq_no_primary_term": True}
            if cursor:
                body["search_after"] = [cursor]
            hits = self.call(self.client.search, index=alias, **body)["hits"]["hits"]
            if not hits:
                break
            actions = [{"_op_type": "index", "_index": h["_index"], "_id": h["_id"],
                        "_source": article_doc(doc_article(h["_source"])),
                        "if_seq_no": h["_seq_no"], "if_primary_term": h["_primary_term"]} for h in hits]
            for ok, item in self.helpers.streaming_bulk(self.client, actions, raise_on_error=False,
                                                   raise_on_exception=False, max_retries=3, initial_backoff=1):
                info = next(iter(item.values()))
                if not ok and info.get("status") != 409:
                    raise StoreUnavailable(f"re-indexing {info.get('_id')} failed with status {info.get('status')}")
            cursor = hits[-1]["sort"][0]
            self.outbox.set_mark(REINDEX_KEY, cursor)
            done += len(hits)
            yield done, max(total, done)
        self.call(self.client.indices.refresh, index=alias)
        self.outbox.clear_mark(REINDEX_KEY)

    def iter_articles(self, domain: str | None = None) -> Iterator[Article]:
        self.ensure()
        query = {"term": {"domain": domain}} if domain else {"match_all": {}}
        for hit in self.helpers.scan(self.client, index=self.articles_alias, query={"query": query}, size=500):
            yield doc_article(hit["_source"])

    def count_articles(self, feed_url: str | None = None) -> int:
        self.ensure()
        query = {"term": {"feed_urls": feed_url}} if feed_url else {"match_all": {}}
        return self.call(self.client.count, index=self.articles_alias, query=query)["count"] + (
            0 if feed_url else self.outbox.size())

    def article_counts_by_feed(self) -> dict[str, int]:
        try:
            self.ensure()
            resp = self.call(self.client.search, index=self.articles_alias, size=0,
                              aggs={"f": {"terms": {"field": "feed_urls", "size": 10000}}})
        except StoreUnavailable:
            return {}
        return {b["key"]: b["doc_count"] for b in resp["aggregations"]["f"]["buckets"]}

    def find_same_bodies(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        wanted = set(keys)
        found: dict[tuple[str, str], str] = {}
        for doc in self.outbox.docs().values():
            key = (doc.get("domain"), doc.get("content_hash"))
            if key in wanted:
                found.setdefault(key, doc["id"])
        rest = [k for k in dict.fromkeys(keys) if k not in found]
        if not rest:
            return found
        try:
            self.ensure()
            for i in range(0, len(rest), 500):  # one search per 500 keys, not one per article
                chunk = rest[i:i + 500]
                resp = self.call(self.client.search, index=self.articles_alias, size=10 * len(chunk),
                                  source=["domain", "content_hash"],
                                  query={"bool": {"filter": [{"terms": {"content_hash": [h for _, h in chunk]}},
                                                             {"terms": {"domain": list({d for d, _ in chunk})}}]}})
                for hit in resp["hits"]["hits"]:
                    key = (hit["_source"].get("domain"), hit["_source"].get("content_hash"))
                    if key in wanted:
                        found.setdefault(key, hit["_id"])
        except StoreUnavailable:
            pass
        return found

    def set_clusters(self, updates: list[ClusterUpdate]) -> None:
        """The articles' side of a cluster change (signatures are local state): queued documents carry
        the new cluster, stored ones are updated in place."""
        if not updates:
            return
        changes = {aid: {"cluster_id": cid, "is_original": aid == original}
                   for ids, cid, original in updates for aid in ids}
        queued = self.outbox.docs(list(changes))
        if queued:  # not sent yet: the queued document carries the new cluster
            self.outbox.queue([{**doc, **changes[aid]} for aid, doc in queued.items()])
        rest = [aid for aid in changes if aid not in queued]
        try:
            where = {}
            for i in range(0, len(rest), 1000):
                where.update(self._locate(rest[i:i + 1000]))
            actions = [{"_op_type": "update", "_index": index, "_id": aid, "doc": changes[aid]}
                       for aid, index in where.items()]
            if actions:
                self.call(self.helpers.bulk, self.client, actions)
        except StoreUnavailable:
            log.warning("clusters of %d articles not updated: %s unavailable", len(rest), self.product)

    # -- search and aggregates -------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResult:
        self.ensure()
        return run_search(self, request)

    def histogram(self, request: SearchRequest, interval: str = "day", field: str = "published"
                  ) -> list[tuple[datetime, int]]:
        self.ensure()
        return aggregates.histogram(self, request, interval, field)

    def facet(self, request: SearchRequest, field: str, size: int = 10) -> list[tuple[str, int]]:
        self.ensure()
        return aggregates.facet(self, request, field, size)

    def source_quality(self) -> list[SourceQuality]:
        self.ensure()
        return aggregates.source_quality(self)

    # -- learned boilerplate (shared by all ingesters) -------------------------------------------

    def record_blocks(self, domain: str, sightings: list[tuple[str, list[tuple[str, str]]]]) -> None:
        if not any(blocks for _, blocks in sightings):
            return
        self.ensure()
        now = to_iso(datetime.now(UTC))
        actions = []
        for article_id, blocks in sightings:
            for fp, text in blocks:
                actions.append({"_op_type": "update", "_index": self.name("blocks"), "_id": f"{domain}|{fp}",
                                "doc": {"last_seen": now},
                                "upsert": {"domain": domain, "fingerprint": fp, "text": text[:500], "status": None,
                                           "first_seen": now, "last_seen": now}})
                actions.append({"_op_type": "index", "_index": self.name("block-articles"),
                                "_id": f"{domain}|{fp}|{article_id}",
                                "_source": {"domain": domain, "fingerprint": fp, "article_id": article_id, "seen": now}})
        self.call(self.helpers.bulk, self.client, actions, refresh=True)

    def block_stats(self, domain: str, since: datetime | None = None, min_articles: int = 1,
                    fingerprints: Collection[str] | None = None) -> list[BlockStat]:
        """Counts from the sightings (only blocks seen `min_articles` times), then the blocks counted
        or given a status: a site's many one-off paragraphs are never read, and `fingerprints`
        narrows both to a batch's own blocks."""
        self.ensure()
        fps = sorted(fingerprints or ())
        chunks = [None] if fingerprints is None else [fps[i:i + BLOCK_CHUNK] for i in range(0, len(fps), BLOCK_CHUNK)]
        out: list[BlockStat] = []
        for chunk in chunks:
            out += self._block_stats(domain, since, min_articles, chunk)
        out.sort(key=lambda b: (-b.articles, b.first_seen or datetime.min.replace(tzinfo=UTC)))
        return out

    def _block_stats(self, domain: str, since: datetime | None, min_articles: int,
                     fps: list[str] | None) -> list[BlockStat]:
        scope: list[dict] = [{"term": {"domain": domain}}]
        if fps is not None:
            scope.append({"terms": {"fingerprint": fps}})
        counts = self._block_counts(scope, since, min_articles)
        wanted: list[dict] = [{"exists": {"field": "status"}}]
        if counts:
            wanted.append({"terms": {"fingerprint": sorted(counts)}})
        blocks = self.call(self.client.search, index=self.name("blocks"), size=10000,
                            query={"bool": {"filter": scope, "should": wanted, "minimum_should_match": 1}}
                            )["hits"]["hits"]
        decided = [h["_source"]["fingerprint"] for h in blocks if h["_source"]["fingerprint"] not in counts]
        if decided:  # pinned or rejected blocks seen fewer times: listed with their own count
            counts |= self._block_counts([*scope, {"terms": {"fingerprint": decided}}], since, 1)
        out = []
        for h in blocks:
            s = h["_source"]
            n = counts.get(s["fingerprint"], 0)
            if n >= min_articles or s.get("status"):
                out.append(BlockStat(s["fingerprint"], s["text"], n, s.get("status"), from_iso(s.get("first_seen")),
                                     from_iso(s.get("last_seen"))))
        return out

    def _block_counts(self, scope: list[dict], since: datetime | None, min_articles: int) -> dict[str, int]:
        seen = [*scope, {"range": {"seen": {"gte": to_iso(since)}}}] if since else scope
        resp = self.call(self.client.search, index=self.name("block-articles"), size=0,
                          query={"bool": {"filter": seen}},
                          aggs={"fp": {"terms": {"field": "fingerprint", "size": 10000,
                                                 "min_doc_count": max(min_articles, 1)}}})
        return {b["key"]: b["doc_count"] for b in resp["aggregations"]["fp"]["buckets"]}

    def block_article_ids(self, domain: str, fingerprints: set[str]) -> set[str]:
        self.ensure()
        query = {"bool": {"filter": [{"term": {"domain": domain}}, {"terms": {"fingerprint": sorted(fingerprints)}}]}}
        return {h["_source"]["article_id"] for h in self.helpers.scan(self.client, index=self.name("block-articles"),
                                                                 query={"query": query}, _source=["article_id"])}

    def set_block_status(self, domain: str, fingerprint: str, status: str | None) -> bool:
        self.ensure()
        hits = self.call(self.client.search, index=self.name("blocks"), size=10,
                          query={"bool": {"filter": [{"term": {"domain": domain}},
                                                     {"prefix": {"fingerprint": fingerprint}}]}})["hits"]["hits"]
        for h in hits:
            self.call(self.client.index, index=h["_index"], id=h["_id"], document={**h["_source"], "status": status},
                       refresh=True)
        return bool(hits)

    def list_domains(self) -> list[tuple[str, int]]:
        self.ensure()
        resp = self.call(self.client.search, index=self.articles_alias, size=0,
                          aggs={"d": {"terms": {"field": "domain", "size": 10000, "order": {"_key": "asc"}}}})
        return [(b["key"], b["doc_count"]) for b in resp["aggregations"]["d"]["buckets"]]

    # -- alerts ----------------------------------------------------------------------------------

    def match_rules(self, rules: dict[str, str], article_ids: list[str]) -> dict[str, list[str]]:
        return rules_match(self, rules, article_ids)

    def match_batch(self, rules: dict[str, str], articles: list[Article]) -> tuple[dict[str, list[str]], set[str]]:
        return rules_batch(self, rules, articles)

    def searchable(self, articles: list[Article]) -> set[str]:
        """Ids of `articles` a search sees now, in the version given (same content hash). Waits for any
        flush in progress; one refresh when some are written but not yet visible. Articles still in
        the outbox (cluster down) are not searchable; raises StoreUnavailable when it cannot tell."""
        if not articles:
            return set()
        self.flush_outbox(wait=True)
        queued = set(self.outbox.docs(a.id for a in articles))
        wanted = {a.id: a.content_hash for a in articles if a.id not in queued}
        visible = self._visible(wanted)
        if len(visible) < len(wanted):
            self.call(self.client.indices.refresh, index=self.articles_alias)
            visible = self._visible(wanted, any_version=True)  # refreshed: what is there now is current
            gone = set(wanted) - visible
            if gone:  # rejected for a mapping reason (see `es status`) or deleted: nothing to match
                log.warning("%d articles of a batch are not in the index; their alert rules are not run", len(gone))
                visible |= gone
        return visible

    def _visible(self, wanted: dict[str, str], any_version: bool = False) -> set[str]:
        ids = list(wanted)
        found: set[str] = set()
        for i in range(0, len(ids), 1000):
            chunk = ids[i:i + 1000]
            resp = self.call(self.client.search, index=self.articles_alias, query={"ids": {"values": chunk}},
                              size=len(chunk), source=["content_hash"])
            found.update(h["_id"] for h in resp["hits"]["hits"]
                         if any_version or (h.get("_source") or {}).get("content_hash", "") == wanted[h["_id"]])
        return found

    def get_articles(self, ids: list[str]) -> list[Article]:
        """The current version of each id that exists (exact ids; the outbox first). A written but not
        yet refreshed article is found too: one refresh when some are missing."""
        queued = self.outbox.docs(ids)
        docs = dict(queued)
        rest = [i for i in ids if i not in queued]
        for attempt in range(2):
            if not rest:
                break
            self.ensure()
            for i in range(0, len(rest), 1000):
                chunk = rest[i:i + 1000]
                resp = self.call(self.client.search, index=self.articles_alias, size=len(chunk),
                                  query={"ids": {"values": chunk}})
                docs.update((h["_id"], h["_source"]) for h in resp["hits"]["hits"])
            rest = [i for i in rest if i not in docs]
            if rest and attempt == 0:
                self.call(self.client.indices.refresh, index=self.articles_alias)
        return [doc_article(docs[i]) for i in ids if i in docs]

    @staticmethod
    def _ledger_id(rule: str, story: str) -> str:
        return hashlib.sha1(f"{rule}|{story}".encode()).hexdigest()

    def _ledger_doc(self, r: AlertRecord) -> dict:
        return {"rule": r.rule, "story": r.story, "article_ids": r.article_ids, "sources": r.sources,
                "title": r.title, "url": r.url, "created": to_iso(r.created), "delivered": to_iso(r.delivered),
                "attempts": r.attempts, "last_error": r.last_error, "channels_done": r.channels_done}

    def claim_alert(self, record: AlertRecord) -> bool:
        self.ensure()
        try:
            self.call(self.client.create, index=self.name("alerts"), id=self._ledger_id(record.rule, record.story),
                       document=self._ledger_doc(record), refresh=True)
            return True
        except Exception as exc:
            if self.api_status(exc) == 409:
                return False
            raise

    def extend_alert(self, rule: str, story: str, article_id: str, source: str,
                     lead: tuple[str, str] | None = None) -> None:
        """Add a syndicated copy to an alert record (read-modify-write guarded by sequence numbers);
        with `lead`, the copy is the story's original and leads the record while it is undelivered."""
        self.ensure()
        doc_id = self._ledger_id(rule, story)
        for _ in range(5):
            try:
                cur = self.call(self.client.get, index=self.name("alerts"), id=doc_id)
            except Exception as exc:
                if self.api_status(exc) == 404:
                    return
                raise
            src = cur["_source"]
            promote = bool(lead) and not src.get("delivered") and article_id not in src["article_ids"]
            if article_id in src["article_ids"] and source in src["sources"] and not promote:
                return
            if promote and lead:
                src["title"], src["url"] = lead
                src["article_ids"] = [article_id] + src["article_ids"]
                src["sources"] = [source] + src["sources"]
            src["article_ids"] = list(dict.fromkeys(src["article_ids"] + [article_id]))
            src["sources"] = list(dict.fromkeys(src["sources"] + [source]))
            try:
                self.call(self.client.index, index=self.name("alerts"), id=doc_id, document=src,
                           if_seq_no=cur["_seq_no"], if_primary_term=cur["_primary_term"], refresh=True)
                return
            except Exception as exc:
                if self.api_status(exc) != 409:
                    raise

    def update_alert(self, record: AlertRecord) -> None:
        self.ensure()
        self.call(self.client.index, index=self.name("alerts"), id=self._ledger_id(record.rule, record.story),
                   document=self._ledger_doc(record), refresh=True)

    def list_alerts(self, rule: str | None = None, limit: int = 100, undelivered: bool = False) -> list[AlertRecord]:
        self.ensure()
        filters: list[dict] = []
        if rule:
            filters.append({"term": {"rule": rule}})
        must_not = [{"exists": {"field": "delivered"}}] if undelivered else []
        resp = self.call(self.client.search, index=self.name("alerts"), size=limit,
                          query={"bool": {"filter": filters, "must_not": must_not}},
                          sort=[{"created": "desc"}, {"story": "asc"}])
        return [self._ledger_record(h["_source"]) for h in resp["hits"]["hits"]]

    @staticmethod
    def _ledger_record(s: dict) -> AlertRecord:
        return AlertRecord(rule=s["rule"], story=s["story"], article_ids=s["article_ids"], sources=s["sources"],
                           title=s["title"], url=s["url"], created=required_iso(s["created"]),
                           delivered=from_iso(s.get("delivered")), attempts=s.get("attempts", 0),
                           last_error=s.get("last_error"), channels_done=s.get("channels_done") or [])

    def iter_alerts(self) -> Iterator[AlertRecord]:
        """Every ledger row (scroll: the ledger can outgrow a search window)."""
        self.ensure()
        if not self.call(self.client.indices.exists, index=self.name("alerts")):
            return
        for hit in self.helpers.scan(self.client, index=self.name("alerts"), query={"query": {"match_all": {}}}, size=1000):
            yield self._ledger_record(hit["_source"])
