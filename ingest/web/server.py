"""The web app: server-rendered pages (Jinja2) over `ingest.app.Ingest`, plus the JSON API of `api.py`.

    from ingest.web import create_app
    web = create_app(Ingest(load_settings()))      # run with uvicorn; `ingest serve` does that

Static assets (CSS, the hand-written SVG chart module) are served from the package; nothing is loaded
from a CDN, and the Content-Security-Policy forbids it. /docs renders the OpenAPI document here
instead of FastAPI's Swagger UI (which loads from a CDN).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from ingest.app import Filters, Ingest, InputError
from ingest.app.filters import validate_query
from ingest.app.search import MAX_QUERIES
from ingest.app.timeline import INTERVALS
from ingest.errors import IngestError, QueryError, StoreUnavailable
from ingest.models import utcnow
from ingest.web.api import build_router, install_error_handlers
from ingest.web.format import query_error_dict, snippet_html
from ingest.web.limits import RequestLimits
from ingest.web.security import HEADERS, check_write, token_from_env

HERE = Path(__file__).parent
log = logging.getLogger("ingest.web")
STATIC = HERE / "static"
MAX_FORM_BYTES = 64 * 1024
Many = Annotated[list[str], Query()]
NOTICES = {"feed-added": "Feed added: it is polled on the next cycle.",
           "feed-exists": "That feed is already configured.",
           "rule-saved": "Rule saved.",
           "search-saved": "Search saved: it has a page, an Atom and a JSON feed below.",
           "dashboard-saved": "Dashboard saved."}


@dataclass(slots=True)
class WebState:
    token: str | None
    token_env: str


def _asset_versions() -> dict[str, str]:
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest()[:10] for p in STATIC.iterdir() if p.is_file()}


def _jinja_dt(value, with_time: bool = True) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def _ago(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    secs = (utcnow() - value).total_seconds()
    future = secs < 0
    secs = abs(secs)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if secs >= size:
            text = f"{int(secs // size)} {unit}"
            break
    else:
        text = f"{int(secs)} s"
    return f"in {text}" if future else f"{text} ago"


def _pct(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def _num(value) -> str:
    return f"{value:,}".replace(",", "\u202f") if isinstance(value, int) else str(value)


def _safe_url(value: str | None) -> str:
    """Links to stored URLs only when they are http(s): never a javascript: or data: URL from a feed."""
    return value if value and value.lower().startswith(("http://", "https://")) else "#"


def earlier_versions(app: Ingest, article) -> list[dict]:
    """The versions an update replaced (ingest.updates), oldest first; none when the store cannot say."""
    try:
        return [v for v in app.versions(article) if not v["current"]]
    except Exception:  # noqa: BLE001 - a page view never fails on its history
        log.warning("versions of %s not read", article.id, exc_info=True)
        return []


@dataclass(slots=True)
class Site:
    """What every page route needs: the application, the write token, and the page renderer."""

    app: Ingest
    token: str | None
    token_env: str
    templates: Jinja2Templates

    def render(self, request: Request, name: str, page: str, status: int = 200, **ctx) -> HTMLResponse:
        ctx.update(page=page, backend=self.app.settings.store.backend, writable=bool(self.token),
                   token_env=self.token_env)
        return self.templates.TemplateResponse(request, name, ctx, status_code=status)

    def store_down(self, request: Request, page: str, exc: Exception) -> HTMLResponse:
        return self.render(request, "error.html", page, status=503, title="Store unavailable", message=str(exc))

    def check_write(self, form: dict[str, str]) -> None:
        check_write(self.token, form.get("token"), self.token_env)


def create_app(app: Ingest, write_token: str | None = None, allowed_hosts: list[str] | None = None) -> FastAPI:
    """The FastAPI application over one `Ingest`.

    `write_token` defaults to the environment variable named by `settings.web.write_token_env`; without
    one the app is read-only. `allowed_hosts` limits the Host header (`ingest serve` on loopback passes
    the loopback names, so a web page elsewhere cannot reach the app by DNS rebinding).
    """
    from ingest import redact

    redact.install()  # uvicorn's and the clients' log lines never carry a secret
    token_env = app.settings.web.write_token_env
    token = write_token if write_token is not None else token_from_env(token_env)
    web = FastAPI(title="ingest", version="0.1.0", docs_url=None, redoc_url=None,
                  description="Search, dashboards, feed health and alerts over the ingest store. "
                              "Queries use the project query language (docs/query-language.md).")
    web.state.ingest = app
    web.state.web = WebState(token=token, token_env=token_env)
    site = Site(app=app, token=token, token_env=token_env, templates=_templates())
    _install_middleware(web, allowed_hosts)
    web.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    install_error_handlers(web)
    web.include_router(build_router())
    for routes in (_search_routes, _dashboard_routes, _feed_routes, _alert_routes, _saved_routes, _doc_routes):
        routes(web, site)
    return web


def _templates() -> Jinja2Templates:
    versions = _asset_versions()
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.filters.update(snippet=snippet_html, dt=_jinja_dt, ago=_ago, pct=_pct, num=_num, url=_safe_url)
    env.globals["static"] = lambda name: f"/static/{name}?v={versions.get(name, '0')}"
    return templates


def _install_middleware(web: FastAPI, allowed_hosts: list[str] | None) -> None:
    @web.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        for k, v in HEADERS.items():
            response.headers.setdefault(k, v)
        if request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    if allowed_hosts:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        web.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)
    web.add_middleware(RequestLimits)  # outermost: bodies and query strings are bounded before anything runs


# -- search ---------------------------------------------------------------------------------------------

def _search_routes(web: FastAPI, site: Site) -> None:
    app, render = site.app, site.render

    @web.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/search", status_code=302)

    @web.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, q: str = "", since: str = "", until: str = "", source: Many = [],  # noqa: B006
                    lang: Many = [], tag: Many = [], sort: str = "relevance", page: str = "1",  # noqa: B006
                    per_page: str = "20", collapse: str = "", story: str = ""):
        ctx: dict = {"q": q, "since": since, "until": until, "sort": sort, "selected": {
            "source": source, "lang": lang, "tag": tag}, "collapse": bool(collapse), "collapse_story": bool(story)}
        try:
            f = Filters.make(since, until, source, lang, tag)
            pg = app.search_page(q, f, sort, _int(page, 1), _int(per_page, 20), bool(collapse), bool(story))
            ctx["facets"] = app.sidebar_facets(q, f)
        except QueryError as exc:
            ctx["query_error"] = _query_error(exc)
            return render(request, "search.html", "search", status=400, **ctx)
        except InputError as exc:
            ctx["error"] = str(exc)
            return render(request, "search.html", "search", status=400, **ctx)
        except StoreUnavailable as exc:
            return site.store_down(request, "search", exc)
        params = [("q", q)] * bool(q) + f.params() + [("sort", sort)] * (sort != "relevance")
        params += [("collapse", "1")] * bool(collapse) + [("story", "1")] * bool(story)
        ctx.update(result=pg.result, pg=pg, export_qs=urlencode(params),
                   page_url=lambda n: "/search?" + urlencode([*params, ("page", n), ("per_page", pg.per_page)]),
                   pages=_page_window(pg.page, pg.last_page))
        return render(request, "search.html", "search", **ctx)

    @web.get("/articles/{article_id}", response_class=HTMLResponse, include_in_schema=False)
    def article_page(request: Request, article_id: str):
        try:
            article = app.article(article_id[:64])
        except StoreUnavailable as exc:
            return site.store_down(request, "search", exc)
        if article is None:
            return render(request, "error.html", "search", status=404, title="Not found",
                          message=f"No article with id {article_id!r}.")
        paragraphs = [p.strip() for p in article.body.split("\n") if p.strip()]
        try:
            copies = app.story(article)
        except StoreUnavailable:
            copies = []
        return render(request, "article.html", "search", article=article, paragraphs=paragraphs, copies=copies,
                      versions=earlier_versions(app, article))

    @web.get("/stories/{story_id}", response_class=HTMLResponse, include_in_schema=False)
    def story_page(request: Request, story_id: str):
        try:
            story = app.story_timeline(story_id[:64])
        except StoreUnavailable as exc:
            return site.store_down(request, "search", exc)
        if story is None:
            return render(request, "error.html", "search", status=404, title="Not found",
                          message=f"No story with id {story_id!r}.")
        return render(request, "story.html", "search", story=story)


# -- dashboard ------------------------------------------------------------------------------------------

def _dashboard_routes(web: FastAPI, site: Site) -> None:
    @web.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
    def dashboard(request: Request, q: Many = [], since: str = "", until: str = "",  # noqa: B006
                  interval: str = "auto", source: Many = [], lang: Many = [], tag: Many = []):  # noqa: B006
        queries = [x for x in q if x.strip()][:MAX_QUERIES]
        ctx: dict = {"queries": queries, "since": since, "until": until, "interval": interval,
                     "source": source, "lang": lang, "tag": tag,
                     "scope": "articles matching the queries" if queries else "all articles"}
        try:
            Filters.make(since, until, source, lang, tag)
            if interval not in ("auto", *INTERVALS):
                raise InputError(f"interval must be auto or one of {', '.join(INTERVALS)}")
            for query in queries:
                validate_query(query)
        except QueryError as exc:
            ctx["query_error"] = _query_error(exc)
        except InputError as exc:
            ctx["error"] = str(exc)
        today = utcnow().date()
        base = [("q", x) for x in queries] + [("interval", interval)] * (interval != "auto")
        ctx["presets"] = [(label, "/dashboard?" + urlencode(base + ([("since", (today - timedelta(days=n - 1))
                                                                        .isoformat())] if n else [])))
                          for label, n in (("7 days", 7), ("30 days", 30), ("90 days", 90), ("1 year", 365),
                                           ("All time", 0))]
        ctx["save_qs"] = urlencode(base + [("since", since)] * bool(since))
        status = 400 if "query_error" in ctx or "error" in ctx else 200
        return site.render(request, "dashboard.html", "dashboard", status=status, **ctx)


# -- feeds ----------------------------------------------------------------------------------------------

def _feed_routes(web: FastAPI, site: Site) -> None:
    app = site.app

    def feeds_view(request: Request, status: int = 200, **extra) -> HTMLResponse:
        try:
            health = app.feed_health(30)
            quality = app.source_quality()
        except StoreUnavailable as exc:
            return site.store_down(request, "feeds", exc)
        notice = NOTICES.get(request.query_params.get("msg", ""))
        return site.render(request, "feeds.html", "feeds", status=status, health=health, quality=quality,
                           notice=notice, **extra)

    @web.get("/feeds", response_class=HTMLResponse, include_in_schema=False)
    def feeds_page(request: Request):
        return feeds_view(request)

    @web.post("/feeds", response_class=HTMLResponse, include_in_schema=False)
    async def feeds_add(request: Request):
        form = await _form(request)
        try:
            site.check_write(form)
            added = app.add_feed(form.get("url", "").strip(), form.get("name") or None, form.get("category") or None)
        except HTTPException as exc:
            return feeds_view(request, status=exc.status_code, form_error=exc.detail, form=form)
        except IngestError as exc:
            return feeds_view(request, status=400, form_error=str(exc), form=form)
        return RedirectResponse(f"/feeds?msg={'feed-added' if added else 'feed-exists'}", status_code=303)


# -- alerts ---------------------------------------------------------------------------------------------

def _alert_routes(web: FastAPI, site: Site) -> None:
    app = site.app

    def alerts_view(request: Request, status: int = 200, **extra) -> HTMLResponse:
        rules, note = app.rule_views()
        try:
            hits = {r.name: app.list_alerts(rule=r.name, limit=10) for r in rules}
            recent = app.list_alerts(limit=20)
        except StoreUnavailable as exc:
            return site.store_down(request, "alerts", exc)
        preview = extra.pop("preview", None) or request.query_params.get("preview", "")
        notice = NOTICES.get(request.query_params.get("msg", ""))
        return site.render(request, "alerts.html", "alerts", status=status, rules=rules, note=note, hits=hits,
                           recent=recent, preview=preview, notice=notice, **extra)

    @web.get("/alerts", response_class=HTMLResponse, include_in_schema=False)
    def alerts_page(request: Request):
        return alerts_view(request)

    @web.post("/alerts/rules", response_class=HTMLResponse, include_in_schema=False)
    async def alerts_save(request: Request):
        form = await _form(request)
        preview = form.get("query", "")
        try:
            site.check_write(form)
            notify = [line.strip() for line in form.get("notify", "").splitlines() if line.strip()]
            if form.get("search"):  # "Make alert" on a saved search: its filters go into the rule too
                app.saved_to_rule(form["search"], notify=notify)
            else:
                app.save_rule(form.get("name", "").strip(), form.get("query", ""), form.get("description") or None,
                              notify=notify)
        except HTTPException as exc:
            return alerts_view(request, status=exc.status_code, form_error=exc.detail, form=form, preview=preview)
        except QueryError as exc:
            return alerts_view(request, status=400, query_error=_query_error(exc), form=form, preview=preview)
        except IngestError as exc:
            return alerts_view(request, status=400, form_error=str(exc), form=form, preview=preview)
        return RedirectResponse("/alerts?msg=rule-saved", status_code=303)


# -- saved searches and dashboards ----------------------------------------------------------------------

def _saved_routes(web: FastAPI, site: Site) -> None:
    app = site.app

    def saved_view(request: Request, status: int = 200, **extra) -> HTMLResponse:
        try:
            searches, dashboards = app.saved_searches(), app.saved_dashboards()
        except IngestError as exc:
            searches, dashboards, extra["config_error"] = [], [], str(exc)
        notice = NOTICES.get(request.query_params.get("msg", ""))
        return site.render(request, "searches.html", "searches", status=status, searches=searches,
                           dashboards=dashboards, notice=notice, urlencode=urlencode, **extra)

    async def save(request: Request, make, msg: str) -> HTMLResponse | RedirectResponse:
        form = await _form(request)
        try:
            site.check_write(form)
            make(form, parse_qs(form.get("filters", "")))
        except HTTPException as exc:
            return saved_view(request, status=exc.status_code, form_error=exc.detail)
        except (IngestError, ValueError) as exc:
            return saved_view(request, status=400, form_error=str(exc))
        return RedirectResponse(f"/searches?msg={msg}", status_code=303)

    @web.get("/searches", response_class=HTMLResponse, include_in_schema=False)
    def searches_page(request: Request):
        return saved_view(request)

    @web.post("/searches", response_class=HTMLResponse, include_in_schema=False)
    async def searches_save(request: Request):
        return await save(request, lambda form, params: app.save_search(_saved_search(form, params)),
                          "search-saved")

    @web.get("/searches/{name}", include_in_schema=False)
    def saved_search_page(name: str):
        try:
            search = app.saved_search(name)
        except IngestError as exc:
            raise HTTPException(404, str(exc)) from None
        return RedirectResponse("/search?" + urlencode(search.search_params()), status_code=302)

    @web.post("/dashboards", response_class=HTMLResponse, include_in_schema=False)
    async def dashboards_save(request: Request):
        return await save(request, lambda form, params: app.save_dashboard(_saved_dashboard(form, params)),
                          "dashboard-saved")

    @web.get("/dashboards/{name}", include_in_schema=False)
    def saved_dashboard_page(name: str):
        found = app.saved_dashboard(name)
        if found is None:
            raise HTTPException(404, f"no saved dashboard {name!r}")
        return RedirectResponse("/dashboard?" + urlencode(found.params()), status_code=302)


def _saved_search(form: dict[str, str], params: dict[str, list[str]]):
    from ingest.saved import SavedSearch

    sort = "relevance" if (params.get("sort") or [""])[-1] == "relevance" else "date"
    return SavedSearch(name=form.get("name", "").strip(), query=(params.get("q") or [""])[-1],
                       description=form.get("description") or None, sources=params.get("source", []),
                       languages=params.get("lang", []), tags=params.get("tag", []), days=_window_days(params),
                       sort=sort, collapse=bool(params.get("collapse")))


def _saved_dashboard(form: dict[str, str], params: dict[str, list[str]]):
    from ingest.saved import SavedDashboard

    return SavedDashboard(name=form.get("name", "").strip(), queries=params.get("q", []),
                          description=form.get("description") or None, days=_window_days(params),
                          interval=(params.get("interval") or ["auto"])[-1])


# -- API docs and errors --------------------------------------------------------------------------------

def _doc_routes(web: FastAPI, site: Site) -> None:
    @web.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs(request: Request):
        return site.render(request, "docs.html", "docs", ops=_operations(web.openapi()))

    @web.exception_handler(404)
    async def not_found(request: Request, exc):
        detail = getattr(exc, "detail", "Not found")
        if request.url.path.startswith(("/api/", "/alerts/", "/static/")) or "text/html" not in \
                request.headers.get("accept", ""):
            return JSONResponse({"detail": detail}, status_code=404)
        return site.render(request, "error.html", "", status=404, title="Not found", message=detail)


# -- helpers ----------------------------------------------------------------------------------------------

def _int(value: str, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _query_error(exc: QueryError) -> dict:
    data = query_error_dict(exc)
    q, pos = exc.query or "", exc.position
    if pos is not None and 0 <= pos <= len(q):
        data.update(before=q[:pos], at=q[pos:pos + 1] or " ", after=q[pos + 1:])
    return data


def _page_window(page: int, last: int) -> list[int | None]:
    """Page numbers around the current one, with None for gaps: 1 … 4 5 [6] 7 8 … 20."""
    wanted = {1, last, *range(max(1, page - 2), min(last, page + 2) + 1)}
    out: list[int | None] = []
    prev = 0
    for n in sorted(wanted):
        if n - prev > 1:
            out.append(None)
        out.append(n)
        prev = n
    return out


def _window_days(params: dict[str, list[str]]) -> int | None:
    """A page's `since` day as a relative window in days (today included), so a saved search or dashboard
    keeps showing the latest days; None without `since`."""
    since = (params.get("since") or [""])[-1]
    if not since:
        return None
    return max((utcnow().date() - datetime.fromisoformat(since).date()).days + 1, 1)


async def _form(request: Request) -> dict[str, str]:
    """application/x-www-form-urlencoded without python-multipart: small bodies only."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in parsed.items()}


def _operations(spec: dict) -> list[dict]:
    ops = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            params = [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                       "description": p.get("description") or p.get("schema", {}).get("description", ""),
                       "type": _schema_type(p.get("schema", {}))} for p in op.get("parameters", [])]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            ops.append({"path": path, "method": method.upper(), "summary": op.get("summary", ""),
                        "tag": (op.get("tags") or ["other"])[0], "params": params,
                        "body": body.get("$ref", "").rsplit("/", 1)[-1] if body else None,
                        "responses": sorted(op.get("responses", {}))})
    order = {"search": 0, "aggregates": 1, "feeds": 2, "alerts": 3, "ops": 4}
    return sorted(ops, key=lambda o: (order.get(o["tag"], 9), o["path"], o["method"]))


def _schema_type(schema: dict) -> str:
    if "anyOf" in schema:
        return " | ".join(_schema_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"{_schema_type(schema.get('items', {}))}[]"
    return schema.get("type", "any")

