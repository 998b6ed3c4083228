"""Reading the store: search (the CLI's and the pages'), one article and its story, paged results,
exports, timelines (share of voice) and facets. Same answers on SQLite and Elasticsearch: everything
goes through the store's search, histogram and facet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ingest.app.base import AppBase
from ingest.app.filters import Filters, InputError, SortOrder, combine, sort_order, validate_query
from ingest.app.timeline import DATE_FIELDS, INTERVALS, bucket_keys, choose_interval
from ingest.errors import IngestError
from ingest.models import Article, Extracted, SearchResult, utcnow
from ingest.sources.urls import domain_of
from ingest.store import SearchRequest
from ingest.store.base import FACET_FIELDS

MAX_OFFSET = 10_000      # deep paging cap: offset + limit never goes beyond this
MAX_PAGE_SIZE = 100
MAX_EXPORT = 5_000
MAX_QUERIES = 6          # series side by side on the dashboard
STORY_REPORTS = 500      # reports shown on a story page (the earliest ones)
SIDEBAR = (("source", "Sources", "source", "sources"), ("language", "Languages", "lang", "languages"),
           ("tags", "Tags", "tag", "tags"))  # facet field, label, URL parameter, Filters attribute


@dataclass(slots=True)
class Page:
    result: SearchResult
    page: int
    per_page: int
    offset: int
    last_page: int      # the last page that can be shown (deep paging is capped at MAX_OFFSET)
    capped: bool        # more results exist than can be paged to


@dataclass(slots=True)
class StoryTimeline:
    """A story page: its reports oldest first, (outlet, reports) in order of first report, the first
    report and the latest development (the latest report that is not a syndicated copy)."""

    id: str
    reports: list[Article]
    outlets: list[tuple[str, int]]
    first: Article
    latest: Article


class SearchMixin(AppBase):
    def search(self, query: str, limit: int = 20, **filters) -> SearchResult:
        return self.store.index.search(SearchRequest(query=query, limit=limit, **filters))

    def filtered_search(self, query: str, filters: Filters, limit: int = 20, offset: int = 0,
                        sort: SortOrder = "relevance", collapse: bool = False,
                        collapse_story: bool = False) -> SearchResult:
        """The API's search: `offset + limit` never beyond MAX_OFFSET."""
        limit = min(limit, MAX_OFFSET - offset)
        return self.store.index.search(filters.request(query, limit=limit, offset=offset, sort=sort, collapse=collapse,
                                                       collapse_story=collapse_story))

    def article(self, article_id: str) -> Article | None:
        """One stored article by its full id (None when there is none)."""
        return self.store.index.get_article(article_id)

    def articles(self, ids: list[str]) -> list[Article]:
        """The stored articles of these ids (missing ones left out)."""
        return self.store.index.get_articles(ids)

    def show(self, article_id: str) -> Article:
        """One article by id or unique id prefix; unknown or ambiguous ids raise IngestError."""
        article = self.store.index.get_article(article_id)
        if article is None:
            candidates = self.store.index.ids_with_prefix(article_id.lower(), limit=6)
            if len(candidates) > 1:
                shown = ", ".join(candidates[:5]) + (", ..." if len(candidates) > 5 else "")
                raise IngestError(f"{article_id!r} is ambiguous: it starts {len(candidates)}"
                                  f"{'+' if len(candidates) > 5 else ''} ids ({shown}); give more characters")
            raise IngestError(f"no article with id {article_id!r} (ids are shown by `ingest search`)")
        return article

    def story(self, article: Article, limit: int = 50) -> list[Article]:
        """The other copies of this article's syndication cluster: the original first, then newest first."""
        if not article.cluster_id:
            return []
        hits = self.store.index.search(SearchRequest(clusters=[article.cluster_id], sort="date", limit=limit + 1)).hits
        found = {a.id: a for a in self.store.index.get_articles([h.id for h in hits if h.id != article.id])}
        others = [found[h.id] for h in hits if h.id in found]
        return [a for a in others if a.is_original] + [a for a in others if not a.is_original]

    def story_timeline(self, story_id: str, limit: int = STORY_REPORTS) -> StoryTimeline | None:
        """Every stored report of a story (`story_id`, enrich/stories.py), oldest first, with its outlets,
        first report and latest development (the latest report that is no copy); None for an unknown story."""
        hits = self.store.index.search(SearchRequest(stories=[story_id], sort="date", limit=limit)).hits
        found = {a.id: a for a in self.store.index.get_articles([h.id for h in hits])}
        reports = sorted(found.values(), key=lambda a: (a.published or a.indexed, a.id))
        if not reports:
            return None
        outlets: dict[str, int] = {}
        for a in reports:
            outlets[a.source] = outlets.get(a.source, 0) + 1
        developments = [a for a in reports if a.is_original]
        return StoryTimeline(story_id, reports, list(outlets.items()), reports[0],
                             (developments or reports)[-1])

    def extract_file(self, path: Path, url: str | None = None) -> Extracted:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise IngestError(f"{path}: cannot read: {exc.strerror}") from None
        from ingest.extract import PageTooComplex, extract_article

        site = self.site_profiles().get(domain_of(url)) if url else None
        try:
            ex = extract_article(data, url, self.settings.extract, site)
        except PageTooComplex as exc:
            raise IngestError(f"{path}: {exc}") from None
        # the same language detection as the pipeline: the text, reconciled with the page's declaration
        from ingest.enrich import declared_language, reconcile_language

        ex.language = reconcile_language(ex.text or ex.title or "", ex.language or declared_language(data), None,
                                         self.settings.enrich.min_detect_chars)
        return ex

    # -- pages --------------------------------------------------------------------------------------

    def search_page(self, query: str, filters: Filters, sort: str = "relevance", page: int = 1,
                    per_page: int = 20, collapse: bool = False, collapse_story: bool = False) -> Page:
        """One page of results; page and size clamped to what can be shown (deep paging capped)."""
        per_page = min(max(per_page, 1), MAX_PAGE_SIZE)
        max_page = max(1, MAX_OFFSET // per_page)
        page = min(max(page, 1), max_page)
        offset = (page - 1) * per_page
        result = self.store.index.search(filters.request(query, limit=per_page, offset=offset, sort=sort_order(sort),
                                                   collapse=collapse, collapse_story=collapse_story))
        pages = max(1, -(-result.total // per_page))
        return Page(result=result, page=page, per_page=per_page, offset=offset, last_page=min(pages, max_page),
                    capped=pages > max_page)

    def export_rows(self, query: str, filters: Filters, sort: SortOrder, limit: int) -> SearchResult:
        limit = min(max(limit, 1), MAX_EXPORT)
        return self.store.index.search(filters.request(query, limit=limit, sort=sort))

    def sidebar_facets(self, query: str, f: Filters, size: int = 12) -> list[dict]:
        """Sidebar facets; each counts with the other filters applied but not its own (so choices stay
        visible), the chosen values listed even when they count 0."""
        out = []
        for field, label, param, own in SIDEBAR:
            values = self.store.index.facet(f.without(own).request(query), field, size)
            chosen = getattr(f, own)
            known = {k for k, _ in values}
            values += [(c, 0) for c in chosen if c not in known]
            out.append({"field": field, "label": label, "param": param, "values": values, "chosen": chosen})
        return out

    # -- aggregates ---------------------------------------------------------------------------------

    def timeline(self, queries: list[str], filters: Filters, interval: str = "auto",
                 date_field: str = "published") -> dict:
        """Mentions over time for each query side by side, with the share of all articles per bucket."""
        queries = [q.strip() for q in queries if q.strip()][:MAX_QUERIES]
        for q in queries:
            validate_query(q)
        if date_field not in DATE_FIELDS:
            raise InputError("field must be published or indexed")
        since, until = filters.bounds()
        base = filters.request("")
        if interval == "auto":
            interval = self._auto_interval(base, since, until, date_field)
        if interval not in INTERVALS:
            raise InputError(f"interval must be auto or one of {', '.join(INTERVALS)}")
        totals = dict(self.store.index.histogram(base, interval, date_field))
        per_query = [dict(self.store.index.histogram(filters.request(q), interval, date_field)) for q in queries]
        found = sorted({k for h in [totals, *per_query] for k in h})
        # a range without an end runs to now, so 'last 7 days' shows the quiet days up to today
        keys = bucket_keys(found, since, until or (utcnow() if since else None), interval)
        total_counts = [totals.get(k, 0) for k in keys]
        all_total = sum(total_counts)
        series = []
        for q, hist in zip(queries, per_query, strict=True):
            counts = [hist.get(k, 0) for k in keys]
            share = [round(100.0 * c / t, 2) if t else 0.0 for c, t in zip(counts, total_counts, strict=True)]
            n = sum(counts)
            series.append({"query": q, "counts": counts, "share": share, "total": n,
                           "share_total": round(100.0 * n / all_total, 2) if all_total else 0.0})
        return {"interval": interval, "field": date_field, "buckets": [k.isoformat() for k in keys],
                "totals": total_counts, "total": all_total, "series": series}

    def _auto_interval(self, base: SearchRequest, since, until, date_field: str) -> str:
        if since is not None and until is not None:
            return choose_interval(since, until)
        days = self.store.index.histogram(base, "day", date_field)
        start = since or (days[0][0] if days else None)
        end = until or (days[-1][0] + timedelta(days=1) if days else None)
        return choose_interval(start, end)

    def facet(self, queries: list[str], filters: Filters, field_name: str, size: int = 10) -> dict:
        """Top values of a field among the articles matching any of `queries`."""
        if field_name not in FACET_FIELDS:
            raise InputError(f"field must be one of {', '.join(FACET_FIELDS)}")
        size = min(max(size, 1), 100)
        query = combine(queries)
        buckets = self.store.index.facet(filters.request(query), field_name, size)
        total = self.store.index.search(filters.request(query, limit=0)).total
        if field_name == "places":  # country codes get their names; cities are names already
            from ingest.enrich.places import country_name

            return {"field": field_name, "query": query, "total": total,
                    "buckets": [{"key": k, "count": n, "label": country_name(k)} for k, n in buckets]}
        return {"field": field_name, "query": query, "total": total,
                "buckets": [{"key": k, "count": n} for k, n in buckets]}
