"""The JSON API (`/api/...`, `/healthz`, `/metrics`, `/alerts/{rule}.atom`), documented at /docs."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from ingest.alerts.rules import NAME as RULE_NAME
from ingest.alerts.rules import NAME_MAX as RULE_NAME_MAX
from ingest.app import Filters, Ingest, InputError, SortOrder
from ingest.app.search import MAX_EXPORT, MAX_OFFSET
from ingest.errors import IngestError, QueryError
from ingest.web import metrics
from ingest.web.format import alert_dict, hit_dict, preview_dict, query_error_dict, snippet_plain
from ingest.web.security import bearer, check_write

# -- response models (for the OpenAPI document) -----------------------------------------------------------


class Hit(BaseModel):
    id: str
    url: str
    title: str
    source: str
    published: str | None = Field(None, description="ISO 8601 with the page's or feed's UTC offset")
    published_precision: str | None = Field(None, description="day (only a date was given) or time")
    access: str | None = Field(None, description="free, paywalled, teaser or unknown")
    snippet: str = Field(description="text around the first match; matches are marked [like this]")
    language: str | None = None
    domain: str | None = None
    score: float = 0.0
    cluster_id: str | None = None
    cluster_size: int = 1


class SearchOut(BaseModel):
    total: int
    offset: int
    limit: int
    hits: list[Hit]


class ErrorOut(BaseModel):
    error: str
    message: str
    query: str | None = None
    position: int | None = Field(None, description="0-based character offset in the query")


class Series(BaseModel):
    query: str
    counts: list[int]
    share: list[float] = Field(description="% of all articles in the bucket")
    total: int
    share_total: float


class TimelineOut(BaseModel):
    interval: str
    field: str
    buckets: list[str]
    totals: list[int] = Field(description="all articles per bucket (the filters, no query)")
    total: int
    series: list[Series]


class Bucket(BaseModel):
    key: str
    count: int
    label: str | None = None  # a display name where the key is a code (places: VE -> Venezuela)


class FacetOut(BaseModel):
    field: str
    query: str
    total: int
    buckets: list[Bucket]


class Quality(BaseModel):
    source: str
    articles: int
    fallback_share: float
    median_body_chars: int
    boilerplate_share: float
    access: dict[str, int] = {}


class FeedIn(BaseModel):
    url: str  # checked by Ingest.add_feed (one-line 400 for a URL that could never be polled)
    name: str | None = Field(None, max_length=500)
    category: str | None = Field(None, max_length=500)
    interval: float | None = Field(None, gt=0)


class RuleIn(BaseModel):
    name: str = Field(pattern=RULE_NAME.pattern)
    query: str
    description: str | None = None
    notify: list[str] = Field(default_factory=list, max_length=20,
                              description="apprise URLs; ${VAR} reads a secret from the server's environment")


class SearchIn(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    query: str = Field(max_length=4000)
    description: str | None = None
    sources: list[str] = Field(default_factory=list, max_length=50)
    languages: list[str] = Field(default_factory=list, max_length=50)
    tags: list[str] = Field(default_factory=list, max_length=50)
    days: int | None = Field(None, ge=1, le=36500)
    sort: Literal["date", "relevance"] = "date"
    collapse: bool = False


class Preview(BaseModel):
    query: str
    days: int
    buckets: list[str]
    counts: list[int]
    total: int
    per_day: float
    examples: list[Hit]


class Alert(BaseModel):
    rule: str
    story: str
    title: str
    url: str
    sources: list[str]
    article_ids: list[str]
    created: str | None
    delivered: str | None
    attempts: int
    last_error: str | None


ERRORS: dict[int | str, dict[str, Any]] = {400: {"model": ErrorOut, "description": "invalid query or parameter"}}


# -- dependencies --------------------------------------------------------------------------------------------

def ingest(request: Request) -> Ingest:
    return request.app.state.ingest


def filters(since: Annotated[str | None, Query(description="published on or after this day (YYYY-MM-DD)")] = None,
            until: Annotated[str | None, Query(description="published on or before this day (YYYY-MM-DD)")] = None,
            source: Annotated[list[str], Query(description="only these sources (repeatable)")] = [],  # noqa: B006
            lang: Annotated[list[str], Query(description="only these language codes (repeatable)")] = [],  # noqa: B006
            tag: Annotated[list[str], Query(description="only articles with all these tags (repeatable)")] = [],  # noqa: B006
            ) -> Filters:
    try:
        return Filters.make(since, until, source, lang, tag)
    except InputError as exc:
        raise HTTPException(400, str(exc)) from None


def require_write(request: Request, authorization: Annotated[str | None, Header()] = None,
                  x_ingest_token: Annotated[str | None, Header()] = None) -> None:
    web = request.app.state.web
    check_write(web.token, bearer(authorization, x_ingest_token), web.token_env)


App = Annotated[Ingest, Depends(ingest)]
Filtered = Annotated[Filters, Depends(filters)]
Queries = Annotated[list[str], Query(description="one query per series (repeatable, up to 6)")]
Sort = Annotated[SortOrder, Query()]
WRITE = [Depends(require_write)]


# -- routes ----------------------------------------------------------------------------------------------------

def build_router() -> APIRouter:
    api = APIRouter()
    for routes in (_ops_routes, _search_routes, _aggregate_routes, _feed_routes, _saved_routes, _alert_routes):
        routes(api)
    return api


def _ops_routes(api: APIRouter) -> None:
    @api.get("/healthz", tags=["ops"], summary="Liveness and store check")
    def healthz(app: App) -> Response:
        n, error = app.probe()
        backend = app.settings.store.backend
        if error is not None:
            body: dict[str, str | int] = {"status": "error", "backend": backend, "error": error}
            return Response(json.dumps(body), status_code=503, media_type="application/json")
        body = {"status": "ok", "backend": backend, "articles": n or 0}
        return Response(json.dumps(body), media_type="application/json")

    @api.get("/metrics", tags=["ops"], summary="Prometheus metrics (text exposition format)",
             response_class=Response)
    def get_metrics(app: App) -> Response:
        return Response(metrics.render(app), media_type=metrics.CONTENT_TYPE)


def _search_routes(api: APIRouter) -> None:
    @api.get("/api/search", tags=["search"], response_model=SearchOut, responses=ERRORS,
             summary="Search articles with the query language")
    def search(app: App, f: Filtered,
               q: Annotated[str, Query(description="e.g. (Iran OR Teheran) AND Drohne*; empty: everything")] = "",
               limit: Annotated[int, Query(ge=0, le=MAX_EXPORT)] = 20,
               offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"capped at {MAX_OFFSET}")] = 0,
               sort: Sort = "relevance",
               collapse: Annotated[bool, Query(description="one hit per syndication cluster")] = False,
               download: Annotated[bool, Query(description="send as a file attachment (export)")] = False,
               ) -> Response:
        limit = min(limit, MAX_OFFSET - offset)  # from + size never beyond the deep-paging cap
        result = app.filtered_search(q, f, limit=limit, offset=offset, sort=sort, collapse=collapse)
        body = {"total": result.total, "offset": offset, "limit": limit,
                "hits": [hit_dict(h) for h in result.hits]}
        headers = {"Content-Disposition": 'attachment; filename="search.json"'} if download else None
        return Response(json.dumps(body, ensure_ascii=False), media_type="application/json", headers=headers)

    @api.get("/api/search.csv", tags=["search"], responses=ERRORS, response_class=Response,
             summary="Export search results as CSV")
    def search_csv(app: App, f: Filtered, q: str = "",
                   limit: Annotated[int, Query(ge=1, le=MAX_EXPORT)] = 1000, sort: Sort = "relevance") -> Response:
        result = app.export_rows(q, f, sort, limit)
        return StreamingResponse(_csv_rows(app, result.hits), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="search.csv"'})

    @api.get("/api/articles/{article_id}", tags=["search"], summary="One stored article with its clean text")
    def article(app: App, article_id: Annotated[str, Path(max_length=64)]) -> dict:
        found = app.article(article_id)
        if found is None:
            raise HTTPException(404, f"no article with id {article_id!r}")
        return found.to_dict()


def _aggregate_routes(api: APIRouter) -> None:
    @api.get("/api/aggregates/timeline", tags=["aggregates"], response_model=TimelineOut, responses=ERRORS,
             summary="Mentions over time for one or several queries (share of voice)")
    def timeline(app: App, f: Filtered, q: Queries = [],  # noqa: B006 - FastAPI copies defaults
                 interval: Annotated[str, Query(pattern="^(auto|hour|day|week|month)$")] = "auto",
                 field: Annotated[str, Query(pattern="^(published|indexed)$")] = "published") -> dict:
        return app.timeline(q, f, interval, field)

    @api.get("/api/aggregates/facet", tags=["aggregates"], response_model=FacetOut, responses=ERRORS,
             summary="Top values of a field (source, domain, language, tags, keywords, places, entities, "
                     "extraction, is_original)")
    def facet(app: App, f: Filtered,
              field: Annotated[str, Query(description="source|domain|language|tags|keywords|places|entities|"
                                                      "extraction|is_original")],
              q: Annotated[list[str], Query(description="articles matching any of these queries")] = [],  # noqa: B006
              size: Annotated[int, Query(ge=1, le=100)] = 10) -> dict:
        return app.facet(q, f, field, size)


def _feed_routes(api: APIRouter) -> None:
    @api.get("/api/feeds", tags=["feeds"], summary="Feed health: state, errors, next poll, articles per day")
    def feeds(app: App, days: Annotated[int, Query(ge=1, le=180)] = 30) -> dict:
        return app.feed_health(days)

    @api.get("/api/feeds/quality", tags=["feeds"], response_model=list[Quality],
             summary="Extraction quality per source")
    def quality(app: App) -> list[dict]:
        return app.source_quality()

    @api.post("/api/feeds", tags=["feeds"], status_code=201, dependencies=WRITE,
              summary="Add a feed (needs the write token)")
    def add_feed(app: App, feed: Annotated[FeedIn, Body()]) -> dict:
        added = app.add_feed(feed.url, feed.name, feed.category, feed.interval)
        return {"added": added, "url": feed.url}


def _saved_routes(api: APIRouter) -> None:
    @api.get("/api/searches", tags=["searches"], summary="Saved searches and dashboards (config/searches.yaml)")
    def saved_list(app: App) -> dict:
        return {"searches": [s.to_dict() for s in app.saved_searches()],
                "dashboards": [{"name": d.name, "queries": d.queries, "days": d.days, "interval": d.interval,
                                "description": d.description} for d in app.saved_dashboards()]}

    @api.post("/api/searches", tags=["searches"], status_code=201, dependencies=WRITE, responses=ERRORS,
              summary="Save a search (needs the write token)")
    def saved_add(app: App, search: Annotated[SearchIn, Body()]) -> dict:
        from ingest.saved import SavedSearch

        app.save_search(SavedSearch(**search.model_dump()))
        return {"saved": True, "name": search.name}

    @api.get("/searches/{name}.atom", tags=["searches"], response_class=Response,
             summary="A saved search's newest hits as Atom")
    def saved_atom(request: Request, app: App, name: Annotated[str, Path(max_length=64)],
                   limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Response:
        from ingest.web import saved as saved_feeds

        search = _saved_or_404(app, name)
        xml = saved_feeds.atom(search, app.saved_hits(search, limit=limit), str(request.base_url))
        return Response(xml, media_type="application/atom+xml; charset=utf-8")

    @api.get("/searches/{name}.json", tags=["searches"], response_class=Response,
             summary="A saved search's newest hits as JSON Feed 1.1")
    def saved_json(request: Request, app: App, name: Annotated[str, Path(max_length=64)],
                   limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Response:
        from ingest.web import saved as saved_feeds

        search = _saved_or_404(app, name)
        body = saved_feeds.json_feed(search, app.saved_hits(search, limit=limit), str(request.base_url))
        return Response(body, media_type="application/feed+json; charset=utf-8")


def _alert_routes(api: APIRouter) -> None:
    @api.get("/api/rules", tags=["alerts"], summary="Alert rules")
    def rules(app: App) -> dict:
        found, note = app.rule_views()
        return {"rules": [r.to_dict() for r in found], "note": note}

    @api.post("/api/rules", tags=["alerts"], status_code=201, dependencies=WRITE, responses=ERRORS,
              summary="Add an alert rule to rules.yaml (needs the write token)")
    def save_rule(app: App, rule: Annotated[RuleIn, Body()]) -> dict:
        new = app.save_rule(rule.name, rule.query, rule.description, notify=rule.notify)
        return {"saved": True, "new": new, "name": rule.name}

    @api.get("/api/rules/preview", tags=["alerts"], response_model=Preview, responses=ERRORS,
             summary="What a rule would match: matches per published day over the last N days, today included")
    def preview(app: App, q: Annotated[str, Query(description="the rule's query")],
                days: Annotated[int, Query(ge=1, le=365)] = 30) -> dict:
        return preview_dict(app.preview_rule(q, days))

    @api.get("/api/alerts", tags=["alerts"], response_model=list[Alert], summary="Recent alert hits (the ledger)")
    def alerts(app: App, rule: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 50,
               undelivered: bool = False) -> list[dict]:
        return [alert_dict(r) for r in app.list_alerts(rule=rule, limit=limit, undelivered=undelivered)]

    @api.get("/alerts/{rule}.atom", tags=["alerts"], response_class=Response, summary="A rule's hits as Atom")
    def atom(request: Request, app: App, rule: Annotated[str, Path(max_length=RULE_NAME_MAX)]) -> Response:
        if not app.rule_known(rule):
            raise HTTPException(404, f"no rule named {rule!r}")
        xml = app.rule_atom(rule, str(request.base_url))
        return Response(xml, media_type="application/atom+xml; charset=utf-8")


def _csv_rows(app: Ingest, all_hits: list) -> Iterator[bytes]:
    """The CSV export, streamed: full texts are read CSV_CHUNK articles at a time, never all at once."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")  # UTF-8 byte-order mark: spreadsheet programs then read umlauts right
    writer.writerow(["id", "published", "source", "language", "title", "url", "snippet", "tags", "keywords",
                     "cluster_id", "is_original", "text"])
    for start in range(0, len(all_hits), CSV_CHUNK):
        hits = all_hits[start:start + CSV_CHUNK]
        articles = {a.id: a for a in app.articles([h.id for h in hits])}
        for h in hits:
            a = articles.get(h.id)
            writer.writerow([_cell(v) for v in (
                h.id, h.published.isoformat() if h.published else "", h.source, h.language or "", h.title,
                h.url, snippet_plain(h.snippet), "; ".join(a.tags) if a else "",
                "; ".join(a.keywords) if a else "", h.cluster_id or "",
                ("yes" if a.is_original else "no") if a else "", a.body if a else "")])
        yield buf.getvalue().encode("utf-8")
        buf.seek(0)
        buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode("utf-8")


CSV_CHUNK = 200  # articles whose full text is read at once while a CSV export streams


def _saved_or_404(app, name: str):
    try:
        return app.saved_search(name)
    except IngestError as exc:
        raise HTTPException(404, str(exc)) from None


def _cell(value: str) -> str:
    """CSV cells that a spreadsheet would run as a formula get a leading apostrophe."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def install_error_handlers(app) -> None:
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    from ingest.errors import StoreUnavailable

    @app.exception_handler(RequestValidationError)
    def _invalid_request(request: Request, exc: RequestValidationError):
        # FastAPI's own handler echoes the input, and a body that is not UTF-8 made that a 500.
        details = [{"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": e.get("type")}
                   for e in exc.errors()[:20]]
        message = "; ".join(f"{'.'.join(d['loc'])}: {d['msg']}" for d in details[:3])
        return JSONResponse({"error": "invalid request", "message": message, "detail": details}, status_code=422)

    @app.exception_handler(QueryError)
    def _query_error(request: Request, exc: QueryError):
        return JSONResponse(query_error_dict(exc), status_code=400)

    @app.exception_handler(InputError)
    def _input_error(request: Request, exc: InputError):
        return JSONResponse({"error": "invalid parameter", "message": str(exc)}, status_code=400)

    @app.exception_handler(StoreUnavailable)
    def _unavailable(request: Request, exc: StoreUnavailable):
        return JSONResponse({"error": "store unavailable", "message": str(exc)}, status_code=503)

    @app.exception_handler(IngestError)
    def _ingest_error(request: Request, exc: IngestError):
        return JSONResponse({"error": "error", "message": str(exc)}, status_code=400)
