"""The alert engine on its own: claims per story, rate limits and digests on a controlled clock,
errors kept away from ingest, rules reloaded. (Real SMTP/webhook delivery: test_alerts_pipeline.py.)"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from ingest.alerts import AlertEngine, parse_rules
from ingest.config import AlertSettings
from ingest.models import Article
from ingest.store import open_sqlite

T0 = 1_800_000_000.0  # a multiple of 3600 (and of 60)


class Recorder:
    """Stands in for apprise where the delivery channel is not the subject of the test."""

    def __init__(self, fail: int = 0):
        self.sent: list[tuple[str, str, str]] = []
        self.fail = fail

    def send(self, channel, title, body):
        if self.fail:
            self.fail -= 1
            return "HTTP 503"
        self.sent.append((channel.label, title, body))
        return None


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path):
    s = open_sqlite(tmp_path / "engine.db")
    yield s
    s.close()


def article(n: int, text: str, source: str = "Herald", cluster: str | None = None, **kw) -> Article:
    return Article(id=f"a{n}", url=f"https://herald.test/{n}", title=f"Story {n}: {text}", body=text, source=source,
                   domain=f"{source.lower()}.test", language="en", cluster_id=cluster, **kw)


def engine_for(store, yaml_rules: list[dict], clock=None, sender=None) -> AlertEngine:
    for r in yaml_rules:
        r.setdefault("notify", ["json://127.0.0.1:9/hook"])
    rules = parse_rules({"rules": yaml_rules}, "rules.yaml", env={})
    return AlertEngine(store, rules, AlertSettings(retry_base=1, retry_max=2), sender=sender or Recorder(),
                       clock=clock or Clock(T0))


def stored(store, *articles: Article) -> list[Article]:
    store.index.upsert_articles(list(articles))
    return list(articles)


def test_one_claim_per_story_and_copies_extend(store):
    engine = engine_for(store, [{"name": "drones", "query": "drones"}])
    first = stored(store, article(1, "drones over the harbour", cluster="c1"),
                   article(2, "drones over the harbour", source="Courier", cluster="c1"),
                   article(3, "more drones elsewhere"))
    claimed = engine.evaluate(first)
    assert sorted(r.story for r in claimed) == ["a3", "c1"]
    c1 = next(r for r in claimed if r.story == "c1")
    assert c1.article_ids == ["a1", "a2"] and c1.sources == ["Herald", "Courier"]
    assert engine.evaluate(first) == []                                   # re-evaluated: nothing new
    late = stored(store, article(4, "drones over the harbour", source="Gazette", cluster="c1",
                                 published=datetime.now(UTC) - timedelta(days=40)))   # late and backdated
    assert engine.evaluate(late) == []
    [record] = [r for r in store.index.list_alerts(rule="drones") if r.story == "c1"]
    # Not delivered yet, and the late copy is the story's original (published first): it leads now.
    assert record.sources == ["Gazette", "Herald", "Courier"] and record.article_ids == ["a4", "a1", "a2"]
    assert (record.title, record.url) == (late[0].title, late[0].url)


def test_original_arriving_after_delivery_is_listed_but_does_not_take_the_lead(store):
    sender = Recorder()
    engine = engine_for(store, [{"name": "drones", "query": "drones"}], sender=sender)
    engine.evaluate(stored(store, article(1, "drones over the harbour", cluster="c1")))
    assert engine.deliver(engine.rules[0]) and len(sender.sent) == 1
    copy = article(2, "drones over the harbour", source="Courier", cluster="c1", is_original=False)
    original = article(3, "drones over the harbour", source="Gazette", cluster="c1",
                       published=datetime.now(UTC) - timedelta(days=1))
    assert engine.evaluate(stored(store, copy, original)) == []
    [record] = store.index.list_alerts(rule="drones")
    assert record.article_ids == ["a1", "a3", "a2"] and record.url == "https://herald.test/1"   # history kept
    assert len(sender.sent) == 1


def test_min_interval_batches_stories_that_arrive_meanwhile(store):
    clock, sender = Clock(T0), Recorder()
    engine = engine_for(store, [{"name": "burst", "query": "strike", "min_interval": "1m"}], clock, sender)
    engine.evaluate(stored(store, article(1, "strike at the port")))
    assert engine.pending() == {"burst": T0}
    assert engine.deliver(engine.rules[0]) and len(sender.sent) == 1
    engine._due.clear()
    engine.evaluate(stored(store, article(2, "strike spreads")))
    engine.evaluate(stored(store, article(3, "strike ends")))
    assert engine.pending() == {"burst": T0 + 60}                         # not before the interval is over
    clock.now = T0 + 10
    engine.deliver(engine.rules[0])                                        # woken early: sends nothing
    assert len(sender.sent) == 1
    clock.now = T0 + 61
    engine.deliver(engine.rules[0])
    assert len(sender.sent) == 2 and sender.sent[1][1] == "[burst] 2 new stories"
    assert "Story 2" in sender.sent[1][2] and "Story 3" in sender.sent[1][2]
    assert store.index.list_alerts(rule="burst", undelivered=True) == []


def test_digest_due_on_interval_boundaries_and_after_downtime(store):
    clock = Clock(T0 + 100)
    engine = engine_for(store, [{"name": "daily", "query": "harbour", "digest": {"every": "1h"}}], clock)
    rule = engine.rules[0]
    assert rule.mode == "digest"
    assert engine._next_due(rule) == T0 + 3600
    overdue = datetime.fromtimestamp(T0 - 10, UTC)                        # pending since before the boundary
    assert engine._next_due(rule, oldest=overdue) == T0 + 100             # we were down: send now


def test_failures_back_off_and_other_channels_are_not_resent(store):
    clock, sender = Clock(T0), Recorder(fail=1)
    engine = engine_for(store, [{"name": "two", "query": "storm",
                                 "notify": ["json://127.0.0.1:9/a", "json://127.0.0.1:9/b"]}], clock, sender)
    engine.evaluate(stored(store, article(1, "storm warning")))
    engine._due.clear()
    engine._deliver_rule("two")                                            # channel a fails, b gets it
    [record] = store.index.list_alerts(rule="two")
    assert record.delivered is None and len(record.channels_done) == 1 and "HTTP 503" in record.last_error
    assert engine.pending() == {"two": T0 + 1}                             # retry_base * 2**0
    engine._deliver_rule("two")
    [record] = store.index.list_alerts(rule="two")
    assert record.delivered is not None and record.attempts == 2 and record.last_error is None
    assert [label for label, _, _ in sender.sent] == ["json://127.0.0.1:9/***"] * 2   # b once, then a once


def test_errors_never_reach_ingest(store, caplog):
    engine = engine_for(store, [{"name": "x", "query": "storm"}])

    def broken(*args):
        raise RuntimeError("search engine down")

    store.index.match_rules = broken
    with caplog.at_level(logging.ERROR):
        engine.on_stored([article(1, "storm")])
    assert "alert evaluation failed" in caplog.text


def test_rules_reload_when_the_file_changes(tmp_path, store):
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - name: a\n    query: storm\n")
    from ingest.alerts import load_rules

    engine = AlertEngine(store, load_rules(path), rules_file=path, sender=Recorder())
    assert not engine.reload_if_changed()
    path.write_text("rules:\n  - name: b\n    query: flood\n")
    import os

    os.utime(path, (T0, T0))
    assert engine.reload_if_changed() and [r.name for r in engine.rules] == ["b"]
    path.write_text("rules:\n  - name: c\n    query: 'flood AND ('\n")
    os.utime(path, (T0 + 5, T0 + 5))
    assert not engine.reload_if_changed() and [r.name for r in engine.rules] == ["b"]   # broken: kept
