"""`ingest entities list|apply`: the watchlist of config/entities.yaml, and re-tagging stored articles."""

from __future__ import annotations

import argparse


def cmd_entities(args) -> int:
    from ingest.cli.main import emit_json, open_app, out, progress_bar, store_label

    with open_app(args) as app:
        if args.entities_action == "list":
            watch = app.watchlist()
            for e in watch.entities:
                if args.json:
                    emit_json({"name": e.name, "type": e.type, "aliases": e.aliases, "forms": e.forms,
                               "exclude": e.exclude})
                else:
                    out.print(f"{e.name:<28} {e.type:<12} {', '.join(e.aliases)}", markup=False)
            if not args.json:
                out.print(f"{len(watch.entities)} entities in {app.settings.entities_file}", markup=False)
            return 0
        total = app.count_articles()
        with progress_bar("re-tagging", total, args.json) as advance:
            n = app.retag(progress=advance)
        if args.json:
            emit_json({"articles": total, "changed": n})
        else:
            out.print(f"re-tagged {total} articles in {store_label(app)}: {n} changed places or entities",
                      markup=False)
        return 0


COMMANDS = {"entities": cmd_entities}


def register(sub: argparse._SubParsersAction, common, jsonflag) -> None:
    p = sub.add_parser("entities", parents=[common], help="watchlists (config/entities.yaml) and places")
    esub = p.add_subparsers(dest="entities_action", required=True, metavar="ACTION")
    esub.add_parser("list", parents=[common, jsonflag], help="the watchlist entries with their aliases")
    esub.add_parser("apply", parents=[common, jsonflag],
                    help="find places and watchlist entities in every stored article again (after editing the list)")
