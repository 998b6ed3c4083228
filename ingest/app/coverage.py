"""Coverage (issue 19): backfill a source's history from its sitemaps (`ingest.backfill`), and the
article update re-checks and versions (`ingest.updates`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ingest.app.base import AppBase
from ingest.models import Article
from ingest.sources import feedlist

if TYPE_CHECKING:
    from ingest.backfill import BackfillReport
    from ingest.pipeline import Pipeline
    from ingest.updates import UpdateReport


class CoverageMixin(AppBase):
    def backfill(self, source: str, since: datetime, until: datetime | None = None, limit: int | None = None,
                 alerts: bool = False, progress=None) -> BackfillReport:
        """Ingest SOURCE's sitemap URLs dated in [since, until) (see `ingest.backfill`); resumable.
        Backfilled articles run the instant alert rules only with `alerts`, and are not watched for updates."""
        from ingest import backfill as bf

        src = bf.resolve_source(self.settings, self.store, feedlist.load_feeds(self.settings.feeds_file), source)
        pipe = self.pipeline(progress, alerts=alerts, updates=False)
        try:
            report = bf.backfill(self.settings, self.store, pipe, src, since, until, limit, progress)
            if alerts and self._alerts is not None:
                self._alerts.evaluate_backlog()
                self._alerts.drain(timeout=60)
            return report
        finally:
            pipe.close()

    def check_updates(self, pipe: Pipeline | None = None, now: datetime | None = None) -> UpdateReport:
        """Do the article re-checks due by `now` (see `ingest.updates`), with `pipe` or a pipeline of its own."""
        from ingest.updates import UpdateChecker

        own = pipe is None
        pipeline = pipe or self.pipeline()
        try:
            return UpdateChecker(pipeline, self.store).run_due(now)
        finally:
            if own:
                pipeline.close()

    def versions(self, article: Article) -> list[dict]:
        """Every version of a stored article, oldest first, the current one last."""
        from ingest.updates import article_versions

        return article_versions(self.store, article)
