"""Sites: the domains with stored articles and their repeated blocks (learned boilerplate), and the
operator's verdict on a block (pinned: always strip; rejected: never strip; None: automatic)."""

from __future__ import annotations

from datetime import timedelta

from ingest.app.base import AppBase
from ingest.choices import BlockStatus
from ingest.models import utcnow
from ingest.store import BlockStat


def is_learned(stat: BlockStat, min_articles: int) -> bool:
    """A block is stripped when pinned, or seen in at least `min_articles` articles and not rejected."""
    return stat.status == "pinned" or (stat.status != "rejected" and stat.articles >= min_articles)


class SitesMixin(AppBase):
    def list_domains(self) -> list[tuple[str, int]]:
        """(domain, stored articles) per site."""
        return self.store.list_domains()

    def site_blocks(self, domain: str) -> list[BlockStat]:
        """The site's repeated blocks seen within the learning window."""
        since = utcnow() - timedelta(days=self.settings.extract.learn_window_days)
        return self.store.block_stats(domain, since=since)

    def learned_blocks(self, domain: str) -> tuple[list[BlockStat], list[BlockStat]]:
        """(every block of the site, the learned ones among them)."""
        stats = self.site_blocks(domain)
        k = self.settings.extract.learn_min_articles
        return stats, [s for s in stats if is_learned(s, k)]

    def set_block(self, domain: str, fingerprint: str, status: BlockStatus | None) -> bool:
        return self.store.set_block_status(domain, fingerprint, status)
