"""Volume alerts (`mode: volume`): a query's coverage spiking or dropping against its own baseline.

Checked on a clock, not per batch: the daemon every few minutes, `run --once` after its cycle,
`ingest rules test NAME` on demand. Counts are by `published` (so a backfill of old articles never
looks like a spike) over the rule's query and filters, on either backend:

    window    = [now - window, now)                        e.g. the last day
    baseline  = [now - window - baseline, now - window)    e.g. the 14 days before it
    expected  = baseline count x window / baseline         the usual count for one window

A spike fires when the window holds at least `min_count` matches and at least `ratio` times the
expected count; a drop when the expected count is at least `min_count` and the window holds at most
expected / ratio. Quiet topics therefore never page anyone.

Once per spike: an episode is a ledger record (the same once-per-story ledger as article alerts)
whose story key is the direction plus the window-sized time slot the episode started in. While the
condition keeps holding in the next slots the episode goes on (its slot is claimed silently, already
marked delivered); when it ends and later comes back, that is a new spike. The message explains
the spike: counts, rates, the keywords over-represented in the window (against the baseline) and
the window's top stories, whose passages and outlets the normal message carries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from ingest.alerts.rules import Rule
from ingest.store.base import AlertRecord, SearchRequest

if TYPE_CHECKING:
    from ingest.store.protocols import Index

log = logging.getLogger("ingest.alerts")
TOP_STORIES = 5
TOP_KEYWORDS = 6


Change = Literal["up", "down"]


@dataclass(slots=True)
class VolumeReading:
    rule: str
    window_count: int
    baseline_count: int
    expected: float                 # baseline count scaled to one window
    direction: Change | None        # when the condition holds now, else None
    window_start: datetime
    now: datetime
    keywords: list[str] = field(default_factory=list)
    top_ids: list[str] = field(default_factory=list)
    top_url: str = ""

    def describe(self, spec) -> str:
        days = spec.window / 86400
        unit = f"{days:g} day{'s' * (days != 1)}" if spec.window >= 86400 else f"{spec.window / 3600:g} h"
        base = f"{self.expected:.1f} expected from the {spec.baseline / 86400:g} days before"
        what = {"up": "spike", "down": "drop", None: "no change"}[self.direction]
        text = f"{what}: {self.window_count} articles in the last {unit} ({base})"
        return text + (f"; over-represented: {', '.join(self.keywords)}" if self.keywords else "")

    def to_dict(self) -> dict:
        return {"rule": self.rule, "window_count": self.window_count, "baseline_count": self.baseline_count,
                "expected": round(self.expected, 2), "direction": self.direction,
                "window_start": self.window_start.isoformat(), "keywords": self.keywords, "top": self.top_ids}


def _request(rule: Rule, since: datetime, until: datetime, **kw) -> SearchRequest:
    return SearchRequest(query=rule.query, sources=list(rule.sources), languages=list(rule.languages),
                         tags=list(rule.tags), since=since, until=until, **kw)


def measure(index: Index, rule: Rule, now: datetime | None = None) -> VolumeReading:
    spec = rule.volume
    assert spec is not None, "measure() is for mode: volume rules"
    now = now or datetime.now(UTC)
    start = now - timedelta(seconds=spec.window)
    base_start = start - timedelta(seconds=spec.baseline)
    window = index.search(_request(rule, start, now, limit=TOP_STORIES * 4))
    window_count = index.search(_request(rule, start, now, limit=1)).total  # every copy counts as coverage
    baseline_count = index.search(_request(rule, base_start, start, limit=1)).total
    expected = baseline_count * spec.window / spec.baseline
    direction: Change | None = None
    if spec.direction in ("up", "both") and window_count >= spec.min_count and \
            window_count >= spec.ratio * max(expected, 1e-9):
        direction = "up"
    elif spec.direction in ("down", "both") and expected >= spec.min_count and \
            window_count <= expected / spec.ratio:
        direction = "down"
    reading = VolumeReading(rule=rule.name, window_count=window_count, baseline_count=baseline_count,
                            expected=expected, direction=direction, window_start=start, now=now,
                            top_ids=_one_per_story(window.hits)[:TOP_STORIES],
                            top_url=window.hits[0].url if window.hits else "")
    if direction == "up":
        reading.keywords = over_represented(index, rule, start, now, base_start)
    return reading


def _one_per_story(hits) -> list[str]:
    seen: set[str] = set()
    out = []
    for h in hits:
        key = h.cluster_id or h.id
        if key not in seen:
            seen.add(key)
            out.append(h.id)
    return out


def over_represented(index, rule: Rule, start: datetime, now: datetime, base_start: datetime) -> list[str]:
    """Keywords far more frequent in the window than in the baseline (smoothed ratio of shares)."""
    recent = dict(index.facet(_request(rule, start, now), "keywords", 50))
    before = dict(index.facet(_request(rule, base_start, start), "keywords", 500))
    n_recent, n_before = sum(recent.values()) or 1, sum(before.values()) or 1
    scored = [((count / n_recent) / ((before.get(k, 0) + 1) / (n_before + 1)), k)
              for k, count in recent.items() if count >= 2]
    return [k for _, k in sorted(scored, key=lambda x: (-x[0], x[1]))[:TOP_KEYWORDS]]


def _slot(moment: datetime, seconds: float) -> int:
    return int(moment.timestamp() // seconds)


def check(index: Index, rule: Rule, now: datetime | None = None) -> AlertRecord | None:
    """Measure the rule and claim a new episode when its condition starts holding. Returns the record
    to deliver (a new spike or drop), or None (nothing, or an episode that goes on)."""
    reading = measure(index, rule, now)
    if reading.direction is None:
        return None
    spec = rule.volume
    assert spec is not None  # measure() checked it
    slot = _slot(reading.now, spec.window)
    story = f"volume:{reading.direction}:{slot}"
    ongoing = {r.story for r in index.list_alerts(rule=rule.name, limit=5)}
    title = f"{rule.query}: {reading.describe(spec)}"
    record = AlertRecord(rule=rule.name, story=story, article_ids=reading.top_ids, sources=[], title=title[:300],
                         url=reading.top_url, created=reading.now.replace(microsecond=0))
    if f"volume:{reading.direction}:{slot - 1}" in ongoing:  # the same episode, one slot later: no new alert
        record.delivered = record.created
        if index.claim_alert(record):
            index.update_alert(record)
        return None
    if index.claim_alert(record):
        log.warning("volume alert claimed: rule %s: %s", rule.name, title)
        return record
    return None
