"""The application layer: the typed Python API that the CLI, the web app, the daemon and the demo use.

    from ingest.app import Ingest
    from ingest.config import load_settings

    app = Ingest(load_settings("config"))
    report = app.run_once()
    for hit in app.search("Drohne AND Iran").hits:
        print(hit.title, hit.url)

`Ingest` is one object built from one mixin per topic, each in its own module:

- `base`: settings, the store (opened on first use), the alert engine, the pipeline, the run lock, the outbox;
- `feeds`: the feed list, probing and retrying feeds, their polling state;
- `status`: per-feed health, heartbeat and `health`, extraction quality, the numbers of /metrics;
- `search` (with `filters` and `timeline`): search, articles and stories, pages, exports, timelines, facets;
- `searches`: saved searches and dashboards;
- `alerts`: rules as pages show them, adding, previewing and testing rules, the ledger, Atom, delivery;
- `sites`: learned boilerplate per site (the rule is `ingest.extract.learned`) and the operator's pin/reject;
- `maintenance`: run, reclean, reindex, prune, delete, copy, backup, retag, cluster housekeeping;
- `coverage`: backfill from sitemaps, article update re-checks and versions (issue 19).

Interfaces (`ingest.cli`, `ingest.web`, `ingest.daemon`, `ingest.demo`) only parse input and format
output: they never reach the store (`app.store`); tests/test_architecture.py checks that.
"""

from __future__ import annotations

from ingest.app.alerts import AlertsMixin, RulePreview, RuleView
from ingest.app.coverage import CoverageMixin
from ingest.app.feeds import FeedProbe
from ingest.app.filters import Filters, InputError
from ingest.app.maintenance import MaintenanceMixin
from ingest.app.search import Page
from ingest.app.searches import SavedMixin
from ingest.app.sites import SitesMixin
from ingest.app.status import FeedStatus, StatusMixin
from ingest.choices import SortOrder
from ingest.models import BlockStatus


class Ingest(StatusMixin, MaintenanceMixin, SavedMixin, AlertsMixin, SitesMixin, CoverageMixin):
    """The application over one settings tree (and one store, opened on first use)."""


__all__ = ["BlockStatus", "FeedProbe", "FeedStatus", "Filters", "Ingest", "InputError", "Page", "RulePreview",
           "RuleView", "SortOrder"]
