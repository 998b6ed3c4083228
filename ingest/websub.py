"""WebSub push (W3C WebSub): feeds that declare a hub deliver new entries within seconds.

Off unless `websub.callback_url` is set (the public URL the hubs reach this daemon at). Then
`ingest run` (the daemon) also runs a small callback listener on `websub.listen`, and:

1. Subscribe: when a poll parses a feed declaring `<link rel="hub">` (Atom, or atom:link in RSS),
   the feed gets a subscription row in the local state (`ingest.store.websub`) with a random id
   (its callback is `callback_url/<id>`) and a random secret, saved *before* the hub is asked, then
   `hub.mode=subscribe`, `hub.topic` (the feed's rel=self URL, else its URL), `hub.callback`,
   `hub.secret` and `hub.lease_seconds` are POSTed to the hub through the guarded fetcher (the SSRF
   guard judges the hub's address like any fetch; loopback only with `fetch.allow_networks`).
2. Verify: the hub's GET to the callback is answered with `hub.challenge` only for a subscription
   with an outstanding request (pending, or active and renewing) and the same topic; anything
   else is 404. `hub.mode=denied` marks the subscription denied (polling only).
3. Renew: a job every minute re-subscribes active leases ending within `renew_before` (at most
   half the lease), and retries failed or never verified requests after `RETRY_AFTER`. A feed
   no longer in feeds.yaml (or disabled) is unsubscribed (`hub.mode=unsubscribe`, confirmed on the
   hub's verification, then its row is removed; pushes for it are refused meanwhile with 410).
4. Push: a POST to the callback must carry `X-Hub-Signature: sha1=|sha256=|sha384=|sha512=<hex
   HMAC of the body with the subscription's secret>` (compared in constant time); missing or
   wrong, it is refused with 403, logged (feed and reason, never the secret or the signature) and
   counted; nothing is stored. The body is capped at `websub.max_body_bytes` (413; a body without a
   Content-Length is refused with 411). A signed push with an empty body (a "thin" notification)
   polls the feed at once. A valid push is parsed as a feed document and its new
   entries are queued in the local state exactly like a poll's (`Poller.accept_push`: one
   transaction), the hub is answered 202, and the queue of that feed is processed at once
   (fetch pages -> extract -> store -> alerts) on a worker thread. A crash after the 202 loses
   nothing: the queued entries are stored by the next run.
5. Polling goes on as a fallback: a feed with an active subscription is polled every
   `websub.poll_interval` seconds at most often (its adaptive interval when that is longer).

`ingest status` shows each feed's subscription (state, lease end, pushes, refused pushes).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ingest.config import Settings
from ingest.errors import FeedParseError, FetchError, IngestError
from ingest.models import FeedConfig
from ingest.pipeline import Pipeline
from ingest.redact import register_secret
from ingest.sources.poller import PollOutcome
from ingest.store.websub import Subscription, SubscriptionStore, SubState

log = logging.getLogger("ingest.websub")
SIGNATURES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
RETRY_AFTER = 3600.0     # seconds before a failed or never verified subscribe request is sent again
MAX_CHALLENGE = 1000     # characters of hub.challenge echoed


def signature_ok(header: str | None, body: bytes, secret: str) -> bool:
    """`X-Hub-Signature: method=hexdigest` is the HMAC of the body under the secret (constant-time compare)."""
    if not header or "=" not in header:
        return False
    method, _, digest = header.partition("=")
    algorithm = SIGNATURES.get(method.strip().lower())
    if algorithm is None:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, algorithm).hexdigest()
    return hmac.compare_digest(expected.encode(), digest.strip().lower().encode("ascii", "replace"))


class WebSub:
    """Subscriptions, the hub's requests and the callback listener of one daemon."""

    def __init__(self, settings: Settings, pipeline: Pipeline, feeds: Callable[[], list[FeedConfig]],
                 subscriptions: SubscriptionStore | None = None):
        if not settings.websub.callback_url:
            raise ValueError("websub.callback_url is not set")
        self.settings, self.cfg = settings, settings.websub
        self.pipeline, self.feeds = pipeline, feeds
        self.subs = subscriptions or SubscriptionStore(Path(settings.store.sqlite_path))
        self.callback_base = self.cfg.callback_url or ""
        pipeline.poller.push_floor = self.poll_floor
        self._work = ThreadPoolExecutor(max_workers=2, thread_name_prefix="websub-push")
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> int:
        """Start the callback listener; returns the port it listens on."""
        host, _, port = self.cfg.listen.rpartition(":")
        try:
            self._server = _Listener((host.strip("[]"), int(port)), _handler(self))
        except OSError as exc:
            raise IngestError(f"websub.listen: cannot listen on {self.cfg.listen}: {exc.strerror or exc}") from None
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="websub-listener", daemon=True)
        self._thread.start()
        bound = self._server.server_address[1]
        log.warning("websub: callbacks at %s/<id>, listening on %s:%s", self.callback_base, host, bound)
        return bound

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._work.shutdown(wait=True)
        self.subs.close()

    # -- subscribing ---------------------------------------------------------------------------

    def on_polls(self, outcomes: list[PollOutcome]) -> None:
        """After polls: subscribe feeds that declare a hub (new, or hub/topic changed)."""
        for outcome in outcomes:
            if outcome.hub:
                self.ensure(outcome.feed, outcome.hub, outcome.topic or outcome.feed.url)

    def ensure(self, feed: FeedConfig, hub: str, topic: str) -> Subscription:
        sub = self.subs.get(feed.url)
        if sub is not None and sub.hub == hub and sub.topic == topic and sub.state in (SubState.ACTIVE,
                                                                                        SubState.PENDING,
                                                                                        SubState.DENIED):
            return sub
        secret = secrets.token_hex(32)
        register_secret(secret)
        sub = Subscription(feed_url=feed.url, id=secrets.token_urlsafe(18), hub=hub, topic=topic, secret=secret)
        self.subscribe(sub)
        return sub

    def callback(self, sub: Subscription) -> str:
        return f"{self.callback_base}/{sub.id}"

    def subscribe(self, sub: Subscription, mode: str = "subscribe") -> None:
        """Ask the hub (the row is saved first: its verification may arrive before its answer)."""
        sub.requested = time.time()
        if mode == "unsubscribe":
            sub.state = SubState.UNSUBSCRIBING
        elif sub.state is not SubState.ACTIVE:
            sub.state = SubState.PENDING
        self.subs.save(sub)
        form = {"hub.mode": mode, "hub.topic": sub.topic, "hub.callback": self.callback(sub)}
        if mode == "subscribe":
            form.update({"hub.secret": sub.secret, "hub.lease_seconds": str(self.cfg.lease_seconds)})
        try:
            status, _body = self.pipeline.fetcher.post(sub.hub, form)
            error = None if 200 <= status < 300 else f"hub answered HTTP {status}"
        except FetchError as exc:
            error = str(exc)
        if error is None:
            log.info("websub: subscription of %s requested at %s", sub.feed_url, sub.hub)
            return
        current = self.subs.get(sub.feed_url) or sub
        current.last_error = error[:300]
        if current.state is SubState.PENDING:
            current.state = SubState.FAILED
        self.subs.save(current)
        log.warning("websub: subscribing %s at %s failed: %s", sub.feed_url, sub.hub, error)

    def renew(self) -> int:
        """Scheduler job: renew leases about to end, retry failed requests. Returns requests sent."""
        now = time.time()
        configured = {f.url for f in self.feeds() if f.enabled}
        sent = 0
        for sub in self.subs.all():
            retry = sub.requested is None or now - sub.requested > RETRY_AFTER
            if sub.feed_url not in configured:
                if sub.state is SubState.DENIED or (sub.expires or 0) < now:
                    self.subs.remove(sub.feed_url)  # nothing left at the hub to cancel
                elif sub.state is not SubState.UNSUBSCRIBING or retry:
                    self.subscribe(sub, mode="unsubscribe")
                    sent += 1
                continue
            if sub.state is SubState.UNSUBSCRIBING:  # back in feeds.yaml before the hub confirmed
                sub.state = SubState.ACTIVE
                self.subscribe(sub)
                sent += 1
            elif sub.state is SubState.ACTIVE and sub.expires is not None:
                lease = max(1.0, (sub.lease_seconds or self.cfg.lease_seconds))
                margin = min(self.cfg.renew_before, lease / 2)
                if sub.expires - now <= margin and retry:
                    self.subscribe(sub)
                    sent += 1
            elif sub.state in (SubState.FAILED, SubState.PENDING) and retry:
                self.subscribe(sub)
                sent += 1
        return sent

    def poll_floor(self, feed_url: str) -> float | None:
        """The fallback polling interval of a feed with an active subscription (None: poll as usual)."""
        sub = self.subs.get(feed_url)
        if sub is not None and sub.state is SubState.ACTIVE and (sub.expires or 0) > time.time():
            return self.cfg.poll_interval
        return None

    # -- the hub's requests --------------------------------------------------------------------

    def verify(self, sub_id: str, params: dict[str, str]) -> tuple[int, bytes]:
        """The hub's verification (or denial) GET: (status, body)."""
        sub = self.subs.by_id(sub_id)
        mode, topic = params.get("hub.mode", ""), params.get("hub.topic", "")
        if sub is None or topic != sub.topic:
            return 404, b"unknown subscription"
        if mode == "denied":
            sub.state, sub.requested = SubState.DENIED, None
            sub.last_error = ("hub denied the subscription: " + params.get("hub.reason", ""))[:300]
            self.subs.save(sub)
            log.warning("websub: %s denied the subscription of %s", sub.hub, sub.feed_url)
            return 200, b""
        challenge = params.get("hub.challenge", "")
        if not challenge or len(challenge) > MAX_CHALLENGE or sub.requested is None:
            return 404, b"no such pending subscription"
        if mode == "unsubscribe" and sub.state is SubState.UNSUBSCRIBING:
            self.subs.remove(sub.feed_url)
            log.info("websub: %s confirmed the end of %s", sub.hub, sub.feed_url)
            return 200, challenge.encode("utf-8")
        if mode != "subscribe" or sub.state is SubState.UNSUBSCRIBING:
            return 404, b"no such pending subscription"
        lease = params.get("hub.lease_seconds", "")
        sub.lease_seconds = int(lease) if lease.isdigit() and int(lease) > 0 else self.cfg.lease_seconds
        sub.state, sub.requested, sub.verified = SubState.ACTIVE, None, time.time()
        sub.expires, sub.last_error = sub.verified + sub.lease_seconds, None
        self.subs.save(sub)
        log.info("websub: %s verified for %s (lease %ss)", sub.hub, sub.feed_url, sub.lease_seconds)
        return 200, challenge.encode("utf-8")

    def push(self, sub_id: str, body: bytes, signature: str | None, content_type: str | None) -> tuple[int, bytes]:
        """A content distribution POST: (status, body). Refused unless signed with the subscription's secret."""
        sub = self.subs.by_id(sub_id)
        if sub is None or sub.state not in (SubState.ACTIVE, SubState.UNSUBSCRIBING):
            return 404, b"unknown subscription"
        if not signature_ok(signature, body, sub.secret):
            self.subs.count_push(sub, accepted=False)
            reason = "no X-Hub-Signature" if not signature else "X-Hub-Signature does not match"
            log.warning("websub: push for %s refused: %s", sub.feed_url, reason)
            return 403, b"invalid signature"
        feed = next((f for f in self.feeds() if f.url == sub.feed_url and f.enabled), None)
        if feed is None or sub.state is SubState.UNSUBSCRIBING:
            return 410, b"feed no longer polled"
        if not body.strip():  # a "thin" notification without the content: poll the feed now instead
            self.subs.count_push(sub, accepted=True)
            self._work.submit(self._poll, feed)
            return 202, b""
        try:
            outcome = self.pipeline.poller.accept_push(feed, body, content_type)
        except FeedParseError as exc:
            log.warning("websub: push for %s is not a feed: %s", sub.feed_url, exc)
            return 400, b"not a feed document"
        self.subs.count_push(sub, accepted=True)
        if outcome.new_entries:
            self._work.submit(self._process, feed.url)
        return 202, b""

    def _poll(self, feed: FeedConfig) -> None:
        try:
            report = self.pipeline.poll_and_process(feed)
            log.info("websub: notification for %s: polled, %d stored", feed.url, report.stored)
        except Exception:  # noqa: BLE001 - the next scheduled poll tries again
            log.exception("websub: polling %s after a notification failed", feed.url)

    def _process(self, feed_url: str) -> None:
        try:
            report = self.pipeline.process_queue([feed_url])
            log.info("websub: push for %s: %d stored", feed_url, report.stored)
        except Exception:  # noqa: BLE001 - the entries stay queued: the next poll or queue job stores them
            log.exception("websub: processing a push for %s failed", feed_url)


class _Listener(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # a hub hanging up is not our error
        log.debug("websub: connection from %s ended early", client_address[0])


def _handler(websub: WebSub) -> type[BaseHTTPRequestHandler]:
    max_body = websub.cfg.max_body_bytes

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "ingest-websub"
        sys_version = ""

        def log_message(self, *args) -> None:  # no access log: the query string carries hub parameters
            pass

        def _sub_id(self) -> str:
            return urlsplit(self.path).path.rstrip("/").rsplit("/", 1)[-1]

        def _answer(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            query = urlsplit(self.path).query
            if len(query) > 8192:
                self._answer(414, b"query too long")
                return
            params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
            self._answer(*websub.verify(self._sub_id(), params))

        def do_POST(self) -> None:  # noqa: N802 - http.server API
            length = self.headers.get("Content-Length")
            if length is None or not length.strip().isdigit():
                self.close_connection = True
                self._answer(411, b"Content-Length required")
                return
            if int(length) > max_body:
                self.close_connection = True
                self._answer(413, f"body larger than {max_body} bytes".encode())
                return
            body = self.rfile.read(int(length))
            self._answer(*websub.push(self._sub_id(), body, self.headers.get("X-Hub-Signature"),
                                      self.headers.get("Content-Type")))

    return Handler

