"""Sites: the domains with stored articles and their repeated blocks (learned boilerplate, whose rule
lives in `ingest.extract.learned.LearnedBoilerplate`), and the operator's verdict on a block
(`BlockStatus.PINNED`: always strip; `REJECTED`: never strip; None: automatic)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.app.base import AppBase
from ingest.models import BlockStatus
from ingest.store import BlockStat

if TYPE_CHECKING:
    from ingest.extract.learned import LearnedBoilerplate


class SitesMixin(AppBase):
    def list_domains(self) -> list[tuple[str, int]]:
        """(domain, stored articles) per site."""
        return self.store.index.list_domains()

    def learned_boilerplate(self) -> LearnedBoilerplate:
        """Learned per-site boilerplate over this store: the threshold, window and is-learned rule."""
        from ingest.extract.learned import LearnedBoilerplate

        return LearnedBoilerplate(self.settings.extract, self.store.index)

    def site_blocks(self, domain: str) -> list[BlockStat]:
        """The site's repeated blocks counted in the learning window (`learned_blocks` tells which are learned)."""
        return self.store.index.block_stats(domain, since=self.learned_boilerplate().since())

    def learned_blocks(self, domain: str) -> tuple[list[BlockStat], list[BlockStat]]:
        """(every block of the site in the window, the learned ones among them)."""
        boilerplate = self.learned_boilerplate()
        stats = self.store.index.block_stats(domain, since=boilerplate.since())
        return stats, [s for s in stats if boilerplate.is_learned(s)]

    def set_block(self, domain: str, fingerprint: str, status: BlockStatus | None) -> bool:
        return self.store.index.set_block_status(domain, fingerprint, status)
