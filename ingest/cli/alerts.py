"""`ingest rules list|validate|test|preview` and `ingest alerts list|deliver`: alert rules and the ledger."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from ingest.errors import IngestError

COMMANDS: dict = {}


def _rules(app, check_queries: bool = True):
    from ingest.alerts import load_rules

    return load_rules(app.settings.rules_file, check_queries=check_queries, missing_ok=False)


def _rule(app, name: str):
    rules = _rules(app)
    for rule in rules:
        if rule.name == name:
            return rule
    known = ", ".join(r.name for r in rules) or "none"
    raise IngestError(f"{app.settings.rules_file}: no rule named {name!r} (rules: {known})")


def _check_query(query: str) -> None:
    from ingest.alerts.rules import validate_query

    problem = validate_query(query)
    if problem:
        raise IngestError(problem)


def _fmt(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


# -- rules ----------------------------------------------------------------------------------------


def cmd_rules(args) -> int:
    from ingest.cli.main import open_app

    with open_app(args) as app:
        return {"list": _rules_list, "validate": _rules_validate, "test": _rules_test,
                "preview": _rules_preview}[args.rules_action](app, args)


def _rules_list(app, args) -> int:
    from rich.table import Table

    from ingest.alerts.rules import format_duration
    from ingest.cli.main import emit_json, out

    rules = _rules(app)
    if args.json:
        for rule in rules:
            emit_json(rule.summary())
        return 0
    table = Table(title=f"{len(rules)} alert rules in {app.settings.rules_file}")
    for col in ("rule", "query", "mode", "filters", "notify"):
        table.add_column(col, overflow="fold")
    for r in rules:
        mode = r.mode + (f" every {format_duration(r.digest_every)}" if r.digest_every else "")
        mode += f", at most every {format_duration(r.min_interval)}" if r.min_interval else ""
        mode += "" if r.enabled else " (disabled)"
        filters = "; ".join(f"{k}: {', '.join(v)}" for k, v in (("sources", r.sources), ("languages", r.languages),
                                                                 ("tags", r.tags)) if v)
        if r.max_age:
            filters += ("; " if filters else "") + f"max_age: {format_duration(r.max_age)}"
        table.add_row(r.name, r.query, mode, filters or "-", "\n".join(c.label for c in r.notify) or "log + Atom only")
    out.print(table)
    return 0


def _rules_validate(app, args) -> int:
    from ingest.alerts import RulesError
    from ingest.cli.main import emit_json, err, out

    try:
        rules = _rules(app)
    except RulesError as exc:
        if args.json:
            emit_json({"ok": False, "file": exc.file,
                       "problems": [{"key": k, "message": m} for k, m in exc.problems]})
        else:
            for line in exc.lines():
                err.print(f"error: {line}", markup=False)
        return 2
    if args.json:
        emit_json({"ok": True, "file": str(app.settings.rules_file), "rules": len(rules)})
    else:
        channels = sum(len(r.notify) for r in rules)
        out.print(f"{app.settings.rules_file}: {len(rules)} rules, {channels} notification channel(s): OK", markup=False)
    return 0


def _rules_test(app, args) -> int:
    """Which stored articles the rule matches (one line per story) and whether each already alerted;
    with --send, a test message to each of the rule's channels (the ledger is not touched)."""
    from ingest.alerts.engine import story_of
    from ingest.cli.main import emit_json, out
    from ingest.store import SearchRequest

    rule = _rule(app, args.rule)
    if rule.mode == "volume":
        return _volume_test(app, rule, args)
    since = datetime.now(UTC) - timedelta(days=args.days)
    result = app.store.index.search(SearchRequest(query=rule.query, limit=args.limit, sort="date", collapse=True,
                                            indexed_since=since))
    alerted = {(r.story) for r in app.store.index.list_alerts(rule=rule.name, limit=10_000)}
    now = datetime.now(UTC)
    rows = []
    for hit in result.hits:
        article = app.store.index.get_article(hit.id)
        if article is None:
            continue
        rows.append({"id": hit.id, "title": hit.title, "url": hit.url, "source": hit.source,
                     "published": hit.published.isoformat() if hit.published else None,
                     "copies": hit.cluster_size, "passes_filters": rule.accepts(article, now),
                     "alerted": story_of(article) in alerted})
    sent = _send_test(rule) if args.send else None
    if args.json:
        emit_json({"rule": rule.name, "query": rule.query, "days": args.days, "stories": result.total,
                   "matches": rows, "sent": sent})
        return 0 if not sent or all(s["ok"] for s in sent) else 1
    out.print(f"rule {rule.name}: {result.total} matching stories indexed in the last {args.days} days", markup=False)
    for row in rows:
        flags = ("alerted" if row["alerted"] else "not alerted") + ("" if row["passes_filters"] else ", filtered out")
        copies = f" (+{row['copies'] - 1} copies)" if row["copies"] > 1 else ""
        out.print(f"  {row['published'] or '-':.16}  {row['source']}: {row['title']}{copies}  [{flags}]", markup=False)
        out.print(f"      {row['url']}", markup=False)
    for s in sent or []:
        out.print(f"  test message to {s['channel']}: {'sent' if s['ok'] else 'FAILED: ' + s['error']}", markup=False)
    return 0 if not sent or all(s["ok"] for s in sent) else 1


def _volume_test(app, rule, args) -> int:
    """A volume rule now: the window's count against its baseline, and whether that is a spike/drop."""
    from ingest.alerts.volume import measure
    from ingest.cli.main import emit_json, out

    reading = measure(app.store.index, rule)
    if args.json:
        emit_json(reading.to_dict())
    else:
        out.print(f"rule {rule.name} ({rule.query}): {reading.describe(rule.volume)}", markup=False)
        out.print(f"  window count {reading.window_count}, baseline count {reading.baseline_count}; fires at "
                  f"{rule.volume.ratio:g}x the expected count with at least {rule.volume.min_count} articles",
                  markup=False)
    return 0


def _send_test(rule) -> list[dict]:
    from ingest.alerts.delivery import AppriseSender

    if not rule.notify:
        raise IngestError(f"rule {rule.name} has no notify channels to test")
    sender = AppriseSender()
    results = []
    for channel in rule.notify:
        error = sender.send(channel, f"[{rule.name}] test message from ingest",
                            f"This is a test of alert rule {rule.name}.\nQuery: {rule.query}")
        results.append({"channel": channel.label, "ok": error is None, "error": error})
    return results


def _rules_preview(app, args) -> int:
    """Matches per day over the last N days: how noisy a query would be as a rule."""
    from ingest.cli.main import emit_json, out
    from ingest.store import SearchRequest

    _check_query(args.query)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - timedelta(days=args.days - 1)
    request = SearchRequest(query=args.query, since=since, sources=args.source or [], languages=args.lang or [])
    counts = {d.date(): n for d, n in app.store.index.histogram(request, "day")}
    days = [(since + timedelta(days=i)).date() for i in range(args.days)]
    total = sum(counts.get(d, 0) for d in days)
    if args.json:
        emit_json({"query": args.query, "days": args.days, "total": total,
                   "per_day": [{"day": d.isoformat(), "matches": counts.get(d, 0)} for d in days]})
        return 0
    peak = max([counts.get(d, 0) for d in days] + [1])
    out.print(f"{args.query}: {total} matching articles published in the last {args.days} days "
              f"(~{total / args.days:.1f} per day)", markup=False)
    for d in days:
        n = counts.get(d, 0)
        out.print(f"  {d.isoformat()}  {n:>6}  {'#' * round(40 * n / peak)}", markup=False)
    return 0


# -- alerts ---------------------------------------------------------------------------------------


def cmd_alerts(args) -> int:
    from ingest.cli.main import emit_json, open_app, out

    with open_app(args) as app:
        if args.alerts_action == "deliver":
            from ingest.alerts import engine_for

            engine = engine_for(app.settings, app.store, start=False)  # this thread sends, no schedule
            if engine is None:
                raise IngestError(f"{app.settings.rules_file}: file not found (no alert rules)")
            engine.evaluate_backlog()  # stored articles whose rules never ran (a crash, a cluster outage)
            for rule in engine.rules:
                if args.rule in (None, rule.name):
                    engine.deliver(rule)
            left = len(app.store.index.list_alerts(rule=args.rule, undelivered=True, limit=10_000))
            if args.json:
                emit_json({"sent": engine.delivered, "undelivered": left})
            else:
                out.print(f"sent {engine.delivered} messages; {left} alerts still undelivered", markup=False)
            return 0 if left == 0 else 1
        records = app.store.index.list_alerts(rule=args.rule, limit=args.limit, undelivered=args.undelivered)
        if args.rule and not records:
            _rule(app, args.rule)  # a misspelt name is an error listing the rules, not an empty list
        if args.json:
            for r in records:
                emit_json({"rule": r.rule, "story": r.story, "title": r.title, "url": r.url, "sources": r.sources,
                           "article_ids": r.article_ids, "created": r.created.isoformat() if r.created else None,
                           "delivered": r.delivered.isoformat() if r.delivered else None, "attempts": r.attempts,
                           "last_error": r.last_error, "channels_done": len(r.channels_done)})
            return 0
        from rich.table import Table

        table = Table(title=f"{len(records)} alerts" + (f" of rule {args.rule}" if args.rule else ""))
        for col in ("created", "rule", "story", "outlets", "delivered", "error"):
            table.add_column(col, overflow="fold")
        for r in records:
            delivered = _fmt(r.delivered) if r.delivered else f"pending ({r.attempts} attempts)"
            table.add_row(_fmt(r.created), r.rule, f"{r.title}\n{r.url}", ", ".join(r.sources), delivered,
                          (r.last_error or "")[:160])
        out.print(table)
        return 0


COMMANDS.update({"rules": cmd_rules, "alerts": cmd_alerts})


def register(sub: argparse._SubParsersAction, common, jsonflag) -> None:
    p = sub.add_parser("rules", parents=[common], help="alert rules (config/rules.yaml): list, validate, test, preview")
    rsub = p.add_subparsers(dest="rules_action", required=True, metavar="ACTION")
    rsub.add_parser("list", parents=[common, jsonflag], help="the configured rules (notification URLs redacted)")
    rsub.add_parser("validate", parents=[common, jsonflag], help="check rules.yaml; every problem with its key")
    a = rsub.add_parser("test", parents=[common, jsonflag], help="stored stories a rule matches, and alerted or not")
    a.add_argument("rule", help="rule name")
    a.add_argument("--days", type=int, default=7, help="articles indexed in the last N days (default 7)")
    a.add_argument("--limit", type=int, default=20)
    a.add_argument("--send", action="store_true", help="also send a test message to each channel of the rule")
    a = rsub.add_parser("preview", parents=[common, jsonflag], help="matches per day of a query over the last N days")
    a.add_argument("query")
    a.add_argument("--days", type=int, default=14, help="days back, today included (default 14)")
    a.add_argument("--source", action="append", help="only this source (repeatable)")
    a.add_argument("--lang", action="append", help="only this language code (repeatable)")

    p = sub.add_parser("alerts", parents=[common], help="the alert ledger: what was sent, what is pending")
    asub = p.add_subparsers(dest="alerts_action", required=True, metavar="ACTION")
    a = asub.add_parser("list", parents=[common, jsonflag], help="latest alerts, newest first")
    a.add_argument("--rule", help="only this rule")
    a.add_argument("--limit", type=int, default=50)
    a.add_argument("--undelivered", action="store_true", help="only alerts not yet delivered to every channel")
    a = asub.add_parser("deliver", parents=[common, jsonflag],
                        help="send undelivered alerts now (digests and rate limits included), then exit")
    a.add_argument("--rule", help="only this rule")
