"""`ingest` command line: a thin layer over `ingest.app.Ingest`.

Every command takes --config DIR and --db PATH; errors are one line on stderr with a
non-zero exit code (a traceback only with --debug).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from ingest import redact as redact_module
from ingest.choices import BACKENDS, LOG_FORMATS, LOG_LEVELS, SORT_ORDERS
from ingest.cli.format import fmt_time
from ingest.errors import IngestError, StoreUnavailable, unknown_name
from ingest.sources.urls import strip_tracking

if TYPE_CHECKING:  # imported by the commands that need them: `--help` and read-only commands start fast
    from ingest.app import Ingest

redact = redact_module.redact

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


def open_app(args: argparse.Namespace, *, reads_only: bool = False) -> Ingest:
    """The application for this command's options. A command that only reads refuses a SQLite file that
    does not exist (a typo in --db, or cron's working directory) instead of creating an empty store."""
    from ingest.app import Ingest
    from ingest.config import load_settings

    settings = load_settings(args.config, args.db, getattr(args, "backend", None))
    import os

    defaulted = not (args.config or os.environ.get("INGEST_CONFIG") or os.environ.get("INGEST_HOME"))
    if defaulted and not Path(settings.config_dir).is_dir() and not getattr(args, "_warned_config", False):
        args._warned_config = True  # cron or systemd in another working directory: say so instead of guessing
        err.print(f"warning: config directory {settings.config_dir} not found; using built-in defaults "
                  "(pass --config DIR or set INGEST_HOME)", markup=False)
    if reads_only and settings.store.backend == "sqlite" and not Path(settings.store.sqlite_path).exists():
        raise IngestError(f"{settings.store.sqlite_path}: no such store (nothing ingested yet? "
                          "pass --db PATH or set INGEST_DB / INGEST_HOME)")
    return Ingest(settings)


def store_label(app: Ingest) -> str:
    """Where this command reads and writes: the SQLite file or the Elasticsearch index prefix."""
    st = app.settings.store
    if st.backend == "sqlite":
        return str(st.sqlite_path)
    return f"{st.backend} index {getattr(st, st.backend).index_prefix}-*"


# -- run / demo ---------------------------------------------------------------------------------


POLL_LABELS = {"new": "new entries", "not_modified": "not modified", "unchanged": "unchanged",
               "error": "failed", "skipped": "skipped (waiting)"}
FEED_LABELS = {"new": "not polled yet", "working": "ok", "backing_off": "backing off", "failing": "failing",
               "gone": "gone", "disabled": "disabled"}


def label(labels: dict[str, str], value: str) -> str:
    """A human label for a state name (unknown names shown with spaces, never as raw enum names)."""
    return labels.get(value, value.replace("_", " "))


def run_exit_code(report) -> int:
    """0 ok; 3 every polled feed failed; 4 some feeds failed (documented in `ingest --help` and the README)."""
    polled = [p for p in report.polls if p.status != "skipped"]
    failed = [p for p in polled if p.status == "error"]
    if polled and len(failed) == len(polled):
        return 3
    return 4 if failed else 0


def print_report(report, as_json: bool, store_label: str = "") -> None:
    if as_json:
        emit_json({"store": store_label or None,
            "feeds": [{"url": p.feed.url, "name": p.feed_name, "status": p.status, "new_entries": p.new_entries,
                       "error": p.error} for p in report.polls],
            "stored": report.stored, "fallbacks": report.fallbacks, "duplicates": report.duplicates,
            "page_errors": report.page_errors, "retrying": report.retrying, "dead": report.dead,
            "left_queued": report.left_queued,
        })
        return
    table = Table(title="Poll summary")
    for col in ("feed", "result", "new", "error"):
        table.add_column(col, overflow="fold")
    for p in report.polls:
        table.add_row(p.feed_name or p.feed.url, label(POLL_LABELS, p.status), str(p.new_entries), p.error or "")
    out.print(table)
    out.print(f"stored {report.stored} articles{' in ' + store_label if store_label else ''} "
              f"({report.fallbacks} from feed text, "
              f"{report.duplicates} duplicates skipped, {len(report.page_errors)} page errors)")
    if report.retrying or report.dead or report.left_queued:
        out.print(f"{report.retrying} pages to retry later, {report.dead} entries dead (no article), "
                  f"{report.left_queued} entries left queued for the next run")
    for e in report.page_errors[:10]:
        out.print(f"  page error: {e}")


@contextmanager
def progress_bar(label: str, total: int | None, quiet: bool) -> Iterator[Callable[..., None]]:
    """One bar on stderr for a long command: yields `advance(kind, n)`, or `advance(completed=, total=)`
    to set the position. Nothing is drawn with --json or when stderr is not a terminal."""
    if quiet or not sys.stderr.isatty():
        yield lambda *_a, **_k: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)

        def advance(_kind: str = "", n: int = 0, completed: int | None = None, total: int | None = None) -> None:
            if completed is None:
                bar.advance(task, n)
            else:
                bar.update(task, completed=completed, total=total)
        yield advance


def run_with_progress(app: Ingest, quiet: bool, wait: bool = False):
    feeds = [f for f in app.feeds() if f.enabled]
    if quiet or not sys.stderr.isatty():
        return app.run_once(feeds=feeds, wait=wait)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        tasks = {"feed": bar.add_task("feeds", total=len(feeds)), "page": bar.add_task("pages", total=None)}

        def progress(kind: str, n: int) -> None:
            if kind not in tasks:  # re-cleaning after a site learned boilerplate has a bar of its own
                tasks[kind] = bar.add_task({"reclean": "re-cleaned"}.get(kind, kind), total=None)
            bar.advance(tasks[kind], n)

        return app.run_once(progress=progress, feeds=feeds, wait=wait)


def stop_on_signals(app: Ingest) -> None:
    """SIGTERM/SIGINT: finish the batch being written, leave the rest queued, exit (a second signal: at once)."""
    def handle(signum, _frame):
        if app.stopping.is_set():
            raise KeyboardInterrupt
        app.stopping.set()
        err.print("stopping: finishing the batch being written; the rest stays queued")

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


@command("run")
def cmd_run(args) -> int:
    with open_app(args) as app:
        if args.shard:
            from ingest.sources.shard import parse_shard

            app.shard = parse_shard(args.shard)
        if not app.feeds():
            raise IngestError(f"{app.settings.feeds_file}: no feeds configured (add one with `ingest feeds add URL`)")
        if args.once:
            stop_on_signals(app)
            report = run_with_progress(app, args.json, args.wait)
            print_report(report, args.json, store_label(app))
            return run_exit_code(report)
        from ingest.daemon import run_daemon

        run_daemon(app, args.wait)
        return 0


@command("demo")
def cmd_demo(args) -> int:
    from ingest.demo.runner import run_demo

    return run_demo(args, out, emit_json, print_report)


# -- search / show / extract --------------------------------------------------------------------


@command("search")
def cmd_search(args) -> int:
    with open_app(args, reads_only=True) as app:
        filters = {"offset": args.offset, "sort": args.sort, "collapse": args.collapse,
                   "collapse_story": args.collapse_story}
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
    with open_app(args, reads_only=True) as app:
        article = app.show(args.id)
        if args.versions:
            return show_versions(app.versions(article), args.json)
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


def show_versions(versions: list[dict], as_json: bool) -> int:
    """`show ID --versions`: oldest first, the current version last (JSON: one object a line, with the text)."""
    for v in versions:
        if as_json:
            emit_json(v)
            continue
        mark = "current" if v["current"] else f"replaced {v['replaced'][:16].replace('T', ' ')}: {v['change']}"
        out.print(f"v{v['version']}  {v['seen'][:16].replace('T', ' ')}  {v['text_hash'][:12]}  {v['title']}  "
                  f"({mark})", markup=False)
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
        extra: dict[str, int | bool] = {}
        outbox = app.outbox_size()
        if outbox is not None:
            extra["outbox"] = outbox
        try:
            extra["reindex_pending"] = app.reindex_pending()
        except StoreUnavailable:
            pass
        if args.json:
            emit_json({"feeds": [r.to_dict() for r in rows], "backend": app.settings.store.backend, **extra})
            return 0
        title = f"{len(rows)} feeds · {store_label(app)}" + (f" · outbox {extra['outbox']}" if "outbox" in extra else "")
        table = Table(title=title)
        columns = (("feed", "state", "last poll", "last success", "last new", "next poll", "articles", "queued",
                    "problem") if args.wide else ("feed", "state", "next poll", "articles", "queued", "problem"))
        for col in columns:
            table.add_column(col, overflow="fold", no_wrap=col in ("next poll", "articles"))
        for r in rows:
            state = label(FEED_LABELS, r.status) + ("" if r.validators_trusted else " (validators untrusted)")
            state += "" if r.configured else " (not in feeds.yaml)"
            state += f" (push: {r.websub['state']})" if r.websub else ""
            problem = r.error or ""
            if r.page_errors:
                problem += ("; " if problem else "") + f"{r.page_errors} page error(s), last: {r.last_page_error}"
            queue = f"{r.queued}" + (f" ({r.retrying} retry" + (f", next {fmt_time(r.next_retry)}" if args.wide
                                                              else "") + ")" if r.retrying else "")
            queue += f", {r.dead} dead" if r.dead else ""
            cells = {"feed": r.name or r.url, "state": state, "last poll": fmt_time(r.last_poll),
                     "last success": fmt_time(r.last_success), "last new": fmt_time(r.last_new),
                     "next poll": fmt_time(r.next_poll), "articles": str(r.articles), "queued": queue,
                     "problem": problem}
            table.add_row(*(cells[c] for c in columns))
        out.print(table)
        retrying = sum(r.retrying for r in rows)
        if retrying:
            out.print(f"page retry queue: {retrying} page(s) waiting; `ingest status --json` lists the errors")
        if extra.get("reindex_pending"):
            out.print("the search index lacks token views of older articles (compound parts): run `ingest reindex`")
        return 0


@command("feeds")
def cmd_feeds(args) -> int:
    with open_app(args) as app:
        action = args.feeds_action
        if action in ("forget", "prune"):
            return _feeds_forget(app, args)
        {"list": _feeds_list, "add": _feeds_add, "remove": _feeds_remove, "retry": _feeds_retry,
         "import-opml": _feeds_import, "export-opml": _feeds_export}[action](app, args)
        return 0


def _feeds_list(app: Ingest, args) -> None:
    feeds = app.feeds()
    if args.json:
        for f in feeds:
            emit_json({"url": f.url, "name": f.name, "category": f.category, "interval": f.interval,
                       "enabled": f.enabled, "profile": f.profile.shown() if f.profile else None})
        return
    for f in feeds:
        out.print(f"{f.url}  {f.name or ''}  {('[' + f.category + ']') if f.category else ''}".rstrip())
    out.print(f"[dim]{len(feeds)} feeds in {app.settings.feeds_file}[/dim]")


def _feeds_add(app: Ingest, args) -> None:
    url, note = args.url, ""
    if not args.no_check:
        try:
            probe = app.probe_feed(args.url)
        except IngestError as exc:
            raise IngestError(f"{exc} (add it anyway with --no-check)") from None
        note = f" ({probe.title or 'untitled'}, {probe.entries} entries now)"
        if probe.discovered_from:  # the site URL is kept: the poller follows the feed if it moves
            note = f" (a page; its feed {probe.url}: {probe.title or 'untitled'}, {probe.entries} entries now)"
    added = app.add_feed(url, args.name, args.category, args.interval)
    where = app.settings.feeds_file
    out.print(f"added {url} to {where}{note}" if added else f"{url} is already in {where}", markup=False)


def _feeds_remove(app: Ingest, args) -> None:
    if not app.remove_feed(args.url):
        feeds = app.feeds()
        raise unknown_name("feed", args.url, [f.url for f in feeds] + [f.name for f in feeds if f.name],
                           str(app.settings.feeds_file))
    out.print(f"removed {args.url} from {app.settings.feeds_file}", markup=False)


def _feeds_retry(app: Ingest, args) -> None:
    if args.url:
        known = app.known_feed_urls()
        if args.url not in known:
            raise unknown_name("feed", args.url, sorted(set(known)), str(app.settings.feeds_file))
    n = app.retry_feed(args.url)
    out.print(f"reset {n} feed(s); they are polled on the next cycle")


def _feeds_forget(app: Ingest, args) -> int:
    known = app.unconfigured_feeds()
    if args.feeds_action == "forget":
        if args.url not in known:
            raise unknown_name("unconfigured feed", args.url, known, store_label(app))
        targets = [args.url]
    else:
        targets = known
    if args.dry_run:
        for url in targets:
            out.print(f"would forget {url}", markup=False) if not args.json else emit_json({"url": url})
        return 0
    totals = app.forget_feeds(targets, articles=args.articles)
    if args.json:
        emit_json({"forgotten": targets, **totals})
    else:
        out.print(f"forgot {totals['feeds']} feeds in {store_label(app)}: {totals['entries']} seen entries, "
                  f"{totals['raw_pages']} raw pages, {totals['articles']} articles deleted", markup=False)
    return 0


def _feeds_import(app: Ingest, args) -> None:
    n = app.import_opml(Path(args.file))
    out.print(f"imported {n} new feeds into {app.settings.feeds_file}")


def _feeds_export(app: Ingest, args) -> None:
    text = app.export_opml()
    if args.file:
        Path(args.file).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


@command("sites")
def cmd_sites(args) -> int:
    with open_app(args) as app:
        if args.sites_action == "list":
            domains = app.list_domains()
            if args.json:
                for d, n in domains:
                    emit_json({"domain": d, "articles": n})
            for d, n in ([] if args.json else domains):
                out.print(f"{d}  {n} articles")
            return 0
        known = [d for d, _ in app.list_domains()]
        if args.domain not in known:
            raise unknown_name("site", args.domain, known, store_label(app))
        if args.sites_action == "show":
            return _sites_show(app, args)
        from ingest.models import BlockStatus

        status = {"pin": BlockStatus.PINNED, "reject": BlockStatus.REJECTED, "reset": None}[args.sites_action]
        if not app.set_block(args.domain, args.fingerprint, status):
            raise IngestError(f"{args.domain}: no block with fingerprint {args.fingerprint!r} (see `ingest sites show`)")
        out.print(f"{args.fingerprint}: {status or 'automatic'}; run `ingest reclean --site {args.domain}` to apply")
        return 0


def _sites_show(app: Ingest, args) -> int:
    from ingest.models import BlockStatus

    stats, learned = app.learned_blocks(args.domain)
    k = app.learned_boilerplate().min_articles
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
        mark = "learned" if s in learned else ("rejected" if s.status == BlockStatus.REJECTED else "candidate")
        out.print(f"  {s.fingerprint}  {s.articles:>4}×  {mark:<9} {s.text[:90]}", markup=False)
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


@command("config")
def cmd_config(args) -> int:
    from ingest.config_reference import effective, reference_markdown

    if args.config_action == "reference":
        sys.stdout.write(reference_markdown())
        return 0
    from ingest.config import load_settings

    settings = load_settings(args.config, args.db, getattr(args, "backend", None))
    data = effective(settings)
    if args.json:
        emit_json(data)
    else:
        import yaml

        sys.stdout.write(f"# effective settings (config directory {settings.config_dir}; secrets masked)\n")
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return 0


@command("health")
def cmd_health(args) -> int:
    with open_app(args) as app:
        problems = app.health(max_age=args.max_age)
        if args.json:
            emit_json({"healthy": not problems, "problems": problems})
        else:
            for p in problems:
                err.print(f"unhealthy: {p}", markup=False)
            if not problems:
                out.print(f"healthy: {store_label(app)}", markup=False)
        return 1 if problems else 0


@command("backup")
def cmd_backup(args) -> int:
    with open_app(args) as app:
        size = app.backup(Path(args.file))
        note = "" if app.settings.store.backend == "sqlite" else \
            " (local state only: back the cluster up with Elasticsearch snapshots, see docs/operations.md)"
        if args.json:
            emit_json({"file": args.file, "bytes": size, "source": str(app.settings.store.sqlite_path)})
        else:
            out.print(f"backed up {app.settings.store.sqlite_path} to {args.file} ({size / 1e6:.1f} MB){note}",
                      markup=False)
        return 0


@command("copy")
def cmd_copy(args) -> int:
    with open_app(args, reads_only=True) as app:
        with progress_bar(f"copy to {args.to}", app.count_articles(), args.json) as advance:
            counts = app.copy_store(args.to, progress=advance)
        if args.json:
            emit_json({"from": app.settings.store.backend, "to": args.to, **counts})
        else:
            out.print(f"copied {counts['articles']} articles ({counts['skipped']} already there) and "
                      f"{counts['alerts']} alert ledger rows from {store_label(app)} to {args.to}", markup=False)
        return 0


@command("prune")
def cmd_prune(args) -> int:
    with open_app(args) as app:
        plan = app.retention_plan()
        counts = app.prune(dry_run=args.dry_run)
        if args.json:
            emit_json({"dry_run": args.dry_run, "store": store_label(app), **counts})
            return 0
        if not plan:
            out.print("no article retention configured (store.retention_days); articles are kept", markup=False)
        verb = "would delete" if args.dry_run else "deleted"
        out.print(f"{verb} {counts['articles']} articles in {store_label(app)}"
                  + ("".join(f"; {k.replace('_', ' ')} {v}" for k, v in counts.items() if k != "articles")),
                  markup=False)
        return 0


@command("delete")
def cmd_delete(args) -> int:
    with open_app(args, reads_only=True) as app:
        if args.source and not args.dry_run and not args.yes:
            n = app.delete(sources=args.source, dry_run=True)
            raise IngestError(f"this deletes {n} articles of {', '.join(args.source)} from {store_label(app)}; "
                              "run again with --yes (or --dry-run to count)")
        n = app.delete(ids=args.ids, sources=args.source, dry_run=args.dry_run)
        if args.json:
            emit_json({"dry_run": args.dry_run, "articles": n, "store": store_label(app)})
        else:
            out.print(f"{'would delete' if args.dry_run else 'deleted'} {n} articles in {store_label(app)}",
                      markup=False)
        return 0


@command("reindex")
def cmd_reindex(args) -> int:
    """Token views rebuilt from the stored text; an interrupted run resumes where it stopped."""
    with open_app(args) as app:
        resumed = app.reindex_pending() and not args.restart
        steps = app.reindex(batch_size=args.batch, restart=args.restart)
        done, total = next(steps)
        start = done
        with progress_bar("re-indexing", total, args.json) as advance:
            advance(completed=done, total=total)
            for done, total in steps:
                advance(completed=done, total=total)
        if args.json:
            emit_json({"reindexed": done - start, "total": total, "resumed": resumed, "resumed_at": start})
        else:
            out.print(f"re-indexed {done - start} of {total} articles"
                      + (f" (resumed after {start})" if resumed and start else ""))
        return 0


# -- parser -------------------------------------------------------------------------------------


def global_options(*, suppress: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after the command name.

    The top-level parser holds the defaults; each subcommand parser gets the same options with
    SUPPRESS as default, so `ingest --db X search q` and `ingest search q --db X` both set `db`
    and a subcommand never overwrites a value given before it with its own default."""
    def default(value):
        return argparse.SUPPRESS if suppress else value

    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--config", metavar="DIR", default=default(None),
                   help="config directory (default: $INGEST_HOME/config or ./config; env INGEST_CONFIG)")
    p.add_argument("--db", metavar="PATH", default=default(None),
                   help="SQLite file (default: $INGEST_HOME/data/ingest.db or ./data/ingest.db; env INGEST_DB)")
    p.add_argument("--debug", action="store_true", default=default(False),
                   help="log verbosely and show tracebacks")
    p.add_argument("--log-level", choices=LOG_LEVELS, default=default(None),
                   help="log level (default: warning; env INGEST_LOG_LEVEL)")
    p.add_argument("--log-format", choices=LOG_FORMATS, default=default(None),
                   help="log lines as text or one JSON object per line (env INGEST_LOG_FORMAT)")
    p.add_argument("--json", action="store_true", default=default(False),
                   help="machine-readable output (JSON lines)")
    return p


def build_parser() -> argparse.ArgumentParser:
    common = global_options(suppress=True)
    jsonflag = argparse.ArgumentParser(add_help=False)  # kept for command groups that register themselves

    parser = argparse.ArgumentParser(prog="ingest", description="Media-monitoring feed ingester.",
                                     parents=[global_options(suppress=False)],
                                     epilog="Exit codes: 0 ok; 1 internal error; 2 bad input or configuration; "
                                            "3 run --once: every polled feed failed; 4 run --once: some feeds or "
                                            "pages failed; 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"ingest {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", parents=[common, jsonflag], help="poll feeds: daemon, or one cycle with --once")
    p.add_argument("--once", action="store_true", help="one cycle with a progress bar and a summary, then exit")
    p.add_argument("--shard", metavar="I/N", help="poll only shard I of N of the feeds (several ingesters, one cluster)")
    p.add_argument("--wait", action="store_true",
                   help="if another run holds this store (and shard), wait for it instead of exiting")

    p = sub.add_parser("demo", parents=[common, jsonflag],
                       help="ingest the bundled sample news site (offline) and show example searches")

    p = sub.add_parser("search", parents=[common, jsonflag], help="search stored articles")
    p.add_argument("query", help='query, e.g. \'(Iran OR Teheran) AND Drohne*\'')
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--sort", choices=SORT_ORDERS, default="relevance")
    p.add_argument("--collapse", action="store_true", help="one hit per syndication cluster")
    p.add_argument("--collapse-story", action="store_true",
                   help="one hit per story (a syndication cluster and its follow-ups across days)")
    p.add_argument("--source", action="append", help="only this source (repeatable)")
    p.add_argument("--lang", action="append", help="only this language code (repeatable)")

    p = sub.add_parser("show", parents=[common, jsonflag], help="show one stored article")
    p.add_argument("id")
    p.add_argument("--versions", action="store_true", help="list the article's versions (updates seen since)")

    p = sub.add_parser("extract", parents=[common, jsonflag], help="extract and clean local HTML files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--url", help="the page's URL (enables per-site rules)")

    p = sub.add_parser("status", parents=[common, jsonflag], help="per-feed health")
    p.add_argument("--wide", action="store_true", help="all columns (last poll, last success, last new)")

    p = sub.add_parser("feeds", parents=[common], help="manage the feed list (config/feeds.yaml)")
    fsub = p.add_subparsers(dest="feeds_action", required=True, metavar="ACTION")
    fsub.add_parser("list", parents=[common, jsonflag], help="list configured feeds")
    a = fsub.add_parser("add", parents=[common], help="add a feed URL (or a site URL: its feed is discovered)")
    a.add_argument("url")
    a.add_argument("--name")
    a.add_argument("--category")
    a.add_argument("--interval", type=float, help="seconds between polls (default: adaptive)")
    a.add_argument("--no-check", action="store_true",
                   help="add without fetching it first (default: fetch once, parse, discover a site's feed)")
    a = fsub.add_parser("remove", parents=[common], help="remove a feed by URL or name")
    a.add_argument("url")
    a = fsub.add_parser("retry", parents=[common], help="reset a failing/gone feed (all failing ones without URL)")
    a.add_argument("url", nargs="?")
    for action, text in (("forget", "drop the polling state of one feed no longer in feeds.yaml"),
                         ("prune", "drop the polling state of every feed no longer in feeds.yaml")):
        a = fsub.add_parser(action, parents=[common, jsonflag], help=text)
        if action == "forget":
            a.add_argument("url")
        a.add_argument("--articles", action="store_true", help="also delete the articles that came through it")
        a.add_argument("--dry-run", action="store_true", help="list, change nothing")
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

    p = sub.add_parser("config", parents=[common], help="the settings in force, or the settings reference")
    csub = p.add_subparsers(dest="config_action", required=True, metavar="ACTION")
    csub.add_parser("show", parents=[common, jsonflag], help="effective settings after files, env and flags")
    csub.add_parser("reference", parents=[common], help="every setting with type, default and meaning (Markdown)")

    p = sub.add_parser("health", parents=[common, jsonflag],
                       help="exit 0 when the store answers and the daemon's heartbeat is fresh (container checks)")
    p.add_argument("--max-age", type=float, default=300.0, metavar="SECONDS",
                   help="oldest acceptable daemon heartbeat (default 300)")

    p = sub.add_parser("backup", parents=[common, jsonflag],
                       help="online copy of the SQLite store (safe while the daemon runs)")
    p.add_argument("file", help="new file to write (never overwritten)")

    p = sub.add_parser("copy", parents=[common, jsonflag],
                       help="copy stored articles and the alert ledger to the other backend (resumable)")
    p.add_argument("--to", required=True, choices=BACKENDS,
                   help="target backend, configured in the same settings (store.elasticsearch.url, --db)")

    p = sub.add_parser("prune", parents=[common, jsonflag],
                       help="apply retention now (store.retention_days; the daemon does it daily)")
    p.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")

    p = sub.add_parser("delete", parents=[common, jsonflag], help="delete articles by id or a whole source")
    p.add_argument("ids", nargs="*", metavar="ID", help="article ids (unique prefixes allowed)")
    p.add_argument("--source", action="append", metavar="NAME", help="every article of this source name or domain")
    p.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    p.add_argument("--yes", action="store_true", help="confirm deleting a whole source")

    p = sub.add_parser("reindex", parents=[common, jsonflag],
                       help="rebuild the search token views (stems, compound parts) from the stored text; resumable")
    p.add_argument("--restart", action="store_true", help="start a new pass instead of resuming an interrupted one")
    p.add_argument("--batch", type=int, default=200, metavar="N", help="articles per commit (default 200)")

    for register in _extensions():
        register(sub, common, jsonflag)
    return parser


def _extensions():
    """Command groups that live with their stage (es, rules, alerts, serve) register themselves here."""
    import importlib

    for module in ("ingest.cli.es", "ingest.cli.alerts", "ingest.cli.saved", "ingest.cli.entities",
                   "ingest.cli.serve", "ingest.cli.coverage"):
        mod = importlib.import_module(module)  # a broken module fails loudly, never a silently missing command
        COMMANDS.update(mod.COMMANDS)
        yield mod.register


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ingest")
    except PackageNotFoundError:
        return "unknown"


class JsonLogFormatter(logging.Formatter):
    """One JSON object per log line (for journald/Loki/ELK); the message is formatted first."""

    def format(self, record: logging.LogRecord) -> str:
        data = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname.lower(),
                "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def setup_logging(args: argparse.Namespace) -> None:
    import os

    redact_module.install()  # no secret in any log line, --debug included
    level = "debug" if args.debug else (args.log_level or os.environ.get("INGEST_LOG_LEVEL") or "warning").lower()
    if level not in LOG_LEVELS:
        raise IngestError(f"INGEST_LOG_LEVEL: {level!r} is not one of {', '.join(LOG_LEVELS)}")
    fmt = (args.log_format or os.environ.get("INGEST_LOG_FORMAT") or "text").lower()
    if fmt not in LOG_FORMATS:
        raise IngestError(f"INGEST_LOG_FORMAT: {fmt!r} is not one of {', '.join(LOG_FORMATS)}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter() if fmt == "json"
                         else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper()))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        setup_logging(args)
        return COMMANDS[args.command](args)
    except IngestError as exc:
        return _fail(args, f"error: {exc}", 2)
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a file we write or read: disk full, permissions, a missing folder
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(args, f"error: {where}{exc.strerror or exc}", 2)
    except Exception as exc:  # noqa: BLE001 - one line for users, traceback with --debug
        return _fail(args, f"error: internal: {type(exc).__name__}: {exc} (run with --debug for the traceback)", 1)


def _fail(args: argparse.Namespace, line: str, code: int) -> int:
    """One line on stderr (with --debug after the traceback); both scrubbed of secrets."""
    if args.debug:
        import traceback

        err.print(redact(traceback.format_exc()).rstrip(), markup=False)
    err.print(redact(line), markup=False)
    return code
