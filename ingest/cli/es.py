"""`ingest es setup|rollover|flush|status`: cluster housekeeping, for Elasticsearch and OpenSearch
(the cluster of `store.backend`; Elasticsearch when the backend is SQLite)."""

from __future__ import annotations

import argparse
import base64
import json
import os
import urllib.request
from pathlib import Path

from ingest.errors import IngestError

COMMANDS: dict = {}


def _store(args):
    from ingest.cli.main import open_app

    app = open_app(args)
    if app.settings.store.backend not in ("elasticsearch", "opensearch"):
        app.settings.store.backend = "elasticsearch"
    return app


def cmd_es(args) -> int:
    from ingest.cli.main import emit_json, out

    with _store(args) as app:
        if args.es_action == "setup":
            result = app.cluster_setup()
            if args.json:
                emit_json(result)
            else:
                out.print(f"ready: write alias {result['alias']}; created {', '.join(result['created']) or 'nothing new'}; "
                          + ("rollover policy attached" if result["ilm"] else
                             "no ILM/ISM on this cluster: run `ingest es rollover` periodically (the daemon does)")
                          + ("; alert rules by percolation" if result.get("percolator") else
                             "; alert rules by _msearch (no percolator module)"))
        elif args.es_action == "rollover":
            result = app.cluster_rollover(args.max_docs, args.max_age, args.force)
            emit_json(result) if args.json else out.print(
                f"rolled over to {result['new_index']}" if result["rolled_over"] else
                f"no rollover needed (write index {result['old_index']})")
        elif args.es_action == "flush":
            n = app.flush_outbox()
            emit_json({"flushed": n, "outbox": app.outbox_size()}) if args.json else out.print(
                f"flushed {n} articles; {app.outbox_size()} left in the outbox")
        elif args.es_action == "kibana-import":
            n = kibana_import(args.kibana_url, Path(args.folder))
            out.print(f"imported {n} saved objects into Kibana at {args.kibana_url}")
        elif args.es_action == "status":
            info = app.cluster_status()
            if args.json:
                emit_json(info)
            else:
                for k, v in info.items():
                    out.print(f"{k:>10}: {v}")
        else:
            raise IngestError(f"unknown action {args.es_action}")
    return 0


def kibana_import(kibana_url: str, folder: Path) -> int:
    """Import every *.ndjson of the folder through Kibana's saved objects API (overwrite)."""
    files = sorted(folder.glob("*.ndjson"))
    if not files:
        raise IngestError(f"{folder}: no .ndjson saved objects found")
    user, password = "elastic", os.environ.get("INGEST_ES_PASSWORD", "")
    total = 0
    for file in files:
        boundary = "ingest-boundary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file.name}\"\r\n"
                f"Content-Type: application/ndjson\r\n\r\n").encode() + file.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        req = urllib.request.Request(f"{kibana_url.rstrip('/')}/api/saved_objects/_import?overwrite=true", data=body,
                                     method="POST", headers={"kbn-xsrf": "true",
                                                             "Content-Type": f"multipart/form-data; boundary={boundary}"})
        if password:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - the operator's own Kibana
            total += json.loads(resp.read()).get("successCount", 0)
    return total


COMMANDS["es"] = cmd_es


def register(sub: argparse._SubParsersAction, common, jsonflag) -> None:
    p = sub.add_parser("es", parents=[common], help="Elasticsearch or OpenSearch (the backend's cluster): setup, rollover, outbox flush, status")
    esub = p.add_subparsers(dest="es_action", required=True, metavar="ACTION")
    esub.add_parser("setup", parents=[common, jsonflag], help="create templates, write alias and side indices")
    r = esub.add_parser("rollover", parents=[common, jsonflag], help="roll the write index over when due")
    r.add_argument("--max-docs", type=int)
    r.add_argument("--max-age")
    r.add_argument("--force", action="store_true", help="roll over now, whatever the conditions")
    esub.add_parser("flush", parents=[common, jsonflag], help="send articles waiting in the outbox")
    esub.add_parser("status", parents=[common, jsonflag], help="cluster health, article count, outbox size")
    k = esub.add_parser("kibana-import", parents=[common], help="import the shipped Kibana data view and dashboard")
    k.add_argument("kibana_url", help="e.g. http://127.0.0.1:5601")
    k.add_argument("folder", nargs="?", default="kibana", help="folder of .ndjson saved objects (default: kibana/)")
