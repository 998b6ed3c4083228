"""rules.yaml: the minimal form, every optional key, and errors that name the file and the key."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from ingest.alerts.delivery import Copy, Story, compose, register_secrets
from ingest.alerts.rules import RulesError, load_rules, parse_duration, parse_rules, redact_url
from ingest.errors import ConfigError
from ingest.models import Article
from ingest.store.base import AlertRecord

MINIMAL = """
rules:
  - name: iran-venezuela
    query: 'Iran AND Venezuela'
    notify: ['json://127.0.0.1:8025/hook']   # apprise URLs
    mode: instant
"""


def load(tmp_path, text: str, env: dict | None = None):
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return load_rules(path, env=env or {})


def problems(tmp_path, text: str, env: dict | None = None) -> list[tuple[str, str]]:
    with pytest.raises(RulesError) as info:
        load(tmp_path, text, env)
    return info.value.problems


def test_minimal_form_loads(tmp_path):
    [rule] = load(tmp_path, MINIMAL)
    assert (rule.name, rule.query, rule.mode, rule.enabled) == ("iran-venezuela", "Iran AND Venezuela", "instant", True)
    assert [c.url for c in rule.notify] == ["json://127.0.0.1:8025/hook"]
    assert rule.notify[0].label == "json://127.0.0.1:8025/***"
    assert not rule.batched and rule.digest_every is None


def test_shipped_example_is_valid():
    from pathlib import Path

    rules = load_rules(Path(__file__).resolve().parent.parent / "config" / "rules.yaml", env={})
    assert rules[0].name == "iran-venezuela" and {r.mode for r in rules} == {"instant", "digest", "volume"}


def test_optional_keys_and_env_secrets(tmp_path):
    env = {"SMTP_PASSWORD": "pa55-w0rd-xyz", "SLACK_A": "T0AAAAAAA", "SLACK_B": "B0BBBBBBB", "SLACK_C": "cccccccccccccccc"}
    rules = load(tmp_path, """
rules:
  - name: digest.daily
    query: '(Drohne* OR drone*) AND Export*'
    sources: [Harbour Herald, example.org]
    languages: [de, en]
    tags: Politik
    mode: digest
    digest: {every: 1d}
    max_age: 72h
    notify:
      - 'mailtos://alerts:${SMTP_PASSWORD}@smtp.example.org?to=desk@example.org'
      - 'slack://${SLACK_A}/${SLACK_B}/${SLACK_C}/#newsdesk'
  - name: burst
    query: Streik
    min_interval: 15m
    enabled: false
    description: quiet
""", env)
    daily, burst = rules
    assert daily.mode == "digest" and daily.digest_every == 86400 and daily.max_age == 72 * 3600
    assert daily.sources == ["Harbour Herald", "example.org"] and daily.tags == ["Politik"] and daily.batched
    assert "pa55-w0rd-xyz" in daily.notify[0].url
    for channel in daily.notify:
        for secret in env.values():
            assert secret not in channel.label and secret not in repr(channel) and secret not in str(daily.summary())
        assert channel.scrub(f"failed: {channel.url}").count("***") >= 1
    assert daily.notify[0].label == "mailtos://***@smtp.example.org?***"
    assert daily.notify[1].label.startswith("slack://***")
    assert (burst.min_interval, burst.enabled, burst.mode, burst.batched) == (900, False, "instant", True)


def test_errors_name_file_and_key(tmp_path):
    found = problems(tmp_path, """
rules:
  - name: fine
    query: Iran
  - name: no-query
  - name: bad-query
    query: 'Iran AND ('
  - name: bad channels
    query: Iran
    notify: ['nosuchscheme://x', 'json://${NOT_SET_ANYWHERE}@127.0.0.1/h']
    mode: weekly
    colour: red
  - name: digest-without-schedule
    query: Iran
    mode: digest
  - name: durations
    query: Iran
    min_interval: soon
    max_age: -3
  - name: fine
    query: Venezuela
""")
    keys = [k for k, _ in found]
    assert keys == ["rules[1].query", "rules[2].query", "rules[3].colour", "rules[3].name", "rules[3].notify[0]",
                    "rules[3].notify[1]", "rules[3].mode", "rules[4].digest", "rules[5].min_interval",
                    "rules[5].max_age", "rules[6].name"]
    messages = dict(found)
    assert messages["rules[2].query"].startswith("invalid query: ") and "at position 10" in messages["rules[2].query"]
    assert messages["rules[3].notify[1]"] == "environment variable NOT_SET_ANYWHERE is not set"
    assert "nosuchscheme://***" in messages["rules[3].notify[0]"]
    assert "already the name of rules[0]" in messages["rules[6].name"]


def test_error_message_format_and_yaml_syntax(tmp_path):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "rules:\n  - name: a\n    query: Iran\n  - name: b\n    query: x\n  - name: c\n"
                       "    query: 'Iran AND NOT'\n")
    text = str(info.value)
    assert text.startswith(f"{tmp_path / 'rules.yaml'}: rules[2].query: invalid query: ")
    assert "at position" in text and "\n" not in text
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "rules:\n  - name: [unclosed\n")
    assert "line" in info.value.key and "invalid YAML" in str(info.value)
    with pytest.raises(ConfigError, match="expected a list of rules"):
        load(tmp_path, "rules: {name: x}\n")


def test_missing_file_and_empty_file(tmp_path):
    assert load_rules(tmp_path / "nope.yaml") == []
    with pytest.raises(ConfigError, match="file not found"):
        load_rules(tmp_path / "nope.yaml", missing_ok=False)
    assert load(tmp_path, "") == [] and load(tmp_path, "rules: []\n") == []


def test_durations_and_redaction():
    assert [parse_duration(v) for v in (90, "90s", "15m", "1h", "1.5h", "2d", "1w")] == [
        90, 90, 900, 3600, 5400, 172800, 604800]
    for bad in ("soon", 0, "-1h", True):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert redact_url("json://127.0.0.1:8025/hook") == "json://127.0.0.1:8025/***"
    assert redact_url("tgram://123456:AAE-bot-token/987654").startswith("tgram://***")
    assert "123456" not in redact_url("tgram://123456:AAE-bot-token/987654")
    assert redact_url("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js") == "discord://***/***"
    assert redact_url("ntfy://ntfy.example.org/topic?auth=token") == "ntfy://ntfy.example.org/***?***"


def test_filters():
    rule = parse_rules({"rules": [{"name": "r", "query": "x", "sources": ["harbour herald", "example.org"],
                                   "languages": ["DE"], "tags": ["politik"], "max_age": "2d"}]}, "rules.yaml")[0]
    now = datetime(2026, 11, 20, tzinfo=UTC)

    def art(**kw) -> Article:
        base = dict(id="a", url="https://x", title="t", body="b", source="Harbour Herald", domain="herald.test",
                    language="de", tags=["Politik"], published=now - timedelta(hours=1))
        base.update(kw)
        return Article(**base)

    assert rule.accepts(art(), now)
    assert rule.accepts(art(source="Other", domain="news.example.org"), now)   # domain or subdomain
    assert not rule.accepts(art(source="Other", domain="example.com"), now)
    assert not rule.accepts(art(language="en"), now)
    assert not rule.accepts(art(tags=["Sport"]), now)
    assert not rule.accepts(art(published=now - timedelta(days=3)), now)        # backfill of old news
    assert rule.accepts(art(published=None), now)


def test_message_lists_outlets_and_secrets_never_logged(tmp_path, caplog):
    [rule] = load(tmp_path, "rules:\n  - name: r\n    query: Iran\n    notify: ['json://127.0.0.1:1/h/${TOKEN}']\n",
                  {"TOKEN": "very-secret-token-42"})
    record = AlertRecord(rule="r", story="s", article_ids=["a", "b"], sources=["Herald", "Courier"],
                         title="Drone deal", url="https://herald.test/deal", created=datetime.now(UTC))
    title, body = compose(rule, [Story(record, [Copy("Herald", "https://herald.test/deal"),
                                                Copy("Courier", "https://courier.test/d")])])
    assert title == "[r] Drone deal"
    assert "Outlets (2): Herald, Courier" in body and "https://courier.test/d" in body and "Rule r: Iran" in body
    register_secrets([rule])
    with caplog.at_level(logging.WARNING):
        logging.getLogger("apprise").warning("failed to post to %s", rule.notify[0].url)
        logging.getLogger("ingest.alerts").warning("failed: %s", rule.notify[0].url)
    assert "very-secret-token-42" not in caplog.text and caplog.text.count("***") >= 2
