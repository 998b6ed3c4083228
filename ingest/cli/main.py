"""`ingest` command line: a thin layer over `ingest.app.Ingest`.

Every command takes --config DIR and --db PATH; errors are one line on stderr with a
non-zero exit code (a traceback only with --debug).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ingest.app import Ingest
from ingest.config import load_settings
from ingest.errors import IngestError
from ingest.sources.urls import strip_tracking

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    def register(func):
        COMMANDS[name] = func
        return func
    return register


def emit_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, default=str))


def open_app(args: argparse.Namespace) -> Ingest:
    settings = load_settings(args.config, args.db, getattr(args, "backend", None))
    return Ingest(settings)


def fmt_time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


# -- run / demo ---------------------------------------------------------------------------------


def print_report(report, as_json: bool) -> None:
    if as_json:
        emit_json({
            "feeds": [{"url": p.feed.url, "name": p.feed_name, "status": p.status, "new_entries": p.new_entries,
                       "error": p.error} for p in report.polls],
            "stored": report.stored, "fallbacks": report.fallbacks, "duplicates": report.duplicates,
            "page_errors": report.page_errors,
        })
        return
    table = Table(title="Poll summary")
    for col in ("feed", "result", "new", "error"):
        table.add_column(col, overflow="fold")
    for p in report.polls:
        table.add_row(p.feed_name or p.feed.url, p.status, str(p.new_entries), (p.error or "")[:120])
    out.print(table)
    out.print(f"stored {report.stored} articles ({report.fallbacks} from feed text, "
              f"{report.duplicates} duplicates skipped, {len(report.page_errors)} page errors)")
    for e in report.page_errors[:10]:
        out.print(f"  page error: {e}")


def run_with_progress(app: Ingest, quiet: bool):
    feeds = [f for f in app.feeds() if f.enabled]
    if quiet or not sys.stderr.isatty():
        return app.run_once(feeds=feeds)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        feeds_task = bar.add_task("feeds", total=len(feeds))
        pages_task = bar.add_task("pages", total=None)

        def progress(kind: str, n: int) -> None:
            bar.advance(feeds_task if kind == "feed" else pages_task, n)

        return app.run_once(progress=progress, feeds=feeds)


@command("run")
def cmd_run(args) -> int:
    with open_app(args) as app:
        if args.shard:
            from ingest.sources.shard import parse_shard

            app.shard = parse_shard(args.shard)
        if not app.feeds():
            raise IngestError(f"{app.settings.feeds_file}: no feeds configured (add one with `ingest feeds add URL`)")
        if args.once:
            report = run_with_progress(app, args.json)
            print_report(report, args.json)
            return 0
        from ingest.daemon import run_daemon

        run_daemon(app)
        return 0


@command("demo")
def cmd_demo(args) -> int:
    from ingest.demo.runner import run_demo

    return run_demo(args, out, emit_json)


# -- search / show / extract --------------------------------------------------------------------


@command("search")
def cmd_search(args) -> int:
    with open_app(args) as app:
        filters = {"offset": args.offset, "sort": args.sort, "collapse": args.collapse}
        if args.source:
            filters["sources"] = args.source
        if args.lang:
            filters["languages"] = args.lang
        result = app.search(args.query, limit=args.limit, **filters)
        if args.json:
            for hit in result.hits:
                emit_json(hit.to_dict())
            return 0
        out.print(f"{result.total} matching articles" + (f", showing {len(result.hits)}" if result.hits else ""))
        for hit in result.hits:
            out.print(f"\n[bold]{hit.title}[/bold]  [dim]{hit.id}[/dim]")
            out.print(f"  {hit.source} · {fmt_time(hit.published)} · {hit.url}")
            out.print(f"  {hit.snippet}", markup=False)
        return 0


@command("show")
def cmd_show(args) -> int:
    with open_app(args) as app:
        article = app.show(args.id)
        if args.json:
            emit_json(article.to_dict())
            return 0
        out.print(f"[bold]{article.title}[/bold]")
        for label, value in (("id", article.id), ("url", article.url), ("source", article.source),
                             ("published", fmt_time(article.published)), ("indexed", fmt_time(article.indexed)),
                             ("language", article.language), ("author", article.author),
                             ("extraction", article.extraction), ("cluster", article.cluster_id),
                             ("tags", ", ".join(article.tags)), ("keywords", ", ".join(article.keywords)),
                             ("captions", " | ".join(article.captions))):
            out.print(f"[dim]{label:>10}[/dim] {value or '-'}", markup=True)
        out.print()
        out.print(article.body, markup=False)
        return 0


@command("extract")
def cmd_extract(args) -> int:
    with open_app(args) as app:
        for file in args.files:
            ex = app.extract_file(Path(file), args.url)
            if args.json:
                emit_json({"file": file, "title": ex.title, "text": ex.text, "tags": ex.tags,
                           "captions": ex.captions, "language": ex.language,
                           "published": ex.published.isoformat() if ex.published else None,
                           "published_precision": ex.published_precision, "author": ex.author,
                           "url": strip_tracking(args.url) if args.url else ex.canonical_url, "fetched_url": args.url,
                           "canonical_url": ex.canonical_url, "access": ex.access, "blocked": ex.blocked,
                           "method": ex.method, "removed": ex.removed})
            else:
                if len(args.files) > 1:
                    out.print(f"[bold]== {file}[/bold]")
                if ex.title:
                    out.print(f"[bold]{ex.title}[/bold]\n")
                out.print(ex.text, markup=False)
                if ex.tags:
                    out.print(f"\n[dim]tags:[/dim] {', '.join(ex.tags)}")
        return 0


# -- status / feeds / sites ---------------------------------------------------------------------


@command("status")
def cmd_status(args) -> int:
    with open_app(args) as app:
        rows = app.status()
        extra = {}
        outbox = getattr(app.store, "outbox_size", None)
        if callable(outbox):
            extra["outbox"] = outbox()
        if args.json:
            emit_json({"feeds": [r.to_dict() for r in rows], "backend": app.settings.store.backend, **extra})
            return 0
        table = Table(title=f"{len(rows)} feeds · backend {app.settings.store.backend}"
                      + (f" · outbox {extra['outbox']}" if "outbox" in extra else ""))
        for col in ("feed", "state", "last poll", "last success", "last new", "next poll", "articles", "error"):
            table.add_column(col, overflow="fold")
        for r in rows:
            state = r.status + ("" if r.validators_trusted else " (validators untrusted)")
            state += "" if r.configured else " (not in feeds.yaml)"
            problem = r.error or ""
            if r.page_errors:
                problem += ("; " if problem else "") + f"{r.page_errors} page error(s), last: {r.last_page_error}"
            table.add_row(r.name or r.url, state, fmt_time(r.last_poll), fmt_time(r.last_success),
                          fmt_time(r.last_new), fmt_time(r.next_poll), str(r.articles), problem[:160])
        out.print(table)
        return 0


@command("feeds")
def cmd_feeds(args) -> int:
    with open_app(args) as app:
        action = args.feeds_action
        if action == "list":
            feeds = app.feeds()
            if args.json:
                for f in feeds:
                    emit_json({"url": f.url, "name": f.name, "category": f.category, "interval": f.interval,
                               "enabled": f.enabled})
            else:
                for f in feeds:
                    out.print(f"{f.url}  {f.name or ''}  {('[' + f.category + ']') if f.category else ''}".rstrip())
                out.print(f"[dim]{len(feeds)} feeds in {app.settings.feeds_file}[/dim]")
        elif action == "add":
            added = app.add_feed(args.url, args.name, args.category, args.interval)
            out.print(f"added {args.url}" if added else f"{args.url} is already in {app.settings.feeds_file}")
        elif action == "remove":
            if not app.remove_feed(args.url):
                raise IngestError(f"{args.url}: not in {app.settings.feeds_file}")
            out.print(f"removed {args.url}")
        elif action == "retry":
            n = app.retry_feed(args.url)
            out.print(f"reset {n} feed(s); they are polled on the next cycle")
        elif action == "import-opml":
            n = app.import_opml(Path(args.file))
            out.print(f"imported {n} new feeds into {app.settings.feeds_file}")
        elif action == "export-opml":
            text = app.export_opml()
            if args.file:
                Path(args.file).write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
        return 0


@command("sites")
def cmd_sites(args) -> int:
    with open_app(args) as app:
        if args.sites_action == "list":
            domains = app.store.list_domains()
            if args.json:
                for d, n in domains:
                    emit_json({"domain": d, "articles": n})
            for d, n in ([] if args.json else domains):
                out.print(f"{d}  {n} articles")
            return 0
        if args.sites_action == "show":
            stats = app.site_blocks(args.domain)
            k = app.settings.extract.learn_min_articles
            learned = [s for s in stats if s.status == "pinned" or (s.status != "rejected" and s.articles >= k)]
            if args.json:
                for s in stats:
                    if s.articles >= 2 or s.status:
                        emit_json({"fingerprint": s.fingerprint, "text": s.text, "articles": s.articles,
                                   "status": s.status, "learned": s in learned})
                return 0
            out.print(f"{args.domain}: {len(learned)} learned boilerplate blocks (seen in ≥{k} articles)")
            for s in stats:
                if s.articles < 2 and not s.status:
                    continue
                mark = "learned" if s in learned else ("rejected" if s.status == "rejected" else "candidate")
                out.print(f"  {s.fingerprint}  {s.articles:>4}×  {mark:<9} {s.text[:90]}", markup=False)
            return 0
        status = {"pin": "pinned", "reject": "rejected", "reset": None}[args.sites_action]
        if not app.set_block(args.domain, args.fingerprint, status):
            raise IngestError(f"{args.domain}: no block with fingerprint {args.fingerprint!r} (see `ingest sites show`)")
        out.print(f"{args.fingerprint}: {status or 'automatic'}; run `ingest reclean --site {args.domain}` to apply")
        return 0


@command("reclean")
def cmd_reclean(args) -> int:
    with open_app(args) as app:
        n = app.reclean(args.site)
        if args.json:
            emit_json({"changed": n, "site": args.site})
        else:
            out.print(f"re-cleaned {n} articles" + (f" of {args.site}" if args.site else ""))
        return 0


# -- parser -------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="DIR", help="config directory (default: config/, env INGEST_CONFIG)")
    common.add_argument("--db", metavar="PATH", help="SQLite file (default: data/ingest.db, env INGEST_DB)")
    common.add_argument("--debug", action="store_true", help="log verbosely and show tracebacks")
    jsonflag = argparse.ArgumentParser(add_help=False)
    jsonflag.add_argument("--json", action="store_true", help="machine-readable output (JSON lines)")

    parser = argparse.ArgumentParser(prog="ingest", description="Media-monitoring feed ingester.",
                                     parents=[common])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", parents=[common, jsonflag], help="poll feeds: daemon, or one cycle with --once")
    p.add_argument("--once", action="store_true", help="one cycle with a progress bar and a summary, then exit")
    p.add_argument("--shard", metavar="I/N", help="poll only shard I of N of the feeds (several ingesters, one cluster)")

    p = sub.add_parser("demo", parents=[common, jsonflag],
                       help="ingest the bundled sample news site (offline) and show example searches")

    p = sub.add_parser("search", parents=[common, jsonflag], help="search stored articles")
    p.add_argument("query", help='query, e.g. \'(Iran OR Teheran) AND Drohne*\'')
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--sort", choices=("relevance", "date"), default="relevance")
    p.add_argument("--collapse", action="store_true", help="one hit per syndication cluster")
    p.add_argument("--source", action="append", help="only this source (repeatable)")
    p.add_argument("--lang", action="append", help="only this language code (repeatable)")

    p = sub.add_parser("show", parents=[common, jsonflag], help="show one stored article")
    p.add_argument("id")

    p = sub.add_parser("extract", parents=[common, jsonflag], help="extract and clean local HTML files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--url", help="the page's URL (enables per-site rules)")

    sub.add_parser("status", parents=[common, jsonflag], help="per-feed health")

    p = sub.add_parser("feeds", parents=[common], help="manage the feed list (config/feeds.yaml)")
    fsub = p.add_subparsers(dest="feeds_action", required=True, metavar="ACTION")
    fsub.add_parser("list", parents=[common, jsonflag], help="list configured feeds")
    a = fsub.add_parser("add", parents=[common], help="add a feed URL (or a site URL: its feed is discovered)")
    a.add_argument("url")
    a.add_argument("--name")
    a.add_argument("--category")
    a.add_argument("--interval", type=float, help="seconds between polls (default: adaptive)")
    a = fsub.add_parser("remove", parents=[common], help="remove a feed by URL or name")
    a.add_argument("url")
    a = fsub.add_parser("retry", parents=[common], help="reset a failing/gone feed (all failing ones without URL)")
    a.add_argument("url", nargs="?")
    a = fsub.add_parser("import-opml", parents=[common], help="add the feeds of an OPML file")
    a.add_argument("file")
    a = fsub.add_parser("export-opml", parents=[common], help="write the feed list as OPML")
    a.add_argument("file", nargs="?", help="output file (default: stdout)")

    p = sub.add_parser("sites", parents=[common], help="learned per-site boilerplate")
    ssub = p.add_subparsers(dest="sites_action", required=True, metavar="ACTION")
    ssub.add_parser("list", parents=[common, jsonflag], help="sites with stored articles")
    a = ssub.add_parser("show", parents=[common, jsonflag], help="repeated blocks of a site and what was learned")
    a.add_argument("domain")
    for action, text in (("pin", "always strip this block"), ("reject", "never strip this block"),
                         ("reset", "back to automatic")):
        a = ssub.add_parser(action, parents=[common], help=text)
        a.add_argument("domain")
        a.add_argument("fingerprint")

    p = sub.add_parser("reclean", parents=[common, jsonflag],
                       help="re-extract stored articles from kept raw pages (no re-fetch)")
    p.add_argument("--site", metavar="DOMAIN")

    for register in _extensions():
        register(sub, common, jsonflag)
    return parser


def _extensions():
    """Command groups that live with their stage (es, rules, alerts, serve) register themselves here."""
    import importlib

    for module in ("ingest.cli.es", "ingest.cli.alerts", "ingest.cli.serve"):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        COMMANDS.update(mod.COMMANDS)
        yield mod.register


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except IngestError as exc:
        if args.debug:
            raise
        err.print(f"error: {exc}", markup=False)
        return 2
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - one line for users, traceback with --debug
        if args.debug:
            raise
        err.print(f"error: internal: {type(exc).__name__}: {exc} (run with --debug for the traceback)", markup=False)
        return 1
