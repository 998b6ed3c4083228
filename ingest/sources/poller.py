"""Polling one feed: conditional GET, body hash, parsing, and the feed's state machine.

States: new -> working | backing_off -> failing -> gone; disabled by the user. Nothing is
dropped silently: every state carries its reason (`last_error`) and the time of the next try.

- Validators are stored verbatim and sent back; every Nth poll re-checks them with an
  unconditional GET, and a server that answered 304 while the body had changed is marked
  "validators untrusted" and polled unconditionally from then on.
- Failures are weighted (hard 2, soft 1, temporary 0.5); the wait grows linearly with the
  weight, capped, and honours Retry-After. 410 is gone at once; repeated 404s lead to gone.
- When most feeds fail with network errors at the same time the problem is ours, not
  theirs: those failures are not counted and the feeds are retried soon.
- The next poll follows the feed's observed rate of new entries, raised to what the
  publisher asks (<ttl>, sy:updatePeriod, Cache-Control max-age, Expires, Retry-After).
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ingest.config import PollingSettings
from ingest.errors import FeedParseError, FetchError
from ingest.fetch import Fetcher
from ingest.models import FeedConfig, FeedEntry, FeedState, FetchResponse, ParsedFeed, utcnow
from ingest.sources.parse import NotAFeed, parse_feed

log = logging.getLogger("ingest.poller")

WEIGHTS = {"hard": 2.0, "soft": 1.0, "temporary": 0.5}
FAILING_AT = 6.0
MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.I)


@dataclass(slots=True)
class PollOutcome:
    feed: FeedConfig
    status: str  # new | not_modified | unchanged | error | skipped
    entries: list[FeedEntry] = field(default_factory=list)
    error: str | None = None
    error_kind: str | None = None  # network | timeout | http | parse | refused | ...
    new_entries: int = 0
    requests: int = 0
    previous_error_count: float = 0.0
    feed_name: str = ""

    @property
    def network_failure(self) -> bool:
        return self.status == "error" and self.error_kind in ("network", "timeout")


def classify(kind: str, status: int | None) -> str:
    """Failure weight class: hard (our request or their feed is wrong), soft (server trouble), temporary."""
    if kind in ("network", "timeout", "deferred"):
        return "temporary"
    if status is not None and (status >= 500 or status == 429):
        return "soft"
    return "hard"


def body_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def publisher_min_interval(resp: FetchResponse | None, parsed: ParsedFeed | None, now: float) -> float:
    """The shortest interval the publisher asks for, from feed and HTTP caching hints."""
    values = [0.0]
    if parsed and parsed.ttl_seconds:
        values.append(parsed.ttl_seconds)
    if resp is not None:
        cc = resp.header("cache-control") or ""
        m = MAX_AGE.search(cc)
        if m:
            values.append(float(m.group(1)))
        expires = resp.header("expires")
        if expires:
            try:
                when = email.utils.parsedate_to_datetime(expires)
                if when is not None:
                    values.append(when.timestamp() - now)
            except (TypeError, ValueError):
                pass
    return max(values)


class OutageDetector:
    """Sliding window over recent poll outcomes of all feeds."""

    def __init__(self, share: float, window: float = 300.0, min_samples: int = 5):
        self.share, self.window, self.min_samples = share, window, min_samples
        self._events: deque[tuple[float, bool]] = deque()
        self._lock = threading.Lock()

    def record(self, network_failure: bool, now: float | None = None) -> None:
        now = now if now is not None else time.monotonic()
        with self._lock:
            self._events.append((now, network_failure))
            while self._events and self._events[0][0] < now - self.window:
                self._events.popleft()

    def in_outage(self) -> bool:
        with self._lock:
            n = len(self._events)
            failed = sum(1 for _, f in self._events if f)
        return n >= self.min_samples and failed / n >= self.share


class Poller:
    def __init__(self, settings: PollingSettings, store, fetcher: Fetcher):
        self.settings = settings
        self.store = store
        self.fetcher = fetcher
        self.outage = OutageDetector(settings.outage_share)
        self.rng = random.Random()

    def poll(self, feed: FeedConfig) -> PollOutcome:
        """Poll one feed and persist its new state. Never raises."""
        try:
            return self._poll(feed)
        except Exception as exc:  # noqa: BLE001 - no exception may escape a job
            log.exception("unexpected error polling %s", feed.url)
            state = self.store.get_feed_state(feed.url) or FeedState(url=feed.url, name=feed.name)
            outcome = PollOutcome(feed=feed, status="error", error=f"internal error: {exc}", error_kind="internal",
                                  feed_name=state.name or feed.url)
            self._fail(state, outcome, "hard", None, utcnow())
            return outcome

    def _poll(self, feed: FeedConfig) -> PollOutcome:
        now = utcnow()
        state = self.store.get_feed_state(feed.url) or FeedState(url=feed.url, name=feed.name)
        state.name = feed.name or state.name
        state.category = feed.category
        outcome = PollOutcome(feed=feed, status="error", previous_error_count=state.error_count,
                              feed_name=state.name or feed.url)
        if not feed.enabled:
            state.status, state.last_error, state.next_poll = "disabled", "disabled by user", None
            self.store.save_feed_state(state)
            outcome.status = "skipped"
            return outcome
        state.polls += 1
        state.last_poll = now
        check_validators = state.validators_trusted and state.polls % self.settings.unconditional_every == 0
        url = state.resolved_url or feed.url
        try:
            resp, parsed, requests = self._fetch_and_parse(url, state, check_validators)
        except NotAFeed as exc:
            if exc.candidates and url == feed.url:
                state.resolved_url = exc.candidates[0]
                log.info("%s is a web page; using its feed %s", feed.url, state.resolved_url)
                try:
                    resp, parsed, requests = self._fetch_and_parse(state.resolved_url, state, False)
                except (FetchError, FeedParseError) as inner:
                    return self._failed(state, outcome, inner, now)
            else:
                return self._failed(state, outcome, exc, now)
        except (FetchError, FeedParseError) as exc:
            return self._failed(state, outcome, exc, now)
        outcome.requests = requests
        self.outage.record(False)
        state.status, state.last_success, state.last_error = "working", now, None
        state.error_count, state.consecutive_404 = 0.0, 0
        if resp.not_modified:
            outcome.status = "not_modified"
        elif parsed is None:
            outcome.status = "unchanged"
        else:
            outcome.status = "new"
            outcome.entries = parsed.entries
            state.name = feed.name or state.name or parsed.title
            state.site_url = parsed.site_url or state.site_url
            outcome.feed_name = state.name or feed.url
        state.interval = self._next_interval(feed, state, outcome, resp, parsed)
        state.next_poll = now + timedelta(seconds=self._jittered(state.interval))
        self.store.save_feed_state(state)
        return outcome

    def _fetch_and_parse(self, url: str, state: FeedState, check_validators: bool
                         ) -> tuple[FetchResponse, ParsedFeed | None, int]:
        """Conditional GET; on a validator check, an unconditional GET follows a 304 to catch liars."""
        headers = {}
        if state.validators_trusted and not check_validators:
            if state.etag:
                headers["If-None-Match"] = state.etag
            if state.last_modified:
                headers["If-Modified-Since"] = state.last_modified
        resp = self.fetcher.get(url, headers=headers)
        requests = 1
        if check_validators and (state.etag or state.last_modified) and state.body_hash:
            conditional = self.fetcher.get(url, headers={k: v for k, v in (("If-None-Match", state.etag),
                                                         ("If-Modified-Since", state.last_modified)) if v})
            requests += 1
            if conditional.not_modified and body_hash(resp.content) != state.body_hash:
                state.validators_trusted = False
                log.warning("%s answered 304 although its content changed; validators no longer trusted", url)
        if resp.not_modified:
            self._store_validators(state, resp)
            return resp, None, requests
        digest = body_hash(resp.content)
        if digest == state.body_hash:
            self._store_validators(state, resp)
            return resp, None, requests
        # Validators are kept only for a body that parsed: a broken feed must not hide behind 304s.
        parsed = parse_feed(resp.content, url, resp.header("content-type"))
        state.body_hash = digest
        self._store_validators(state, resp)
        return resp, parsed, requests

    @staticmethod
    def _store_validators(state: FeedState, resp: FetchResponse) -> None:
        """Verbatim, and refreshed even when the body is unchanged (servers rotate them)."""
        etag, modified = resp.header("etag"), resp.header("last-modified")
        if etag:
            state.etag = etag
        if modified:
            state.last_modified = modified

    def _failed(self, state: FeedState, outcome: PollOutcome, exc: Exception, now: datetime) -> PollOutcome:
        kind = getattr(exc, "kind", "parse")
        status = getattr(exc, "status", None)
        outcome.status, outcome.error, outcome.error_kind = "error", str(exc), kind
        self.outage.record(outcome.network_failure)
        self._fail(state, outcome, classify(kind, status), exc, now)
        return outcome

    def _fail(self, state: FeedState, outcome: PollOutcome, weight_class: str, exc: Exception | None,
              now: datetime) -> None:
        status = getattr(exc, "status", None)
        retry_after = getattr(exc, "retry_after", None)
        state.last_error = outcome.error
        if outcome.network_failure and self.outage.in_outage():
            state.last_error = f"suspected local connectivity problem (most feeds failing): {outcome.error}"
            state.next_poll = now + timedelta(seconds=self.settings.min_interval)
            self.store.save_feed_state(state)
            return
        state.error_count += WEIGHTS[weight_class]
        state.consecutive_404 = state.consecutive_404 + 1 if status == 404 else 0
        if status == 410 or state.consecutive_404 >= self.settings.gone_after_404:
            state.status = "gone"
            wait = self.settings.backoff_max
        else:
            state.status = "failing" if state.error_count >= FAILING_AT else "backing_off"
            wait = min(self.settings.backoff_step * state.error_count, self.settings.backoff_max)
        if retry_after:
            wait = max(wait, min(retry_after, self.settings.backoff_max))
        state.next_poll = now + timedelta(seconds=self._jittered(wait))
        self.store.save_feed_state(state)

    def _next_interval(self, feed: FeedConfig, state: FeedState, outcome: PollOutcome, resp: FetchResponse,
                       parsed: ParsedFeed | None) -> float:
        s = self.settings
        if feed.interval:
            interval = feed.interval
        else:
            current = state.interval or s.default_interval
            if outcome.status == "new" and parsed and self._has_fresh(parsed, state):
                current *= 0.7
            else:
                current *= 1.2
            interval = min(max(current, s.min_interval), s.max_interval)
        asked = publisher_min_interval(resp, parsed, time.time())
        return min(max(interval, asked), s.max_interval) if asked > interval else interval

    @staticmethod
    def _has_fresh(parsed: ParsedFeed, state: FeedState) -> bool:
        """Did the feed publish since our last success? Updates the last-new timestamp."""
        newest = max((e.published for e in parsed.entries if e.published), default=None)
        if newest and (state.last_new is None or newest > state.last_new):
            state.last_new = newest
            return True
        return False

    def _jittered(self, seconds: float) -> float:
        jitter = min(self.settings.jitter, seconds * 0.1)
        return max(1.0, seconds + self.rng.uniform(-jitter, jitter))

    def finish_cycle(self, outcomes: list[PollOutcome]) -> bool:
        """After a full cycle: if most feeds failed on the network, undo those failures. True if outage."""
        polled = [o for o in outcomes if o.status != "skipped"]
        failed = [o for o in polled if o.network_failure]
        if len(polled) < 3 or len(failed) / len(polled) < self.settings.outage_share:
            return False
        now = utcnow()
        for o in failed:
            state = self.store.get_feed_state(o.feed.url)
            if state is None:
                continue
            state.error_count = o.previous_error_count
            state.status = "working" if state.last_success else "new"
            state.last_error = f"suspected local connectivity problem (most feeds failing): {o.error}"
            state.next_poll = now + timedelta(seconds=self.settings.min_interval)
            self.store.save_feed_state(state)
        log.warning("%d of %d feeds failed with network errors: treating it as our own outage", len(failed), len(polled))
        return True

    def retry(self, url: str) -> bool:
        """User reset (`ingest feeds retry`): clear failures and poll at the next opportunity."""
        state = self.store.get_feed_state(url)
        if state is None:
            return False
        state.error_count, state.consecutive_404 = 0.0, 0
        state.status = "working" if state.last_success else "new"
        state.last_error, state.next_poll = None, utcnow()
        state.validators_trusted = True
        self.store.save_feed_state(state)
        return True


def is_due(state: FeedState | None, now: datetime | None = None) -> bool:
    if state is None or state.next_poll is None:
        return True
    return state.next_poll <= (now or datetime.now(UTC))
