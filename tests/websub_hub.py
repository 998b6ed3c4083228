"""A small WebSub hub on 127.0.0.1 for tests and the bench: it takes subscribe requests, verifies the
subscriber's callback (hub.challenge echoed?) and POSTs signed content to it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode


class Hub:
    def __init__(self, lease: int = 3600):
        self.lease = lease
        self.requests: list[dict[str, str]] = []          # subscribe forms received, in order
        self.verified: list[tuple[str, int, str]] = []    # (topic, status of the callback, echoed body)
        self.subscriptions: dict[str, dict[str, str]] = {}  # topic -> its latest verified form
        self.ended: dict[str, dict[str, str]] = {}          # topic -> its form, after a verified unsubscribe
        self.changed = threading.Condition()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                with hub.changed:
                    hub.requests.append(form)
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                threading.Thread(target=hub._verify, args=(form,), daemon=True).start()  # asynchronous, as hubs do

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hub"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _verify(self, form: dict[str, str]) -> None:
        challenge = secrets.token_hex(8)
        query = urlencode({"hub.mode": form["hub.mode"], "hub.topic": form["hub.topic"], "hub.challenge": challenge,
                           "hub.lease_seconds": str(self.lease)})
        status, echoed = get(f"{form['hub.callback']}?{query}")
        with self.changed:
            self.verified.append((form["hub.topic"], status, echoed))
            if status == 200 and echoed == challenge and form["hub.mode"] == "subscribe":
                self.subscriptions[form["hub.topic"]] = form
            elif status == 200 and echoed == challenge:
                self.ended[form["hub.topic"]] = self.subscriptions.pop(form["hub.topic"])
            self.changed.notify_all()

    def wait_verified(self, count: int = 1, timeout: float = 10.0) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.verified) >= count, timeout):
                raise AssertionError(f"the hub verified {len(self.verified)} times, expected {count}")

    def push(self, topic: str, body: bytes, secret: str | None = None, method: str = "sha256",
             signature: str | None = None) -> int:
        """Deliver `body` to the topic's subscriber, signed with its secret (or `secret`, or `signature` as given)."""
        form = self.subscriptions.get(topic) or self.ended[topic]  # an ended one: a replay the subscriber refuses
        key = form["hub.secret"] if secret is None else secret
        headers = {"Content-Type": "application/atom+xml"}
        sig = signature if signature is not None else \
            f"{method}={hmac.new(key.encode(), body, getattr(hashlib, method)).hexdigest()}"
        if sig:
            headers["X-Hub-Signature"] = sig
        request = urllib.request.Request(form["hub.callback"], data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback callback
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback callback
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def atom(feed_url: str, hub_url: str, entries: list[tuple[str, str, str]]) -> bytes:
    """An Atom feed declaring its hub and self URL; entries are (id, title, link)."""
    items = "".join(f"<entry><id>{i}</id><title>{t}</title><link href='{link}'/>"
                    f"<updated>2026-12-06T10:00:00Z</updated><summary>{t}</summary></entry>"
                    for i, t, link in entries)
    return (f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            f"<title>Push news</title><id>{feed_url}</id><updated>2026-12-06T10:00:00Z</updated>"
            f"<link rel='hub' href='{hub_url}'/><link rel='self' href='{feed_url}'/>{items}</feed>").encode()
