"""`ingest rules ...` and `ingest alerts ...` through ingest.cli.main.main, on a real SQLite file."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_alerts_pipeline import Webhook, outlets  # noqa: E402,F401 - `outlets` is a fixture

from ingest.cli.main import main  # noqa: E402


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INGEST_ALLOW_NETWORKS", "127.0.0.1/32")
    monkeypatch.setenv("INGEST_EXTRACT__WORKERS", "1")
    config = tmp_path / "config"
    config.mkdir()
    base = ["--config", str(config), "--db", str(tmp_path / "ingest.db")]

    def call(*argv) -> tuple[int, str, str]:
        code = main([*argv, *base])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    call.config = config
    return call


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_rules_and_alerts_commands(cli, outlets, webhook, monkeypatch):  # noqa: F811 - fixture
    monkeypatch.setenv("DESK_HOOK", f"127.0.0.1:{webhook.port}/desk-5ecret")
    (cli.config / "rules.yaml").write_text("""
rules:
  - name: iran-venezuela
    query: 'Iran AND Venezuela'
    notify: ['json://${DESK_HOOK}']
  - name: harbour
    query: harbour AND strike
    languages: [de]
""", encoding="utf-8")
    code, out, _ = cli("rules", "validate")
    assert code == 0 and "2 rules, 1 notification channel(s): OK" in out
    code, out, _ = cli("rules", "list", "--json")
    listed = lines(out)
    assert [r["name"] for r in listed] == ["iran-venezuela", "harbour"]
    assert listed[0]["notify"] == [f"json://127.0.0.1:{webhook.port}/***"] and "5ecret" not in out
    code, out, _ = cli("rules", "list")
    assert code == 0 and "iran-venezuela" in out and "5ecret" not in out

    for feed in (outlets["herald"], outlets["courier"]):
        assert cli("feeds", "add", feed.url, "--name", feed.name)[0] == 0
    code, out, err = cli("run", "--once", "--json")
    assert code == 0, err
    assert len(webhook.delivered) == 2 and all(p == "/desk-5ecret" for _, p, _ in webhook.received)

    code, out, _ = cli("alerts", "list", "--json")
    alerts = lines(out)
    assert len(alerts) == 2 and {a["rule"] for a in alerts} == {"iran-venezuela"}
    deal = next(a for a in alerts if "drone" in a["title"])
    assert set(deal["sources"]) == {"Harbour Herald", "Caribbean Courier"} and deal["delivered"]
    assert cli("alerts", "list", "--rule", "harbour", "--json")[1] == ""
    code, out, _ = cli("alerts", "list")
    assert code == 0 and "Caribbean" in out and "iran-venezu" in out

    code, out, _ = cli("rules", "test", "iran-venezuela", "--json")
    result = json.loads(out)
    assert result["stories"] == 2 and all(m["alerted"] and m["passes_filters"] for m in result["matches"])
    code, out, _ = cli("rules", "test", "harbour", "--json")
    [match] = json.loads(out)["matches"]
    assert not match["passes_filters"] and not match["alerted"]       # English article, rule wants German

    code, out, _ = cli("rules", "preview", "Iran AND Venezuela", "--days", "3", "--json")
    preview = json.loads(out)
    today = datetime.now(UTC).date().isoformat()
    assert preview["total"] == 3 and len(preview["per_day"]) == 3     # two copies of the deal + flights
    assert preview["per_day"][-1] == {"day": today, "matches": 3}
    code, out, _ = cli("rules", "preview", "Venezuela", "--days", "2")
    assert code == 0 and today in out and "4 matching articles" in out

    code, out, err = cli("rules", "test", "nope")
    assert code == 2 and "no rule named 'nope'" in err and "iran-venezuela" in err
    code, out, err = cli("rules", "preview", "Iran AND (")
    assert code == 2 and "invalid query" in err and "position" in err


def test_validate_lists_every_problem(cli):
    (cli.config / "rules.yaml").write_text("""
rules:
  - name: fine
    query: Iran
  - name: broken
    query: 'Iran AND ('
    notify: ['json://${NO_SUCH_VARIABLE_HERE}/x']
    mode: hourly
""", encoding="utf-8")
    code, out, err = cli("rules", "validate")
    assert code == 2
    rules_file = cli.config / "rules.yaml"
    assert f"error: {rules_file}: rules[1].query: invalid query: " in err and "at position" in err
    assert f"{rules_file}: rules[1].notify[0]: environment variable NO_SUCH_VARIABLE_HERE is not set" in err
    assert f"{rules_file}: rules[1].mode: 'hourly': expected instant, digest, volume or developments" in err
    code, out, _ = cli("rules", "validate", "--json")
    assert code == 2 and [p["key"] for p in json.loads(out)["problems"]] == [
        "rules[1].query", "rules[1].notify[0]", "rules[1].mode"]
    code, _, err = cli("rules", "list")                 # other commands: one line naming the first problem
    assert code == 2 and "rules[1].query: invalid query" in err and "(and 2 more problems)" in err


def test_missing_rules_file(cli):
    code, _, err = cli("rules", "list")
    assert code == 2 and "rules.yaml: file not found" in err
    code, out, _ = cli("alerts", "list", "--json")
    assert code == 0 and out == ""
