"""`ingest backfill SOURCE --since DATE`: a source's history from its sitemaps (see `ingest.backfill`)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from ingest.errors import IngestError


def parse_date(value: str, flag: str) -> datetime:
    """YYYY-MM-DD or an ISO date-time; without a zone it is UTC."""
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise IngestError(f"{flag} {value!r}: not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def cmd_backfill(args) -> int:
    from ingest.cli.main import emit_json, open_app, out, progress_bar, stop_on_signals, store_label

    since = parse_date(args.since, "--since")
    until = parse_date(args.until, "--until") if args.until else None
    if until is not None and until <= since:
        raise IngestError(f"--until {args.until} is not after --since {args.since}")
    if args.limit is not None and args.limit < 1:
        raise IngestError(f"--limit {args.limit}: must be at least 1")
    with open_app(args) as app:
        stop_on_signals(app)
        with progress_bar(f"backfill {args.source}", None, args.json) as advance:
            report = app.backfill(args.source, since, until, args.limit, alerts=args.alerts, progress=advance)
        if args.json:
            emit_json(report.to_dict())
            return 0
        out.print(f"{report.source}: {report.sitemaps} sitemaps, {report.discovered} URLs listed, "
                  f"{report.in_range} in range ({report.undated} undated, {report.other_site} of other sites "
                  f"left out), {report.already_stored} already stored", markup=False)
        out.print(f"stored {report.stored} articles in {store_label(app)}"
                  + (f", {report.duplicates} duplicates" if report.duplicates else "")
                  + (f", {report.dead} dead pages" if report.dead else "")
                  + (f"; {report.retrying} wait for a retry (run the same command again)" if report.retrying else ""),
                  markup=False)
        for url, reason in report.sitemap_errors.items():
            out.print(f"  sitemap {url}: {reason}", markup=False)
        for e in report.page_errors[:10]:
            out.print(f"  page error: {e}", markup=False)
        return 0


COMMANDS = {"backfill": cmd_backfill}


def register(sub: argparse._SubParsersAction, common, jsonflag) -> None:
    p = sub.add_parser("backfill", parents=[common, jsonflag],
                       help="ingest a feed's or site's history from its sitemaps (resumable: run it again)")
    p.add_argument("source", metavar="SOURCE", help="a configured feed (name or URL) or a site URL")
    p.add_argument("--since", required=True, metavar="DATE", help="oldest publication date (YYYY-MM-DD)")
    p.add_argument("--until", metavar="DATE", help="up to (not including) this date")
    p.add_argument("--limit", type=int, metavar="N", help="at most the N newest URLs in range")
    p.add_argument("--alerts", action="store_true", help="run instant alert rules on the backfilled articles")
