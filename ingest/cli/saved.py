"""`ingest searches ...` and `ingest dashboards ...`: saved searches and dashboards (config/searches.yaml)."""

from __future__ import annotations

import argparse

from ingest.errors import unknown_name


def cmd_searches(args) -> int:
    from ingest.cli.main import emit_json, open_app, out
    from ingest.saved import SavedSearch

    with open_app(args) as app:
        action = args.searches_action
        path = app.settings.searches_file
        if action == "list":
            found = app.saved_searches()
            if args.json:
                for s in found:
                    emit_json(s.to_dict())
                return 0
            for s in found:
                window = f" · last {s.days} days" if s.days else ""
                out.print(f"{s.name:<20} {s.query}{window}" + (f"  [dim]{s.description}[/dim]" if s.description
                                                                 else ""), markup=True, highlight=False)
            out.print(f"[dim]{len(found)} saved searches in {path}[/dim]")
            return 0
        if action == "save":
            digest = {"every": args.digest, "notify": args.notify or []} if args.digest else None
            search = SavedSearch(name=args.name, query=args.query, description=args.description,
                                 sources=args.source or [], languages=args.lang or [], tags=args.tag or [],
                                 days=args.days, sort=args.sort, collapse=args.collapse, digest=digest)
            app.save_search(search)
            out.print(f"saved {args.name!r} in {path}; its feeds: /searches/{args.name}.atom and .json "
                      f"(ingest serve)", markup=False)
            return 0
        if action == "remove":
            if not app.remove_saved(args.name):
                app.saved_search(args.name)  # raises, listing the names
            out.print(f"removed {args.name!r} from {path}", markup=False)
            return 0
        if action == "rule":
            app.saved_to_rule(args.name, notify=args.notify)
            out.print(f"added rule {args.name!r} to {app.settings.rules_file}; check it with "
                      f"`ingest rules preview '{app.saved_search(args.name).query}'`", markup=False)
            return 0
        result = app.run_saved(args.name, limit=args.limit)  # run
        if args.json:
            for hit in result.hits:
                emit_json(hit.to_dict())
            return 0
        out.print(f"{result.total} matching articles", markup=False)
        for hit in result.hits:
            when = hit.published.strftime("%Y-%m-%d %H:%M") if hit.published else "-"
            out.print(f"\n[bold]{hit.title}[/bold]  [dim]{hit.id}[/dim]")
            out.print(f"  {hit.source} · {when} · {hit.url}", markup=False)
            out.print(f"  {hit.snippet}", markup=False)
        return 0


def cmd_dashboards(args) -> int:
    from ingest.cli.main import emit_json, open_app, out
    from ingest.saved import SavedDashboard

    with open_app(args) as app:
        path = app.settings.searches_file
        if args.dashboards_action == "list":
            found = app.saved_dashboards()
            for d in found:
                if args.json:
                    emit_json({"name": d.name, "queries": d.queries, "days": d.days, "interval": d.interval})
                else:
                    out.print(f"{d.name:<20} {' | '.join(d.queries) or 'all articles'}", markup=False)
            if not args.json:
                out.print(f"[dim]{len(found)} saved dashboards in {path}[/dim]")
            return 0
        if args.dashboards_action == "save":
            app.save_dashboard(SavedDashboard(name=args.name, queries=args.query or [], days=args.days,
                                              interval=args.interval, description=args.description))
            out.print(f"saved dashboard {args.name!r} in {path}; open /dashboards/{args.name} (ingest serve)",
                      markup=False)
            return 0
        if not app.remove_saved(args.name, dashboard=True):
            raise unknown_name("saved dashboard", args.name, [d.name for d in app.saved_dashboards()], str(path))
        out.print(f"removed dashboard {args.name!r} from {path}", markup=False)
        return 0


COMMANDS = {"searches": cmd_searches, "dashboards": cmd_dashboards}


def register(sub: argparse._SubParsersAction, common, jsonflag) -> None:
    p = sub.add_parser("searches", parents=[common], help="saved searches (config/searches.yaml): feeds, alerts")
    ssub = p.add_subparsers(dest="searches_action", required=True, metavar="ACTION")
    ssub.add_parser("list", parents=[common, jsonflag], help="the saved searches")
    a = ssub.add_parser("run", parents=[common, jsonflag], help="a saved search's current hits")
    a.add_argument("name")
    a.add_argument("--limit", type=int, default=10)
    a = ssub.add_parser("save", parents=[common], help="save a query with its filters under a name")
    a.add_argument("name")
    a.add_argument("query")
    a.add_argument("--description")
    a.add_argument("--source", action="append", help="only this source (repeatable)")
    a.add_argument("--lang", action="append", help="only this language code (repeatable)")
    a.add_argument("--tag", action="append", help="only this tag (repeatable)")
    a.add_argument("--days", type=int, help="only the last N days (relative: the feed stays current)")
    a.add_argument("--sort", choices=("date", "relevance"), default="date")
    a.add_argument("--collapse", action="store_true", help="one hit per story")
    a.add_argument("--digest", metavar="EVERY", help="send new matches as a digest every 1d, 1w, ... (to --notify)")
    a.add_argument("--notify", action="append", metavar="URL", help="apprise URL for the digest (repeatable)")
    a = ssub.add_parser("remove", parents=[common], help="delete a saved search")
    a.add_argument("name")
    a = ssub.add_parser("rule", parents=[common], help="add an alert rule with the saved search's query and filters")
    a.add_argument("name")
    a.add_argument("--notify", action="append", metavar="URL", help="apprise URL for the rule (repeatable)")

    p = sub.add_parser("dashboards", parents=[common], help="saved dashboards (their queries and range)")
    dsub = p.add_subparsers(dest="dashboards_action", required=True, metavar="ACTION")
    dsub.add_parser("list", parents=[common, jsonflag], help="the saved dashboards")
    a = dsub.add_parser("save", parents=[common], help="save a dashboard's queries and range under a name")
    a.add_argument("name")
    a.add_argument("--query", action="append", help="a query drawn as one line (repeatable, up to 6)")
    a.add_argument("--days", type=int, help="the last N days")
    a.add_argument("--interval", choices=("auto", "hour", "day", "week", "month"), default="auto")
    a.add_argument("--description")
    a = dsub.add_parser("remove", parents=[common], help="delete a saved dashboard")
    a.add_argument("name")
