"""Polling one feed: conditional GET, body hash, parsing, and the feed's state machine.

States: new -> working | backing_off -> failing -> gone; disabled by the user. Nothing is
dropped silently: every state carries its reason (`last_error`) and the time of the next try.

- Validators are stored verbatim and sent back; a 200 replaces them (even when the body hash
  is unchanged: servers rotate them), a 304 refreshes those it carries. Every Nth poll a 304 is
  checked with an unconditional GET: a server that answered 304 while the body had changed is
  marked "validators untrusted" and polled unconditionally from then on (`feeds retry` resets).
- Failures are weighted (hard 2, soft 1, temporary 0.5); the wait grows linearly with the
  weight, capped, and honours Retry-After. 410 is gone at once; repeated 404s lead to gone.
  A gone feed, and a feed whose server sent Retry-After, is not polled before its next try,
  not even by `ingest run --once` (`ingest feeds retry` clears that).
- A 429/503 with Retry-After defers the whole host in the fetcher's limiter; other feeds of
  that host wait too (not counted as their failure) instead of hammering it.
- When most hosts fail with network errors at the same time the problem is ours, not
  theirs: those failures are not counted and the feeds are retried soon. Hosts, not feeds,
  are counted, so one big publisher going down is that publisher's failure.
- The next poll follows the feed's observed rate of new entries (dated entries newer than
  the newest seen before, per second since the last success), bounded by min/max interval,
  raised to what the publisher asks (<ttl>, sy:updatePeriod/updateFrequency, Cache-Control
  max-age, Expires, Retry-After) and jittered. A fixed per-feed interval replaces the observed
  rate but is still raised to the publisher's ask.
- Crash safety: a poll that found entries saves the feed's new state (validators, body hash)
  in the same local-state transaction that queues its new entries (`LocalState.save_poll`, the pending
  queue). Until then nothing of the poll is kept, so a crash either loses the whole poll (the
  next poll sees the same entries) or nothing: never validators that hide unstored entries.
  The pipeline takes entries off that queue only once their article is stored or they are dead.
- Entries whose link is already known (another feed, GUID churn) are not queued; their new
  keys are remembered in the same transaction.
- A site URL configured instead of a feed is resolved at its first poll: the page's
  <link rel=alternate> feeds are tried and the first that parses is remembered
  (`resolved_url`); when it later disappears (404/410, or HTML again) it is discovered anew.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal, Protocol

from ingest.config import PollingSettings
from ingest.errors import FeedParseError, FetchError, FetchErrorKind, StoreError, StoreUnavailable
from ingest.models import (
    FeedConfig,
    FeedEntry,
    FeedState,
    FeedStatus,
    FetchResponse,
    ParsedFeed,
    PendingEntry,
    article_id,
    parse_retry_after,
    utcnow,
)
from ingest.sources.parse import NotAFeed, parse_feed
from ingest.sources.profile import ProfileBook, RequestProfile
from ingest.sources.urls import host_key, normalize_url

log = logging.getLogger("ingest.poller")


class FeedFetcher(Protocol):
    """What the poller needs from the fetch stage: one polite, capped GET. `ingest.fetch.Fetcher`
    is one; the caller hands it in, so this earlier stage never imports the later one.
    Raises `ingest.errors.FetchError` (with `kind`, `status`, `retry_after`) for every failure."""

    profiles: ProfileBook  # request profiles: the feed's (and its site's) apply to its requests

    def get(self, url: str, headers: dict[str, str] | None = None, *, feed: str | None = None,
            profile: RequestProfile | None = None) -> FetchResponse: ...


WeightClass = Literal["hard", "soft", "temporary"]
WEIGHTS: dict[WeightClass, float] = {"hard": 2.0, "soft": 1.0, "temporary": 0.5}
# Why a poll failed: the fetch's reasons, a feed that does not parse, or a bug of ours.
ErrorKind = FetchErrorKind | Literal["parse", "internal"]
FAILING_AT = 6.0
MAX_AGE = re.compile(r"(?<![-\w])max-age\s*=\s*\"?(\d+)", re.I)
OUTAGE_MIN_HOSTS = 3
DISCOVERY_TRIES = 3


class PollStatus(StrEnum):
    """What one poll came to."""

    NEW = "new"                    # new content (its entries are in `entries`)
    NOT_MODIFIED = "not_modified"  # HTTP 304
    UNCHANGED = "unchanged"        # 200 with the body seen last time
    ERROR = "error"
    SKIPPED = "skipped"            # disabled, or not before its next allowed try


@dataclass(slots=True)
class PollOutcome:
    feed: FeedConfig
    status: PollStatus
    entries: list[FeedEntry] = field(default_factory=list)
    error: str | None = None
    error_kind: ErrorKind | None = None
    new_entries: int = 0
    requests: int = 0
    previous_error_count: float = 0.0
    feed_name: str = ""
    previous_status: FeedStatus = FeedStatus.NEW
    previous_404: int = 0
    host: str = ""
    hub: str | None = None      # the WebSub hub the parsed feed declares
    topic: str | None = None    # its WebSub topic (rel=self URL, else the URL polled)

    @property
    def network_failure(self) -> bool:
        return self.status == PollStatus.ERROR and self.error_kind in ("network", "timeout")


def classify(kind: ErrorKind, status: int | None) -> WeightClass:
    """Failure weight class: hard (our request or their feed is wrong), soft (server trouble), temporary."""
    if kind in ("network", "timeout", "deferred"):
        return "temporary"
    if status is not None and (status >= 500 or status == 429):
        return "soft"
    return "hard"


def entry_keys(entry: FeedEntry) -> list[str]:
    """Keys under which an entry counts as seen: its normalized link, and its GUID within its feed."""
    keys = ["u:" + normalize_url(entry.link)]
    if entry.guid:
        keys.append(f"g:{entry.feed_url}|{entry.guid}")
    return keys


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
        if expires and not m:  # max-age wins over Expires (RFC 9111 5.3)
            try:
                when = email.utils.parsedate_to_datetime(expires)
                if when is not None:
                    if when.tzinfo is None:
                        when = when.replace(tzinfo=UTC)
                    values.append(when.timestamp() - now)
            except (TypeError, ValueError, IndexError):
                pass
        retry_after = parse_retry_after(resp.header("retry-after"), now)
        if retry_after:
            values.append(retry_after)
    return max(values)


def interleave_by_host(feeds: Iterable[FeedConfig]) -> list[FeedConfig]:
    """Round-robin over hosts, so parallel pollers do not all queue behind one host's politeness gap."""
    groups: dict[str, deque[FeedConfig]] = {}
    for feed in feeds:
        groups.setdefault(host_key(feed.url), deque()).append(feed)
    out: list[FeedConfig] = []
    queues = list(groups.values())
    while queues:
        queues = [q for q in queues if q]
        for q in queues:
            out.append(q.popleft())
    return out


class OutageDetector:
    """The latest poll outcome of every host in a sliding window: are most hosts failing on the network?"""

    def __init__(self, share: float, window: float = 300.0, min_hosts: int = OUTAGE_MIN_HOSTS):
        self.share, self.window, self.min_hosts = share, window, min_hosts
        self._latest: dict[str, tuple[float, bool]] = {}
        self._order: deque[tuple[float, str]] = deque()
        self._failed = 0
        self._lock = threading.Lock()

    def record(self, host: str, network_failure: bool, now: float | None = None) -> None:
        now = now if now is not None else time.monotonic()
        with self._lock:
            old = self._latest.get(host)
            if old is not None and old[1]:
                self._failed -= 1
            self._latest[host] = (now, network_failure)
            self._failed += network_failure
            self._order.append((now, host))
            self._prune(now)

    def _prune(self, now: float) -> None:
        while self._order and self._order[0][0] < now - self.window:
            t, host = self._order.popleft()
            latest = self._latest.get(host)
            if latest is not None and latest[0] == t:
                del self._latest[host]
                self._failed -= latest[1]

    def in_outage(self, now: float | None = None) -> bool:
        with self._lock:
            self._prune(now if now is not None else time.monotonic())
            n = len(self._latest)
            return n >= self.min_hosts and self._failed / n >= self.share


class Poller:
    def __init__(self, settings: PollingSettings, store, fetcher: FeedFetcher):
        # `store`: the (state, index) pair of ingest.store (untyped here: sources sits below store)
        self.settings = settings
        self.state = store.state  # feed state, entries, the queue (ingest.store.protocols.LocalState)
        self.index = store.index  # an article reached through one more feed gains it
        self.fetcher = fetcher
        self.outage = OutageDetector(settings.outage_share)
        self.rng = random.Random()
        # WebSub (ingest.websub): a feed pushed to us is polled at most this often (None: as usual)
        self.push_floor: Callable[[str], float | None] = lambda _url: None

    def poll(self, feed: FeedConfig) -> PollOutcome:
        """Poll one feed and persist its new state (and queue its new entries). Raises only StoreError:
        a store that cannot be written (disk full) stops the run; every other error is the feed's."""
        try:
            return self._poll(feed)
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - no exception may escape a job
            log.exception("unexpected error polling %s", feed.url)
            outcome = PollOutcome(feed=feed, status=PollStatus.ERROR, error=f"internal error: {type(exc).__name__}: {exc}",
                                  error_kind="internal", feed_name=feed.name or feed.url, host=host_key(feed.url))
            try:
                state = self.state.get_feed_state(feed.url) or FeedState(url=feed.url, name=feed.name)
                outcome.previous_error_count, outcome.previous_status = state.error_count, state.status
                self._fail(state, outcome, "hard", utcnow())
            except Exception:  # noqa: BLE001 - the store itself failing: report, do not raise
                log.exception("cannot record the failure of %s", feed.url)
            return outcome

    def _poll(self, feed: FeedConfig) -> PollOutcome:
        now = utcnow()
        state = self.state.get_feed_state(feed.url) or FeedState(url=feed.url, name=feed.name)
        state.name = feed.name or state.name
        state.category = feed.category
        outcome = PollOutcome(feed=feed, status=PollStatus.ERROR, previous_error_count=state.error_count,
                              previous_status=state.status, previous_404=state.consecutive_404,
                              feed_name=state.name or feed.url, host=host_key(state.resolved_url or feed.url))
        if not feed.enabled:
            state.status, state.last_error, state.next_poll = FeedStatus.DISABLED, "disabled by user", None
            self.state.save_feed_state(state)
            outcome.status = PollStatus.SKIPPED
            return outcome
        if state.not_before and state.not_before > time.time():
            outcome.status = PollStatus.SKIPPED
            outcome.error = f"not polled before {_fmt_epoch(state.not_before)}: {state.last_error or state.status}"
            return outcome
        self.fetcher.profiles.remember(feed.url, feed.profile)  # its pages are fetched with it too
        state.polls += 1
        state.last_poll = now
        state.not_before = None
        previous_success = state.last_success
        check_validators = state.polls % self.settings.unconditional_every == 0
        url = state.resolved_url or feed.url
        try:
            try:
                resp, parsed, requests = self._fetch_and_parse(url, state, check_validators, feed)
            except NotAFeed as exc:
                if url != feed.url:  # the discovered feed turned into a page: discover anew next time
                    state.resolved_url = None
                    raise
                resp, parsed, requests = self._discover(feed, state, exc)
        except (FetchError, FeedParseError) as exc:
            if url != feed.url and isinstance(exc, FetchError) and exc.status in (404, 410):
                state.resolved_url = None  # the site moved its feed: look for it on the page again
            return self._failed(state, outcome, exc, now)
        outcome.requests = requests
        self.outage.record(outcome.host, False)
        state.status, state.last_success, state.last_error = FeedStatus.WORKING, now, None
        state.error_count, state.consecutive_404 = 0.0, 0
        if resp.not_modified:
            outcome.status = PollStatus.NOT_MODIFIED
        elif parsed is None:
            outcome.status = PollStatus.UNCHANGED
        else:
            outcome.status = PollStatus.NEW
            outcome.entries = parsed.entries
            outcome.hub, outcome.topic = parsed.hub, parsed.self_url or url
            state.name = feed.name or state.name or parsed.title
            state.site_url = parsed.site_url or state.site_url
            outcome.feed_name = state.name or feed.url
        state.interval, floor = self._next_interval(feed, state, outcome, resp, parsed, previous_success, now)
        pushed = self.push_floor(feed.url)
        wait = max(state.interval, pushed) if pushed else state.interval
        state.next_poll = now + timedelta(seconds=self._jittered(wait, floor))
        queued, seen, also = self._triage(outcome.entries, outcome.feed_name, feed.url)
        outcome.new_entries = len(queued)
        self.state.save_poll(state, queued, seen)  # state and queued entries: one transaction
        for aid, feed_url in also:
            self._add_feed_url(aid, feed_url)
        return outcome

    def accept_push(self, feed: FeedConfig, data: bytes, content_type: str | None = None) -> PollOutcome:
        """A feed document pushed by a WebSub hub: its new entries are queued like a poll's (one
        transaction with the feed's state); validators and the polling schedule are left alone.
        Raises FeedParseError when the body is not a feed."""
        now = utcnow()
        parsed = parse_feed(data, feed.url, content_type)
        state = self.state.get_feed_state(feed.url) or FeedState(url=feed.url, name=feed.name)
        outcome = PollOutcome(feed=feed, status=PollStatus.NEW, entries=parsed.entries, feed_name=state.name or feed.url,
                              host=host_key(feed.url))
        dates = [min(e.published, now) for e in parsed.entries if e.published]
        if dates and (state.last_new is None or max(dates) > state.last_new):
            state.last_new = max(dates)
        queued, seen, also = self._triage(parsed.entries, outcome.feed_name, feed.url)
        outcome.new_entries = len(queued)
        self.state.save_poll(state, queued, seen)
        for aid, feed_url in also:
            self._add_feed_url(aid, feed_url)
        return outcome

    def _triage(self, entries: list[FeedEntry], feed_name: str, feed_url: str
                ) -> tuple[list[PendingEntry], list[tuple[str, str, str]], list[tuple[str, str]]]:
        """(entries to queue, (feed, key, article id) keys to remember, (article id, feed) links to add).

        An entry is new when none of its keys is known; a known one with a new key (the same article
        through another feed, or GUID churn) is remembered, never fetched again."""
        if not entries:
            return [], [], []
        keyed = [(e, entry_keys(e)) for e in entries]
        known = self.state.known_entries(k for _, keys in keyed for k in keys)
        queued: list[PendingEntry] = []
        seen: list[tuple[str, str, str]] = []
        also: list[tuple[str, str]] = []
        ids: set[str] = set()
        for entry, keys in keyed:
            hit = next((known[k] for k in keys if k in known), None)
            if hit:
                missing = [k for k in keys if k not in known]
                if missing:
                    seen += [(entry.feed_url, k, hit) for k in missing]
                    also.append((hit, entry.feed_url))
                continue
            aid = article_id(normalize_url(entry.link))
            if aid not in ids:
                ids.add(aid)
                queued.append(PendingEntry(entry=entry, article_id=aid, keys=keys, feed_name=feed_name,
                                           feed_url=feed_url))
        return queued, seen, also

    def _add_feed_url(self, aid: str, feed_url: str) -> None:
        try:
            self.index.add_feed_url(aid, feed_url)
        except StoreUnavailable as exc:  # the search engine down: the article keeps its other feeds for now
            log.warning("feed %s not added to article %s: %s", feed_url, aid, exc)

    def _discover(self, feed: FeedConfig, state: FeedState, exc: NotAFeed
                  ) -> tuple[FetchResponse, ParsedFeed | None, int]:
        """The configured URL is a web page: use the first feed it links to that parses."""
        url = feed.url
        if not exc.candidates:
            raise exc
        last: Exception = exc
        requests = 1
        for candidate in exc.candidates[:DISCOVERY_TRIES]:
            if candidate == url:
                continue
            try:
                resp, parsed, n = self._fetch_and_parse(candidate, state, False, feed)
            except (FetchError, FeedParseError) as inner:
                last = inner
                requests += 1
                continue
            state.resolved_url = candidate
            log.info("%s is a web page; using its feed %s", url, candidate)
            return resp, parsed, requests + n
        raise last

    @staticmethod
    def _conditional_headers(state: FeedState) -> dict[str, str]:
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        return headers

    def _fetch_and_parse(self, url: str, state: FeedState, check_validators: bool, feed: FeedConfig
                         ) -> tuple[FetchResponse, ParsedFeed | None, int]:
        """Conditional GET (unless validators are untrusted); on a validator check a 304 is verified.
        The feed's request profile (and its site's) applies."""
        headers = self._conditional_headers(state) if state.validators_trusted else {}
        resp = self.fetcher.get(url, headers=headers, feed=feed.url, profile=feed.profile)
        requests = 1
        if check_validators and headers and resp.not_modified:
            # Is that 304 true? Fetch unconditionally and compare with the body we hold.
            self._store_validators(state, resp)
            resp = self.fetcher.get(url, feed=feed.url, profile=feed.profile)
            requests += 1
            if not resp.not_modified and state.body_hash and body_hash(resp.content) != state.body_hash:
                state.validators_trusted = False
                log.warning("%s answered 304 although its content changed; validators no longer trusted", url)
        if resp.not_modified:
            self._store_validators(state, resp)
            return resp, None, requests
        digest = body_hash(resp.content)
        if digest == state.body_hash:
            self._store_validators(state, resp, replace=True)
            return resp, None, requests
        # Validators are kept only for a body that parsed: a broken feed must not hide behind 304s.
        parsed = parse_feed(resp.content, url, resp.header("content-type"))
        state.body_hash = digest
        self._store_validators(state, resp, replace=True)
        return resp, parsed, requests

    @staticmethod
    def _store_validators(state: FeedState, resp: FetchResponse, replace: bool = False) -> None:
        """Verbatim. A 200 replaces both (a validator the server stopped sending is dropped);
        a 304 refreshes the ones it carries. Refreshed even when the body is unchanged."""
        etag, modified = resp.header("etag"), resp.header("last-modified")
        if replace:
            state.etag, state.last_modified = etag, modified
            return
        if etag:
            state.etag = etag
        if modified:
            state.last_modified = modified

    def _failed(self, state: FeedState, outcome: PollOutcome, exc: FetchError | FeedParseError,
                now: datetime) -> PollOutcome:
        fetch = exc if isinstance(exc, FetchError) else None
        kind: ErrorKind = fetch.kind if fetch else "parse"
        status, retry_after = (fetch.status, fetch.retry_after) if fetch else (None, None)
        outcome.status, outcome.error, outcome.error_kind = PollStatus.ERROR, str(exc), kind
        if kind == "deferred":
            # Another feed of this host got a 429/503 with Retry-After: wait with it, not this feed's fault.
            wait = max(retry_after or 0.0, 1.0)
            state.last_error = f"waiting for the host: {exc}"
            state.not_before = float(math.ceil(time.time() + wait))  # whole seconds, as the store keeps times
            state.next_poll = datetime.fromtimestamp(state.not_before, UTC)
            self.state.save_feed_state(state)
            return outcome
        self.outage.record(outcome.host, outcome.network_failure)
        self._fail(state, outcome, classify(kind, status), now, status, retry_after)
        return outcome

    def _fail(self, state: FeedState, outcome: PollOutcome, weight_class: WeightClass, now: datetime,
              status: int | None = None, retry_after: float | None = None) -> None:
        s = self.settings
        state.last_error = outcome.error
        if outcome.network_failure and self.outage.in_outage():
            state.last_error = f"suspected local connectivity problem (most hosts failing): {outcome.error}"
            state.next_poll = now + timedelta(seconds=s.min_interval)
            self.state.save_feed_state(state)
            return
        state.error_count += WEIGHTS[weight_class]
        state.consecutive_404 = state.consecutive_404 + 1 if status == 404 else 0
        gone = status == 410 or state.consecutive_404 >= s.gone_after_404
        if gone:
            state.status = FeedStatus.GONE
            why = "HTTP 410" if status == 410 else f"HTTP 404 {state.consecutive_404} times in a row"
            state.last_error = f"gone ({why}); `ingest feeds retry` polls it again: {outcome.error}"
            wait = s.backoff_max
        else:
            state.status = FeedStatus.FAILING if state.error_count >= FAILING_AT else FeedStatus.BACKING_OFF
            wait = min(s.backoff_step * state.error_count, s.backoff_max)
        floor = 0.0
        if retry_after:
            floor = min(retry_after, s.backoff_max)
            wait = max(wait, floor)
        delay = self._jittered(wait, floor)
        state.next_poll = now + timedelta(seconds=delay)
        if gone or retry_after:  # the same instant for the scheduler and for `run --once`
            state.not_before = float(math.ceil(time.time() + delay))
            state.next_poll = datetime.fromtimestamp(state.not_before, UTC)
        self.state.save_feed_state(state)

    def _next_interval(self, feed: FeedConfig, state: FeedState, outcome: PollOutcome, resp: FetchResponse,
                       parsed: ParsedFeed | None, previous_success: datetime | None, now: datetime
                       ) -> tuple[float, float]:
        """(interval, the publisher's minimum that jitter must not undercut)."""
        s = self.settings
        fresh, gap, dated = self._fresh_entries(parsed, state, now) if parsed else (0, None, False)
        if feed.interval:
            interval = feed.interval
        else:
            current = state.interval or s.default_interval
            if fresh and previous_success is not None:
                # Observed rate: `fresh` entries since the last success; move halfway towards one per poll.
                elapsed = max(1.0, (now - previous_success).total_seconds())
                current = (current + elapsed / fresh) / 2
            elif fresh and gap:
                current = gap  # first look at the feed: the spacing of its dated entries
            elif outcome.status == PollStatus.NEW and not dated:
                current *= 0.7  # undated entries, but the feed changed
            elif not fresh:
                current *= 1.2  # nothing new: back off gently
            interval = min(max(current, s.min_interval), s.max_interval)
        if parsed is not None:
            state.publisher_interval = parsed.ttl_seconds
        asked = min(max(publisher_min_interval(resp, None, time.time()), state.publisher_interval or 0.0),
                    s.max_interval)
        return max(interval, asked), asked

    @staticmethod
    def _fresh_entries(parsed: ParsedFeed, state: FeedState, now: datetime) -> tuple[int, float | None, bool]:
        """(entries published after the newest seen before, mean gap of the newest dated entries, any dated).

        Updates `state.last_new`. Dates in the future count as now."""
        dates = sorted((min(e.published, now) for e in parsed.entries if e.published), reverse=True)
        if not dates:
            return 0, None, False
        fresh = sum(1 for d in dates if state.last_new is None or d > state.last_new)
        recent = dates[:10]
        gap = (recent[0] - recent[-1]).total_seconds() / (len(recent) - 1) if len(recent) > 1 else None
        if state.last_new is None or dates[0] > state.last_new:
            state.last_new = dates[0]
        return fresh, gap or None, True

    def _jittered(self, seconds: float, floor: float = 0.0) -> float:
        jitter = min(self.settings.jitter, seconds * 0.1)
        return max(1.0, floor, seconds + self.rng.uniform(-jitter, jitter))

    def finish_cycle(self, outcomes: list[PollOutcome]) -> bool:
        """After a full cycle: if most hosts failed on the network, undo those failures. True if outage."""
        polled = [o for o in outcomes if o.status != PollStatus.SKIPPED and o.error_kind != "deferred"]
        hosts: dict[str, bool] = {}
        for o in polled:  # a host counts as failed when every poll of it failed on the network
            hosts[o.host] = hosts.get(o.host, True) and o.network_failure
        if len(hosts) < OUTAGE_MIN_HOSTS or sum(hosts.values()) / len(hosts) < self.settings.outage_share:
            return False
        now = utcnow()
        failed = [o for o in polled if o.network_failure]
        for o in failed:
            state = self.state.get_feed_state(o.feed.url)
            if state is None:
                continue
            state.error_count = o.previous_error_count
            state.consecutive_404 = o.previous_404
            state.status = o.previous_status if o.previous_status != FeedStatus.DISABLED else FeedStatus.NEW
            state.last_error = f"suspected local connectivity problem (most hosts failing): {o.error}"
            state.next_poll = now + timedelta(seconds=self.settings.min_interval)
            state.not_before = None
            self.state.save_feed_state(state)
        log.warning("%d of %d hosts failed with network errors: treating it as our own outage",
                    sum(hosts.values()), len(hosts))
        return True

    def retry(self, url: str) -> bool:
        """User reset (`ingest feeds retry`): clear failures and poll at the next opportunity."""
        state = self.state.get_feed_state(url)
        if state is None:
            return False
        state.error_count, state.consecutive_404 = 0.0, 0
        state.status = FeedStatus.WORKING if state.last_success else FeedStatus.NEW
        state.last_error, state.next_poll, state.not_before = None, utcnow(), None
        state.validators_trusted = True
        self.state.save_feed_state(state)
        return True


def _fmt_epoch(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

