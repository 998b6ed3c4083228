"""`ingest serve`: the web app (search, dashboards, feed health, alerts, JSON API) with uvicorn.

Binds to web.host (default 127.0.0.1) unless --host says otherwise. Write actions (add feed, save rule)
need the token from the environment variable named by web.write_token_env (default INGEST_WEB_TOKEN);
without it the app is read-only.
"""

from __future__ import annotations

import argparse
import sys

from ingest.errors import IngestError


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        raise IngestError("the web app needs uvicorn and fastapi (pip install -e .)") from None
    from ingest.cli.main import open_app
    from ingest.web import create_app
    from ingest.web.security import is_loopback, token_from_env

    app = open_app(args)
    settings = app.settings.web
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    token = token_from_env(settings.write_token_env)
    if port == 0:
        port = _free_port(host)
    # on loopback, only loopback Host headers: a page elsewhere cannot reach the app through DNS rebinding
    allowed = ["127.0.0.1", "localhost", "::1", "[::1]"] if is_loopback(host) else None
    if not is_loopback(host):
        print(f"warning: serving on {host}, reachable from other machines; put a TLS reverse proxy in front"
              + ("" if token else " (read-only: no write token set)"), file=sys.stderr)
    web = create_app(app, write_token=token, allowed_hosts=allowed)
    print(f"ingest web app on http://{'[' + host + ']' if ':' in host else host}:{port}/ "
          f"(backend {app.settings.store.backend}, {'writes need the token' if token else 'read-only'})",
          file=sys.stderr)
    try:
        uvicorn.run(web, host=host, port=port, log_level="debug" if args.debug else "warning",
                    access_log=bool(args.access_log), server_header=False, proxy_headers=False)
    except OSError as exc:
        raise IngestError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    finally:
        app.close()
    return 0


def _free_port(host: str) -> int:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


COMMANDS = {"serve": cmd_serve}


def register(sub, common, jsonflag) -> None:
    p = sub.add_parser("serve", parents=[common],
                       help="web app: search, dashboards, feed health, alerts and the JSON API")
    p.add_argument("--host", help="address to bind (default: web.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: web.port, 8080; 0 picks a free one)")
    p.add_argument("--access-log", action="store_true", help="log every request")
