"""Pieces of the web app that need no store: snippets, buckets, CSV cells, tokens, rules files."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from fastapi import HTTPException

from ingest.app import filters, timeline
from ingest.web import format as fmt
from ingest.web.api import _cell
from ingest.web.security import bearer, check_write, is_loopback


def test_snippet_marks_become_mark_and_everything_else_is_escaped():
    out = str(fmt.snippet_html('<b>Die</b> [Drohnen] & "mehr" [x y] [Über]'))
    assert out == ('&lt;b&gt;Die&lt;/b&gt; <mark>Drohnen</mark> &amp; &#34;mehr&#34; [x y] <mark>Über</mark>')
    assert str(fmt.snippet_html("[<script>]")) == "[&lt;script&gt;]"
    assert fmt.snippet_plain("a [b] c") == "a b c"
    assert str(fmt.snippet_html(None)) == ""


def test_csv_cells_never_start_a_formula():
    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _cell("+1") == "'+1" and _cell("@x") == "'@x"
    assert _cell("plain") == "plain" and _cell("") == ""


def test_filters_dates():
    f = filters.Filters.make("2026-11-01", "2026-11-02", ["A", " "], [], [])
    since, until = f.bounds()
    assert since == datetime(2026, 11, 1, tzinfo=UTC) and until == datetime(2026, 11, 3, tzinfo=UTC)
    assert f.sources == ["A"]
    with pytest.raises(filters.InputError):
        filters.Filters.make("2026-11-05", "2026-11-01")
    with pytest.raises(filters.InputError):
        filters.Filters.make("05.11.2026")


def test_bucket_filling_spans_the_range():
    d = lambda day: datetime(2026, 11, day, tzinfo=UTC)  # noqa: E731
    keys = timeline.bucket_keys([d(3), d(6)], None, None, "day")
    assert keys == [d(3), d(4), d(5), d(6)]
    keys = timeline.bucket_keys([d(3)], d(1), d(5), "day")
    assert keys == [d(1), d(2), d(3), d(4)]
    weeks = timeline.bucket_keys([d(2), d(16)], None, None, "week")
    assert weeks == [d(2), d(9), d(16)]
    months = timeline.bucket_keys([datetime(2026, 1, 1, tzinfo=UTC)], None, datetime(2026, 4, 1, tzinfo=UTC), "month")
    assert [k.month for k in months] == [1, 2, 3]
    assert timeline.bucket_keys([], None, None, "day") == []
    assert timeline.choose_interval(d(1), d(2)) == "hour" and timeline.choose_interval(d(1), d(30)) == "day"


def test_combine_queries_validates_each():
    assert filters.combine(["a", " ", "b OR c"]) == "(a) OR (b OR c)"
    assert filters.combine(["a"]) == "a" and filters.combine([]) == ""
    from ingest.errors import QueryError

    with pytest.raises(QueryError) as exc:
        filters.combine(["ok", "(broken"])
    assert exc.value.query == "(broken"


def test_write_token_checks():
    check_write("s3cret", "s3cret", "X")
    for supplied, code in ((None, 401), ("", 401), ("s3cre", 401), ("s3cret ", 401)):
        with pytest.raises(HTTPException) as exc:
            check_write("s3cret", supplied, "X")
        assert exc.value.status_code == code
    with pytest.raises(HTTPException) as exc:
        check_write(None, "anything", "INGEST_WEB_TOKEN")
    assert exc.value.status_code == 403 and "INGEST_WEB_TOKEN" in exc.value.detail
    assert bearer("Bearer abc", None) == "abc" and bearer(None, "def") == "def" and bearer(None, None, "f") == "f"
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")


def _app(tmp_path):
    settings = SimpleNamespace(rules_file=tmp_path / "rules.yaml")
    return SimpleNamespace(settings=settings)


def test_save_rule_appends_and_keeps_comments(tmp_path):
    from ingest.app.alerts import rule_views, save_rule

    app = _app(tmp_path)
    assert rule_views(app.settings.rules_file) == ([], None)
    save_rule(app.settings.rules_file, "first", "Drohne*")          # creates the file
    text = (tmp_path / "rules.yaml").read_text()
    assert text.startswith("rules:\n")
    (tmp_path / "rules.yaml").write_text("# my comment\n" + text)
    save_rule(app.settings.rules_file, "second", 'title:"Öl" OR Gas', "with a description")
    text = (tmp_path / "rules.yaml").read_text()
    assert text.startswith("# my comment\nrules:\n")
    rules, note = rule_views(app.settings.rules_file)
    assert note is None and [(r.name, r.query) for r in rules] == [("first", "Drohne*"), ("second", 'title:"Öl" OR Gas')]
    assert rules[1].description == "with a description"
    with pytest.raises(filters.InputError):
        save_rule(app.settings.rules_file, "first", "x")
    with pytest.raises(filters.InputError):
        save_rule(app.settings.rules_file, "no spaces", "x")


def test_invalid_rules_file_still_lists_rules_with_a_note(tmp_path):
    from ingest.app.alerts import rule_views

    app = _app(tmp_path)
    (tmp_path / "rules.yaml").write_text("rules:\n  - name: a\n    query: '(broken'\n  - name: b\n    query: ok\n")
    rules, note = rule_views(app.settings.rules_file)
    assert [r.name for r in rules] == ["a", "b"]
    assert note and "rules" in note


def test_links_only_to_http_urls():
    from ingest.web.server import _safe_url

    assert _safe_url("https://example.org/a") == "https://example.org/a"
    assert _safe_url("javascript:alert(1)") == "#" and _safe_url("data:text/html,x") == "#" and _safe_url(None) == "#"
