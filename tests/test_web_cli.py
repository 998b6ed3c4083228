"""`ingest serve`: the command is registered, binds to loopback by default and serves the app."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from ingest.cli.main import build_parser

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_is_registered():
    args = build_parser().parse_args(["serve", "--port", "9999"])
    assert args.command == "serve" and args.port == 9999 and args.host is None


def test_serve_runs_on_loopback(tmp_path):
    port = free_port()
    (tmp_path / "config").mkdir()
    cmd = [sys.executable, "-m", "ingest", "serve", "--port", str(port), "--config", str(tmp_path / "config"),
           "--db", str(tmp_path / "web.db")]
    env = {k: v for k, v in os.environ.items() if k != "INGEST_WEB_TOKEN" and not k.startswith("INGEST_WEB__")}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        body = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:  # noqa: S310
                    body = json.loads(resp.read())
                    break
            except OSError:
                time.sleep(0.2)
        assert body == {"status": "ok", "backend": "sqlite", "articles": 0}, proc.stderr.read() if proc.poll() else ""
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/search", timeout=5) as resp:  # noqa: S310
            assert resp.status == 200 and b"ingest" in resp.read()
        # bound to loopback: a foreign Host header (DNS rebinding) is refused
        req = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": "evil.example"})
        try:
            urllib.request.urlopen(req, timeout=5)  # noqa: S310
            raise AssertionError("foreign Host header accepted")
        except urllib.error.HTTPError as exc:
            assert exc.code == 400
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert f"http://127.0.0.1:{port}/" in err and "read-only" in err
