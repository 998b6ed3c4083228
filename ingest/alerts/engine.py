"""The alert engine: rules matched against each stored batch, one ledger claim per (rule, story),
delivery on a background thread.

    engine = AlertEngine(store, load_rules(settings.rules_file), settings.alerts)
    engine.start()                                   # re-queues alerts left undelivered by a restart
    pipeline = Pipeline(settings, store, on_stored=engine.on_stored)

Ingest path (`on_stored`, the pipeline's thread): `store.index.match_batch` on the batch, the rule's
filters, then `claim_alert` per (rule, story) where the story is the article's syndication
cluster (or the article itself). The claim is atomic in the store, so a story alerts once per rule
whatever happens later: re-indexing, re-cleaning, backfills, restarts, late or backdated copies.
A copy of an already claimed story only extends the record (its outlet is listed if the alert is
still waiting; it is never delivered again). Errors here are logged, never raised into ingest.

Nothing skipped: the pipeline stores each batch with a durable "evaluation pending" record per
article (same transaction). `match_batch` evaluates the batch itself (SQLite, percolator) or only
the articles confirmed searchable (Elasticsearch `_msearch`); the pending record is cleared only
for articles evaluated. Whatever is left (cluster down, not yet searchable, a crash between the
store write and the rules) is the backlog: evaluated after later batches (records older than
BACKLOG_AGE, so a batch still being evaluated by another poll thread is not taken twice), by the
daemon every BACKLOG_EVERY seconds, at the end of `run --once` and at start (after a restart).
The ledger keeps a story that is evaluated twice to one alert.

Delivery thread: per rule, sends the ledger's undelivered records through each channel, records
per-channel success (`channels_done`, so a retry never re-sends to a channel that got it) and sets
`delivered` when every channel has it. Failures back off exponentially (settings.alerts.retry_base,
retry_max); records stay undelivered in the ledger and are picked up again after a restart.
Digest rules deliver on multiples of their interval (UTC), rate-limited rules (`min_interval`)
at most once per interval with every story that queued up meanwhile.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ingest.alerts.delivery import AppriseSender, compose, query_words, register_secrets, resolve
from ingest.alerts.rules import Rule, load_rules
from ingest.models import Article
from ingest.store.base import AlertRecord

log = logging.getLogger("ingest.alerts")
FAR = datetime.max.replace(tzinfo=UTC)
MAX_BACKOFF = 3600.0
PENDING_LIMIT = 500
BACKLOG_LIMIT = 500     # pending articles evaluated per backlog pass
BACKLOG_AGE = 30.0      # seconds: younger pending records may belong to a batch being evaluated now
BACKLOG_EVERY = 15.0    # daemon job


def story_of(article: Article) -> str:
    return article.cluster_id or article.id


class AlertEngine:
    def __init__(self, store, rules: list[Rule], settings=None, sender=None, rules_file: str | Path | None = None,
                 clock: Callable[[], float] = time.time):
        from ingest.config import AlertSettings

        self.store = store
        self.settings = settings or AlertSettings()
        self.sender = sender or AppriseSender()
        self.rules_file = Path(rules_file) if rules_file else None
        self.extra_rules: Callable[[], list[Rule]] | None = None   # rules from other files (saved searches)
        self.extra_files: tuple[Path, ...] = ()
        self._rules_mtime = self._mtime()
        self.clock = clock
        self._rules: dict[str, Rule] = {}
        self._set_rules(rules)
        self._cond = threading.Condition()
        self._due: dict[str, float] = {}          # rule -> epoch seconds when its delivery is due
        self._failures: dict[str, int] = {}       # rule -> consecutive failed deliveries
        self._last_sent: dict[str, float] = {}    # rule -> epoch seconds of its last delivery
        self._busy = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ledger = threading.Lock()           # extend (ingest) vs. update (delivery) of one record
        self._backlog_lock = threading.Lock()     # one backlog pass at a time
        self._in_flight: set[str] = set()         # article ids being evaluated by some thread now
        self._in_flight_lock = threading.Lock()
        self.delivered = 0                        # messages sent, for tests and stats

    # -- rules -----------------------------------------------------------------------------------

    @property
    def rules(self) -> list[Rule]:
        return list(self._rules.values())

    def _set_rules(self, rules: list[Rule]) -> None:
        register_secrets(rules)
        self._rules = {r.name: r for r in rules}

    def _mtime(self) -> tuple[float | None, ...] | None:
        """Modification times of the rules file and of the other files rules come from (saved searches)."""
        if self.rules_file is None:
            return None
        out: list[float | None] = []
        for path in (self.rules_file, *self.extra_files):
            try:
                out.append(path.stat().st_mtime)
            except OSError:
                out.append(None)
        return tuple(out)

    def reload_if_changed(self) -> bool:
        """Re-read the rules file when it changed (daemon job). A broken file keeps the previous rules."""
        mtime = self._mtime()
        if self.rules_file is None or mtime == self._rules_mtime:
            return False
        self._rules_mtime = mtime
        try:
            rules = load_rules(self.rules_file) + (self.extra_rules() if self.extra_rules else [])
        except Exception as exc:  # noqa: BLE001 - keep alerting with the rules we have
            log.error("alert rules not reloaded, keeping the previous %d: %s", len(self._rules), exc)
            return False
        self._set_rules(rules)
        log.warning("alert rules reloaded: %d rules", len(rules))
        self._requeue()
        return True

    # -- ingest side -----------------------------------------------------------------------------

    def on_stored(self, articles: list[Article]) -> None:
        """The pipeline's hook: never raises, never waits for a delivery. The batch was stored with its
        pending records; they are cleared for what is evaluated, the rest waits for the backlog."""
        try:
            self._evaluate_pending(articles)
        except Exception as exc:  # noqa: BLE001 - alerting must never break ingest; the batch stays pending
            self._log_failure(f"a batch of {len(articles)} articles", exc)
        self.evaluate_backlog(BACKLOG_AGE)

    def evaluate_backlog(self, min_age: float = 0.0) -> int:
        """Evaluate articles left pending (earlier failures, a restart) whose record is at least
        `min_age` seconds old. Returns how many were evaluated; never raises."""
        if not self._backlog_lock.acquire(blocking=False):
            return 0
        done = 0
        try:
            older = datetime.fromtimestamp(time.time() - min_age, UTC) if min_age else None
            while True:
                with self._in_flight_lock:
                    busy = set(self._in_flight)
                ids = [i for i in self.store.state.pending_alert_ids(BACKLOG_LIMIT, older) if i not in busy]
                if not ids:
                    return done
                articles = self.store.index.get_articles(ids)
                gone = set(ids) - {a.id for a in articles}
                if gone:  # deleted since: nothing to evaluate
                    self.store.state.clear_pending_alerts(gone)
                evaluated = self._evaluate_pending(articles)
                done += len(evaluated)
                if len(evaluated) < len(articles) or len(ids) < BACKLOG_LIMIT:
                    return done  # the rest is not searchable yet: next pass
        except Exception as exc:  # noqa: BLE001 - the records stay; the next pass retries
            self._log_failure("the alert backlog", exc)
            return done
        finally:
            self._backlog_lock.release()

    def _evaluate_pending(self, articles: list[Article]) -> set[str]:
        ids = {a.id for a in articles}
        with self._in_flight_lock:
            self._in_flight |= ids
        try:
            _claimed, evaluated = self._evaluate(articles)
            if evaluated:
                self.store.state.clear_pending_alerts(evaluated)
            return evaluated
        finally:
            with self._in_flight_lock:
                self._in_flight -= ids

    @staticmethod
    def _log_failure(what: str, exc: Exception) -> None:
        from ingest.errors import IngestError

        if isinstance(exc, IngestError):  # store down, disk full: one line, the articles stay pending
            log.warning("alert rules not run on %s yet (kept pending): %s", what, exc)
        else:
            log.exception("alert evaluation failed for %s (kept pending)", what)

    def evaluate(self, articles: list[Article]) -> list[AlertRecord]:
        """Match, filter, claim. Returns the records claimed now (new stories)."""
        return self._evaluate(articles)[0]

    def _evaluate(self, articles: list[Article]) -> tuple[list[AlertRecord], set[str]]:
        """(records claimed now, ids evaluated): articles not yet searchable are not evaluated."""
        rules = {name: r for name, r in self._rules.items() if r.enabled and r.per_article}
        if not articles:
            return [], set()
        if not rules:
            return [], {a.id for a in articles}
        by_id = {a.id: a for a in articles}
        matches, evaluated = self.store.index.match_batch({n: r.query for n, r in rules.items()}, list(by_id.values()))
        now = datetime.now(UTC).replace(microsecond=0)
        claimed: list[AlertRecord] = []
        due: dict[str, Rule] = {}  # scheduled once the whole batch is claimed: one message per batch
        for name, ids in matches.items():
            rule = rules.get(name)
            if rule is None:
                continue
            stories: dict[str, list[Article]] = {}
            for aid in dict.fromkeys(ids):
                article = by_id.get(aid)
                if article is not None and rule.accepts(article, now):
                    stories.setdefault(story_of(article), []).append(article)
            for story, copies in stories.items():
                copies.sort(key=lambda a: (not a.is_original, a.published or FAR, a.id))
                lead = copies[0]
                record = AlertRecord(rule=name, story=story, article_ids=[a.id for a in copies],
                                     sources=list(dict.fromkeys(a.source for a in copies)), title=lead.title,
                                     url=lead.url, created=now)
                if self.store.index.claim_alert(record):
                    claimed.append(record)
                    log.info("alert claimed: rule %s, story %s (%s)", name, story, lead.title)
                    due[name] = rule
                else:  # known story: a copy arriving later is listed, never delivered again; the
                    # story's original (earliest published) takes the lead while nothing was sent
                    with self._ledger:
                        for a in copies:
                            title_url = (a.title, a.url) if a.is_original else None
                            self.store.index.extend_alert(name, story, a.id, a.source, title_url)
        for rule in due.values():
            self._schedule(rule)
        return claimed, evaluated

    def check_volume(self, now: datetime | None = None) -> list[AlertRecord]:
        """Volume rules (mode: volume): measure each against its baseline and claim new spikes or drops
        (`ingest.alerts.volume`). Called on a clock by the daemon and after `run --once`; never raises."""
        from ingest.alerts import volume

        claimed = []
        for rule in [r for r in self._rules.values() if r.enabled and r.mode == "volume"]:
            try:
                record = volume.check(self.store.index, rule, now)
            except Exception:  # noqa: BLE001 - a failed check is logged and tried again next time
                log.exception("volume check failed for rule %s", rule.name)
                continue
            if record is not None:
                claimed.append(record)
                self._schedule(rule)
        return claimed

    # -- scheduling ------------------------------------------------------------------------------

    def _next_due(self, rule: Rule, oldest: datetime | None = None) -> float:
        now = self.clock()
        if rule.mode == "digest" and rule.digest_every:
            boundary = math.floor(now / rule.digest_every) * rule.digest_every
            if oldest is not None and oldest.timestamp() <= boundary:
                return now  # a digest fell due while we were not running
            return boundary + rule.digest_every
        due = now
        last = self._last_sent.get(rule.name)
        if rule.min_interval and last is not None:
            due = max(due, last + rule.min_interval)
        return due

    def _schedule(self, rule: Rule, at: float | None = None) -> None:
        due = self._next_due(rule) if at is None else at
        with self._cond:
            current = self._due.get(rule.name)
            if current is None or due < current:
                if self._failures.get(rule.name) and current is not None:
                    return  # backing off: the retry is already scheduled
                self._due[rule.name] = due
            self._cond.notify_all()

    def _requeue(self) -> None:
        """Schedule every rule with undelivered ledger records (start, rules reloaded)."""
        for rule in list(self._rules.values()):
            try:
                recent = self.store.index.list_alerts(rule=rule.name, limit=50)
            except Exception as exc:  # noqa: BLE001 - the store may be down; the next claim retries
                log.warning("alert ledger unavailable for rule %s: %s", rule.name, exc)
                continue
            sent = [r.delivered.timestamp() for r in recent if r.delivered]
            if sent:
                self._last_sent[rule.name] = max(max(sent), self._last_sent.get(rule.name, 0))
            pending = [r for r in recent if r.delivered is None]
            if not pending and len(recent) == 50:
                pending = self.store.index.list_alerts(rule=rule.name, limit=1, undelivered=True)
            if pending:
                oldest = min(r.created for r in pending)
                self._schedule(rule, self._next_due(rule, oldest))

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> AlertEngine:
        if self._thread is None:
            self._requeue()
            self.evaluate_backlog()  # batches a crash or an outage left unevaluated
            self._thread = threading.Thread(target=self._run, name="alert-delivery", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def drain(self, timeout: float = 60.0) -> bool:
        """Wait until every delivery due by now has been attempted (retries scheduled later are not
        waited for). True when nothing due is left."""
        if self._thread is None:
            self.start()
        deadline = time.monotonic() + timeout
        mark = self.clock()
        with self._cond:
            while self._busy or any(t <= mark for t in self._due.values()):
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return False
                self._cond.wait(min(left, 0.5))
        return True

    def pending(self) -> dict[str, float]:
        with self._cond:
            return dict(self._due)

    # -- delivery thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                now = self.clock()
                due = [name for name, t in self._due.items() if t <= now]
                if not due:
                    wait = min(self._due.values()) - now if self._due else None
                    self._cond.wait(min(wait, 5.0) if wait is not None else 5.0)
                    continue
                for name in due:
                    del self._due[name]
                self._busy = True
            try:
                for name in due:
                    if self._stop.is_set():
                        break
                    self._deliver_rule(name)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _deliver_rule(self, name: str) -> None:
        rule = self._rules.get(name)
        if rule is None:
            return
        try:
            ok = self.deliver(rule)
        except Exception as exc:  # noqa: BLE001 - store down or a bug: back off, the ledger keeps the alert
            log.warning("alert delivery for rule %s failed: %s", name, exc)
            ok = False
        if ok:
            self._failures.pop(name, None)
            return
        failures = self._failures.get(name, 0) + 1
        self._failures[name] = failures
        if failures > self.settings.retry_max:
            log.error("alerts of rule %s still undelivered after %d attempts; retried with the next alert of the "
                      "rule or after a restart", name, failures)
            self._failures.pop(name, None)
            return
        delay = min(self.settings.retry_base * 2 ** (failures - 1), MAX_BACKOFF)
        log.warning("alerts of rule %s: retry %d/%d in %.0fs", name, failures, self.settings.retry_max, delay)
        with self._cond:
            self._due[name] = self.clock() + delay
            self._cond.notify_all()

    def deliver(self, rule: Rule) -> bool:
        """Send the rule's undelivered records now. True when nothing is left undelivered."""
        pending = self.store.index.list_alerts(rule=rule.name, limit=PENDING_LIMIT, undelivered=True)
        if not pending:
            return True
        pending.sort(key=lambda r: (r.created, r.story))
        if rule.mode == "digest" or rule.min_interval:
            now = self.clock()
            last = self._last_sent.get(rule.name)
            if rule.min_interval and last is not None and now < last + rule.min_interval:
                self._schedule(rule, last + rule.min_interval)  # woken early by a new claim
                return True
        groups = [pending] if rule.batched else [[r] for r in pending]
        all_ok, sent_any = True, False
        for records in groups:
            ok, sent = self._send(rule, records)
            all_ok, sent_any = all_ok and ok, sent_any or sent
        if sent_any:
            self._last_sent[rule.name] = self.clock()
        return all_ok

    def _send(self, rule: Rule, records: list[AlertRecord]) -> tuple[bool, bool]:
        """One message per channel for `records`. Returns (every channel has them, any was sent)."""
        words = query_words(rule.query)
        stories = {r.story: resolve(self.store.index, r, words) for r in records}
        ok_all, sent_any = True, not rule.notify
        errors: dict[str, str] = {}
        for channel in rule.notify:
            todo = [r for r in records if channel.key not in r.channels_done]
            if not todo:
                continue
            title, body = compose(rule, [stories[r.story] for r in todo])
            error = self.sender.send(channel, title, body)
            if error is None:
                self.delivered += 1
                sent_any = True
                for r in todo:
                    r.channels_done.append(channel.key)
            else:
                ok_all = False
                errors[channel.key] = f"{channel.label}: {error}"
                log.warning("alert %s not delivered to %s: %s", rule.name, channel.label, error)
        now = datetime.now(UTC).replace(microsecond=0)
        wanted = [c.key for c in rule.notify]
        for r in records:
            missing = [k for k in wanted if k not in r.channels_done]
            r.attempts += 1
            r.last_error = "; ".join(errors[k] for k in missing if k in errors) or None
            if not missing:
                r.delivered = now
                log.warning("ALERT [%s] %s | %s | outlets: %s", rule.name, r.title, r.url,
                            ", ".join(stories[r.story].outlets))
        self._update(rule, records)
        return ok_all, sent_any

    def _update(self, rule: Rule, records: list[AlertRecord]) -> None:
        """Write delivery state, keeping copies that `extend_alert` added since the records were read."""
        with self._ledger:
            current = {r.story: r for r in self.store.index.list_alerts(rule=rule.name, limit=PENDING_LIMIT,
                                                                 undelivered=True)}
            for record in records:
                now = current.get(record.story)
                if now is not None:
                    record.article_ids = list(dict.fromkeys(now.article_ids + record.article_ids))
                    record.sources = list(dict.fromkeys(now.sources + record.sources))
                self.store.index.update_alert(record)


def engine_for(settings, store, start: bool = True) -> AlertEngine | None:
    """The engine for `settings.rules_file` plus the digests of saved searches (`searches.yaml`), or None
    when neither file exists. Raises on a broken one."""
    from ingest.saved import digest_rules

    path = settings.rules_file
    searches = Path(settings.searches_file)
    if not Path(path).exists() and not searches.exists():
        return None

    def extra() -> list[Rule]:
        return digest_rules(searches)

    engine = AlertEngine(store, load_rules(path) + extra(), settings.alerts, rules_file=path)
    engine.extra_rules, engine.extra_files = extra, (searches,)
    engine._rules_mtime = engine._mtime()
    return engine.start() if start else engine
