"""Volume alerts (mode: volume) on both backends: a synthetic spike fires one alert that explains
itself (counts, over-represented keywords, top stories); the same episode does not fire again; a
quiet topic never fires; a source going silent fires a drop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.alerts import AlertEngine, parse_rules
from ingest.alerts.volume import measure
from ingest.config import AlertSettings
from ingest.models import Article

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class Recorder:
    """Stands in for apprise: the channel is not the subject here (real delivery: test_alerts_pipeline)."""

    def __init__(self):
        self.sent: list[tuple[str, str]] = []

    def send(self, channel, title, body):
        self.sent.append((title, body))
        return None


def art(n: int, when: datetime, title: str, body: str, source: str = "Blatt", keywords=()) -> Article:
    return Article(id=f"v{n:05d}", url=f"https://{source.lower()}.test/{n}", title=title, body=body, source=source,
                   domain=f"{source.lower()}.test", language="de", published=when, indexed=when,
                   keywords=list(keywords), content_hash=f"h{n}")


def corpus() -> list[Article]:
    arts, n = [], 0
    for day in range(1, 15):            # baseline: one harbour story a day, a wire service 10 a day
        when = NOW - timedelta(days=day, hours=5)
        arts.append(art(n, when, f"Hafen Tag {day}", "Am Hafen wurde verhandelt.", keywords=["Hafen"]))
        n += 1
        for k in range(10):
            arts.append(art(n, when + timedelta(minutes=k), f"Meldung {n}", "Eine Meldung vom Tage.", source="Wire"))
            n += 1
    for k in range(9):                   # the window: a harbour strike, with a new keyword
        arts.append(art(n, NOW - timedelta(hours=2 + k), f"Hafenstreik Update {k}",
                        "Die Hafenarbeiter streiken, der Hafen steht still.", keywords=["Hafen", "Hafenstreik"]))
        n += 1
    arts.append(art(n, NOW - timedelta(hours=3), "Zoo", "Im Zoo kam ein Elefant zur Welt.", keywords=["Zoo"]))
    arts.append(art(n + 1, NOW - timedelta(hours=4), "Zoo 2", "Der Elefant im Zoo wächst.", keywords=["Zoo"]))
    return arts


RULES = [
    {"name": "harbour-spike", "query": "Hafen*", "mode": "volume",
     "volume": {"window": "1d", "baseline": "14d", "ratio": 3, "min_count": 5}},
    {"name": "zoo-spike", "query": "Zoo", "mode": "volume", "volume": {"window": "1d", "min_count": 5}},
    {"name": "wire-silent", "query": "Meldung", "sources": ["Wire"], "mode": "volume",
     "volume": {"window": "1d", "direction": "down", "ratio": 4, "min_count": 5}},
]


@pytest.fixture
def engine(store):
    store.index.upsert_articles(corpus())
    flush = (store.index.outbox.flush if store.index.outbox else None)
    if flush:
        flush()
    rules = parse_rules({"rules": [dict(r, notify=["json://127.0.0.1:9/hook"]) for r in RULES]}, "rules.yaml", env={})
    sender = Recorder()
    eng = AlertEngine(store, rules, AlertSettings(retry_base=1, retry_max=1), sender=sender)
    eng.sender_log = sender
    yield eng
    eng.close()


def test_spike_fires_once_and_explains_itself_quiet_topic_never(engine, store):
    by_name = {r.name: r for r in engine.rules}
    reading = measure(store.index, by_name["harbour-spike"], NOW)
    assert (reading.window_count, reading.baseline_count, reading.direction) == (9, 14, "up")
    assert reading.keywords[0] == "Hafenstreik"           # new in the window: over-represented
    assert measure(store.index, by_name["zoo-spike"], NOW).direction is None   # 2 articles: below min_count
    claimed = engine.check_volume(NOW)
    assert sorted(r.rule for r in claimed) == ["harbour-spike", "wire-silent"]
    assert engine.check_volume(NOW) == []                 # once per spike
    later = NOW + timedelta(hours=20)                     # next slot, still elevated: the same episode
    assert [r.rule for r in engine.check_volume(later)] == []
    assert engine.drain(10)
    titles = [t for t, _ in engine.sender_log.sent]
    assert len(titles) == 2
    spike_title, spike_body = next((t, b) for t, b in engine.sender_log.sent if "harbour-spike" in t)
    assert "spike: 9 articles in the last 1 day" in spike_title and "Hafenstreik" in spike_title
    assert "Hafenstreik Update" in spike_body and "Matched: " in spike_body   # a top story with its passage
    drop_title = next(t for t in titles if "wire-silent" in t)
    assert "drop: 0 articles" in drop_title


def test_volume_rules_are_not_matched_per_article(engine, store):
    assert engine.evaluate(corpus()[-5:]) == []   # only volume rules: nothing per batch


@pytest.mark.parametrize(("volume", "problem"), [
    ({"window": "1x"}, "volume.window"), ({"ratio": 1}, "volume.ratio"), ({"min_count": 0}, "volume.min_count"),
    ({"direction": "sideways"}, "volume.direction"), ({"window": "7d", "baseline": "1d"}, "volume.baseline"),
    ({"colour": "red"}, "volume.colour")])
def test_bad_volume_settings_name_the_key(volume, problem):
    from ingest.alerts.rules import RulesError

    with pytest.raises(RulesError) as exc:
        parse_rules({"rules": [{"name": "v", "query": "x", "mode": "volume", "volume": volume}]}, "rules.yaml", env={})
    assert any(key.endswith(problem) for key, _ in exc.value.problems)
