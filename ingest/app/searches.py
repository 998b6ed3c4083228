"""Saved searches and dashboards (config/searches.yaml): listing, saving, running, turning into a rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.app.base import AppBase
from ingest.errors import unknown_name
from ingest.models import SearchResult

if TYPE_CHECKING:
    from ingest.saved import SavedDashboard, SavedSearch


class SavedMixin(AppBase):
    def saved_searches(self) -> list[SavedSearch]:
        from ingest import saved

        return saved.load(self.settings.searches_file)[0]

    def saved_dashboards(self) -> list[SavedDashboard]:
        from ingest import saved

        return saved.load(self.settings.searches_file)[1]

    def saved_search(self, name: str) -> SavedSearch:
        found = {s.name: s for s in self.saved_searches()}
        if name not in found:
            raise unknown_name("saved search", name, list(found), str(self.settings.searches_file))
        return found[name]

    def saved_dashboard(self, name: str) -> SavedDashboard | None:
        return next((d for d in self.saved_dashboards() if d.name == name), None)

    def save_search(self, search: SavedSearch) -> None:
        from ingest import saved

        saved.add(self.settings.searches_file, "searches", search)

    def save_dashboard(self, dashboard: SavedDashboard) -> None:
        from ingest import saved

        saved.add(self.settings.searches_file, "dashboards", dashboard)

    def remove_saved(self, name: str, dashboard: bool = False) -> bool:
        from ingest import saved

        return saved.remove(self.settings.searches_file, "dashboards" if dashboard else "searches", name)

    def run_saved(self, name: str, limit: int = 50, offset: int = 0) -> SearchResult:
        """The saved search's current hits (its relative date window counted from now)."""
        return self.saved_hits(self.saved_search(name), limit=limit, offset=offset)

    def saved_hits(self, search: SavedSearch, limit: int = 50, offset: int = 0) -> SearchResult:
        return self.store.index.search(search.request(limit=limit, offset=offset))

    def saved_to_rule(self, name: str, notify: list[str] | None = None) -> str:
        """Append an alert rule with the saved search's query and filters to rules.yaml (the rule gets
        the search's name); validated like every rule, comments in rules.yaml kept."""
        from ingest.alerts.rules import append_rule

        search = self.saved_search(name)
        append_rule(self.settings.rules_file, name, search.query, search.description, notify=notify or [],
                    sources=search.sources, languages=search.languages, tags=search.tags)
        return name
