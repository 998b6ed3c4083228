"""`ingest rules list|validate|test|preview` and `ingest alerts list|deliver`: alert rules and the ledger."""

from __future__ import annotations

import argparse

from ingest.cli.format import fmt_time
from ingest.errors import IngestError

COMMANDS: dict = {}


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

    rules = app.rules()
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
        rules = app.rules()
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
    from ingest.cli.main import emit_json, out

    rule = app.rule(args.rule)
    if rule.mode == "volume":
        return _volume_test(app, rule, args)
    total, rows = app.test_rule(rule, args.days, args.limit)
    sent = _send_test(rule) if args.send else None
    if args.json:
        emit_json({"rule": rule.name, "query": rule.query, "days": args.days, "stories": total,
                   "matches": rows, "sent": sent})
        return 0 if not sent or all(s["ok"] for s in sent) else 1
    out.print(f"rule {rule.name}: {total} matching stories indexed in the last {args.days} days", markup=False)
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
    from ingest.cli.main import emit_json, out

    reading = app.volume_reading(rule)
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
    """Matches per published day over the last N days (today included): how noisy a query would be as a rule."""
    from ingest.app import Filters
    from ingest.cli.main import emit_json, out
    from ingest.errors import QueryError

    try:
        preview = app.preview_rule(args.query, args.days, Filters(sources=args.source or [],
                                                                  languages=args.lang or []))
    except QueryError as exc:  # one line in the terminal; the position is in the message
        raise IngestError(str(exc).split("\n")[0]) from None
    days = [(d.date(), n) for d, n in zip(preview.days, preview.counts, strict=True)]
    if args.json:
        emit_json({"query": args.query, "days": len(days), "total": preview.total,
                   "per_day": [{"day": d.isoformat(), "matches": n} for d, n in days]})
        return 0
    peak = max(preview.counts + [1])
    out.print(f"{args.query}: {preview.total} matching articles published in the last {len(days)} days "
              f"(~{preview.total / len(days):.1f} per day)", markup=False)
    for d, n in days:
        out.print(f"  {d.isoformat()}  {n:>6}  {'#' * round(40 * n / peak)}", markup=False)
    return 0


# -- alerts ---------------------------------------------------------------------------------------


def cmd_alerts(args) -> int:
    from ingest.cli.main import open_app

    with open_app(args) as app:
        if args.alerts_action == "deliver":
            return _alerts_deliver(app, args)
        return _alerts_list(app, args)


def _alerts_deliver(app, args) -> int:
    from ingest.cli.main import emit_json, out

    sent, left = app.deliver_alerts(args.rule)
    if args.json:
        emit_json({"sent": sent, "undelivered": left})
    else:
        out.print(f"sent {sent} messages; {left} alerts still undelivered", markup=False)
    return 0 if left == 0 else 1


def _alerts_list(app, args) -> int:
    from rich.table import Table

    from ingest.cli.main import emit_json, out

    records = app.list_alerts(rule=args.rule, limit=args.limit, undelivered=args.undelivered)
    if args.rule and not records:
        app.rule(args.rule)  # a misspelt name is an error listing the rules, not an empty list
    if args.json:
        for r in records:
            emit_json({"rule": r.rule, "story": r.story, "title": r.title, "url": r.url, "sources": r.sources,
                       "article_ids": r.article_ids, "created": r.created.isoformat() if r.created else None,
                       "delivered": r.delivered.isoformat() if r.delivered else None, "attempts": r.attempts,
                       "last_error": r.last_error, "channels_done": len(r.channels_done)})
        return 0
    table = Table(title=f"{len(records)} alerts" + (f" of rule {args.rule}" if args.rule else ""))
    for col in ("created", "rule", "story", "outlets", "delivered", "error"):
        table.add_column(col, overflow="fold")
    for r in records:
        delivered = fmt_time(r.delivered) if r.delivered else f"pending ({r.attempts} attempts)"
        table.add_row(fmt_time(r.created), r.rule, f"{r.title}\n{r.url}", ", ".join(r.sources), delivered,
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
