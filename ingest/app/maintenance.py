"""Maintenance: running a cycle, re-cleaning, re-indexing, retention (prune), deleting, copying to the
other backend, backups, re-tagging after a watchlist edit, and the search cluster's housekeeping."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, cast

from ingest.app.base import AppBase
from ingest.app.feeds import FeedsMixin
from ingest.app.search import SearchMixin
from ingest.app.sites import SitesMixin
from ingest.errors import IngestError
from ingest.models import Article, FeedConfig, utcnow
from ingest.store import open_backends
from ingest.store.base import ArticleSelection

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ingest.pipeline import Progress, RunReport
    from ingest.store.elasticsearch.index import ElasticsearchIndex

RETAG_BATCH = 200


class MaintenanceMixin(SearchMixin, SitesMixin, FeedsMixin, AppBase):
    # -- ingest ----------------------------------------------------------------------------------

    def run_once(self, progress: Progress | None = None, feeds: list[FeedConfig] | None = None,
                 wait: bool = False) -> RunReport:
        """One cycle under the run lock: poll, then store what is queued (see `ingest.pipeline`)."""
        with self.run_lock(wait):
            return self._run_once(progress, feeds)

    def _run_once(self, progress: Progress | None, feeds: list[FeedConfig] | None) -> RunReport:
        pipe = self.pipeline(progress)
        try:
            report = pipe.run_once(feeds if feeds is not None else self.feeds())
            for domain, blocks in report.reclean_blocks.items():
                if self.stopping.is_set():
                    break  # the daemon's background job or the next run re-cleans
                pipe.reclean(domain, blocks=blocks)
            from ingest.updates import UpdateChecker

            UpdateChecker(pipe, self.store).run_due()  # article re-checks now due (ingest.updates)
            if self._alerts is not None:  # one-shot run: rules on anything left pending, volume rules
                self._alerts.evaluate_backlog()  # checked, what is due sent, then return
                self._alerts.check_volume()
                self._alerts.drain(timeout=60)
            return report
        finally:
            pipe.close()

    def reclean(self, domain: str | None = None, progress: Progress | None = None) -> int:
        pipe = self.pipeline(progress, alerts=False)  # re-cleaned articles are not new: no alerts
        try:
            return pipe.reclean(domain)
        finally:
            pipe.close()

    def reindex(self, batch_size: int = 200, restart: bool = False) -> Iterator[tuple[int, int]]:
        """Rebuild the token views (stems, compound parts) of every stored article from its stored text,
        resumably: yields (done, total) after each committed batch."""
        return self.store.index.reindex(batch_size=batch_size, restart=restart)

    def purge_raw(self) -> int:
        return self.store.state.purge_raw(utcnow() - timedelta(days=self.settings.extract.raw_retention_days))

    # -- retention and deletion ------------------------------------------------------------------

    def retention_plan(self) -> list[tuple[str, ArticleSelection]]:
        """(label, selection) per retention rule: one per `retention_by_source` entry, then the global
        `retention_days` for every other source."""
        st, now = self.settings.store, utcnow()
        plan = [(f"source {name}: older than {days} days",
                 ArticleSelection(older_than=now - timedelta(days=days), sources=[name]))
                for name, days in st.retention_by_source.items()]
        if st.retention_days:
            plan.append((f"older than {st.retention_days} days",
                         ArticleSelection(older_than=now - timedelta(days=st.retention_days),
                                          exclude_sources=list(st.retention_by_source))))
        return plan

    def prune(self, dry_run: bool = False) -> dict[str, int]:
        """Apply retention: articles past their age (with their raw pages, signatures and sightings),
        raw pages past `extract.raw_retention_days`, delivered ledger rows past `store.retention_days`,
        block sightings older than both the learning window and the raw-page retention. With dry_run,
        only the article counts (nothing is deleted)."""
        counts = {"articles": 0}
        for _label, selection in self.retention_plan():
            counts["articles"] += (self.store.index.count_selected(selection) if dry_run
                                   else self.store.delete_articles(selection))
        if dry_run:
            return counts
        ex, now = self.settings.extract, utcnow()
        counts["raw_pages"] = self.purge_raw()
        days = self.settings.store.retention_days
        keep_sightings = max(self.learned_boilerplate().window_days, ex.raw_retention_days)
        counts.update(self.store.index.prune_bookkeeping(
            ledger_before=now - timedelta(days=days) if days else None,
            sightings_before=now - timedelta(days=keep_sightings)))
        return counts

    def delete(self, ids: list[str] | None = None, sources: list[str] | None = None, dry_run: bool = False) -> int:
        """Delete articles by id (unique prefixes allowed) or by source name/domain."""
        full_ids = [self.show(i).id for i in ids or []]  # resolves prefixes; unknown or ambiguous ids raise
        if not full_ids and not sources:
            raise IngestError("nothing to delete: give article ids or --source NAME")
        selection = ArticleSelection(ids=full_ids, sources=sources or [])
        return self.store.index.count_selected(selection) if dry_run else self.store.delete_articles(selection)

    # -- backend migration -----------------------------------------------------------------------

    def copy_store(self, to: str, progress: Progress | None = None, batch: int = 500) -> dict[str, int]:
        """Copy every stored article (enrichment and cluster included) and the alert ledger from this
        store into the `to` backend configured in the same settings. Idempotent and resumable: articles
        the target already holds are skipped, ledger rows are claimed once. Learned boilerplate is not
        copied; the target learns it again from new articles."""
        if to == self.settings.store.backend:
            raise IngestError(f"the store is already {to}; copy goes to the other backend")
        target_settings = self.settings.model_copy(deep=True)
        target_settings.store.backend = to  # type: ignore[assignment]
        target = open_backends(target_settings.store)
        counts = {"articles": 0, "skipped": 0, "alerts": 0}
        try:
            pending: list[Article] = []

            def send() -> None:
                have = {a.id for a in target.index.get_articles([a.id for a in pending])}
                new = [a for a in pending if a.id not in have]
                if new:
                    target.index.upsert_articles(new)
                    if target.index.outbox is not None:
                        target.index.outbox.flush()
                counts["articles"] += len(new)
                counts["skipped"] += len(pending) - len(new)
                if progress:
                    progress("article", len(pending))
                pending.clear()

            for article in self.store.index.iter_articles():
                pending.append(article)
                if len(pending) >= batch:
                    send()
            send()
            for record in self.store.index.iter_alerts():
                if target.index.claim_alert(record):
                    target.index.update_alert(record)
                    counts["alerts"] += 1
        finally:
            target.close()
        return counts

    # -- watchlists and places --------------------------------------------------------------------

    def retag(self, progress: Progress | None = None) -> int:
        """Apply the current watchlist and gazetteer to every stored article (after editing
        entities.yaml); only articles whose places or entities change are written. Returns that count."""
        from ingest.enrich.entities import tag_articles

        watchlist = self.watchlist()
        changed: list[Article] = []
        total = 0
        for article in self.store.index.iter_articles():
            before = (list(article.places), list(article.entities))
            tag_articles([article], watchlist)
            if (article.places, article.entities) != before:
                changed.append(article)
            if progress:
                progress("article", 1)
            if len(changed) >= RETAG_BATCH:
                total += self.store.index.upsert_articles(changed)
                changed = []
        total += self.store.index.upsert_articles(changed) if changed else 0
        self.flush_outbox()
        return total

    # -- backups ----------------------------------------------------------------------------------

    def backup(self, target: Path) -> int:
        """An online copy of the SQLite file (the whole store on SQLite; the local state on Elasticsearch)."""
        from ingest.store import open_sqlite

        target = Path(target)
        if target.exists():
            raise IngestError(f"{target}: exists; choose a new file (a backup never overwrites)")
        source = Path(self.settings.store.sqlite_path)
        if not source.exists():
            raise IngestError(f"{source}: no such store")
        store = open_sqlite(source)
        try:
            return store.state.backup(target)
        finally:
            store.close()

    # -- the search cluster (Elasticsearch, OpenSearch) -------------------------------------------------

    def _cluster(self) -> ElasticsearchIndex:
        """The search-cluster index (Elasticsearch, or its OpenSearch subclass); an error on SQLite."""
        if self.store.backend == "sqlite":
            raise IngestError(f"the {self.settings.store.backend} store has no search cluster")
        return cast("ElasticsearchIndex", self.store.index)

    def cluster_setup(self) -> dict:
        """Templates, the write alias and the side indices (idempotent). With KIBANA_PASSWORD set on
        Elasticsearch (docker compose), Kibana's system user gets that password."""
        index = self._cluster()
        result = index.setup()
        kibana_password = os.environ.get("KIBANA_PASSWORD")
        if kibana_password and index.backend == "elasticsearch":
            index.client.security.change_password(username="kibana_system", password=kibana_password)
        return result

    def cluster_rollover(self, max_docs: int | None = None, max_age: str | None = None,
                         force: bool = False) -> dict:
        """Roll the write index over when due (or now, with force)."""
        from ingest.store.elasticsearch.schema import rollover

        index = self._cluster()
        index.setup()
        return rollover(index, max_docs, max_age, force)

    def rollover_if_due(self) -> dict | None:
        """The daemon's hourly check (None without a search cluster)."""
        if self._outbox() is None:
            return None
        from ingest.store.elasticsearch.schema import rollover

        return rollover(self._cluster())

    def cluster_status(self) -> dict:
        """Backend, URL, outbox, rejected documents; cluster name, health and article count when reachable."""
        index = self._cluster()
        outbox = index.outbox
        info = {"backend": index.backend, "url": index.url, "outbox": outbox.size() if outbox else 0,
                "rejected": len(outbox.rejected()) if outbox else 0}
        try:
            health = index.client.cluster.health()
            info.update(cluster=health["cluster_name"], health=health["status"], articles=index.count_articles())
        except Exception as exc:  # noqa: BLE001 - status reports an unreachable cluster, never crashes
            info.update(health="unreachable", error=type(exc).__name__)
        return info
