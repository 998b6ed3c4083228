"""What a user sees when something is wrong: one line naming the file, key, variable or path, never a
traceback without --debug, and never a secret (issue 16 item 7, issue 21 items 5 and 6).

The CLI runs as the user runs it (a subprocess, so --debug logging of urllib3, elastic_transport and
httpx really reaches stderr); the web app through FastAPI's TestClient over every GET route.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from loopback import Reply, article_page, rss

from ingest.cli.main import main
from ingest.config import load_settings
from ingest.errors import ConfigError, StoreError

ROOT = Path(__file__).resolve().parent.parent
ES_PASSWORD = "Pw-9f1c-s3cr3t-es"
HOOK_TOKEN = "tok-77ab-s3cr3t-hook"

BOMB = "".join([
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n',
    *(f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)),
])


def cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m ingest ARGS` as a user runs it."""
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "ingest", *args], capture_output=True, text=True, env=full,
                          timeout=timeout, cwd=str(ROOT))


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- config files: encodings, quoted booleans, alias bombs, environment variables ------------------


@pytest.mark.parametrize("name", ["feeds.yaml", "settings.yaml", "rules.yaml"])
def test_non_utf8_config_file_names_file_and_byte(config_dir, tmp_path, capsys, name):
    body = {"feeds.yaml": "feeds:\n  - url: http://news.example/rss\n    name: Caf\u00e9 Zeitung\n",
            "settings.yaml": "fetch:\n  user_agent: Caf\u00e9 bot\n",
            "rules.yaml": "rules:\n  - name: x\n    query: Caf\u00e9\n"}[name]
    data = body.encode("latin-1")
    (config_dir / name).write_bytes(data)
    command = ["rules", "list"] if name == "rules.yaml" else ["status"]
    code = main([*command, "--config", str(config_dir), "--db", str(tmp_path / "x.db")])
    line = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in line
    offset = data.index(b"\xe9")
    assert line.startswith(f"error: {config_dir / name}: not UTF-8 text: byte 0xe9 at byte offset {offset} "), line


def test_non_utf8_site_rules_file(config_dir, tmp_path, capsys):
    (config_dir / "sites").mkdir()
    (config_dir / "sites" / "x.yaml").write_bytes("domain: example.org\nstrip_text: ['^Lesen Sie auch \u00fc']\n"
                                                   .encode("latin-1"))
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>x</p></body></html>")
    code = main(["extract", str(page), "--url", "https://example.org/a", "--config", str(config_dir),
                 "--db", str(tmp_path / "x.db")])
    assert code == 2
    assert f"{config_dir / 'sites' / 'x.yaml'}: not UTF-8 text: byte 0xfc" in capsys.readouterr().err


def test_quoted_booleans_are_read_as_booleans(config_dir, tmp_path, capsys):
    (config_dir / "feeds.yaml").write_text("""feeds:
  - url: http://a.example/rss
    enabled: "false"
  - url: http://b.example/rss
    enabled: 'no'
  - url: http://c.example/rss
    enabled: "true"
  - url: http://d.example/rss
""", encoding="utf-8")
    assert main(["feeds", "list", "--json", "--config", str(config_dir), "--db", str(tmp_path / "x.db")]) == 0
    feeds = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [f["enabled"] for f in feeds] == [False, False, True, True]

    (config_dir / "feeds.yaml").write_text("feeds:\n  - url: http://a.example/rss\n    enabled: maybe\n")
    assert main(["feeds", "list", "--config", str(config_dir), "--db", str(tmp_path / "x.db")]) == 2
    assert (f"error: {config_dir / 'feeds.yaml'}: feeds[0].enabled: expected true or false, got 'maybe'"
            in capsys.readouterr().err)


def test_disabled_by_quoted_false_is_never_polled(settings, server):
    url = server.route("/feed.xml", Reply(body=rss([]), headers={"Content-Type": "application/rss+xml"}))
    settings.feeds_file.write_text(f"feeds:\n  - url: {url}\n    enabled: \"false\"\n", encoding="utf-8")
    from ingest.app import Ingest

    with Ingest(settings) as app:
        report = app.run_once()
        assert report.polls == [] and server.requests[url.split(str(server.port))[1]] == 0
        assert [s.status for s in app.status()] == ["disabled"]


@pytest.mark.parametrize("name", ["feeds.yaml", "rules.yaml", "settings.yaml", "sites/bomb.yaml"])
def test_yaml_alias_bomb_is_refused_naming_the_file(config_dir, tmp_path, capsys, name):
    path = config_dir / name
    path.parent.mkdir(exist_ok=True)
    payload = {"feeds.yaml": BOMB + "feeds:\n  - url: http://a.example/rss\n    name: *i\n",
               "rules.yaml": BOMB + "rules:\n  - name: x\n    query: Iran\n    tags: *i\n",
               "settings.yaml": BOMB.replace("\n", "\n").replace("a: &a", "x_a: &a") + "enrich:\n  watch_terms: *i\n",
               "sites/bomb.yaml": BOMB + "domain: example.org\nstrip_text: *i\n"}[name]
    path.write_text(payload, encoding="utf-8")
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>x</p></body></html>")
    command = {"feeds.yaml": ["status"], "rules.yaml": ["rules", "list"], "settings.yaml": ["status"],
               "sites/bomb.yaml": ["extract", str(page), "--url", "https://example.org/a"]}[name]
    code = main([*command, "--config", str(config_dir), "--db", str(tmp_path / "x.db")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.startswith(f"error: {path}: refused: aliases expand to more than"), err


def test_alias_bomb_in_rules_keeps_the_web_app_answering(config_dir, tmp_path):
    from fastapi.testclient import TestClient

    from ingest.app import Ingest
    from ingest.web import create_app

    (config_dir / "rules.yaml").write_text(BOMB + "rules:\n  - name: x\n    query: Iran\n    tags: *i\n")
    settings = load_settings(str(config_dir), str(tmp_path / "x.db"), env={})
    with Ingest(settings) as app, TestClient(create_app(app)) as client:
        for path in ("/alerts", "/api/rules"):
            response = client.get(path)
            assert response.status_code < 500, (path, response.status_code)
        assert "refused" in client.get("/api/rules").text


def test_env_override_errors_name_the_variable(config_dir):
    (config_dir / "settings.yaml").write_text("fetch:\n  timeout_total: 20\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(str(config_dir), env={"INGEST_FETCH__TIMEOUT_TOTAL": "[20"})
    assert str(info.value).startswith("environment variable INGEST_FETCH__TIMEOUT_TOTAL: invalid YAML: ")
    with pytest.raises(ConfigError) as info:
        load_settings(str(config_dir), env={"INGEST_FETCH__TIMEOUT_TOTAL": "-1"})
    assert str(info.value) == ("environment variable INGEST_FETCH__TIMEOUT_TOTAL: fetch.timeout_total: "
                               "Input should be greater than 0")
    with pytest.raises(ConfigError) as info:
        load_settings(str(config_dir), env={"INGEST_BACKEND": "mysql"})
    assert str(info.value).startswith("environment variable INGEST_BACKEND: store.backend: ")
    with pytest.raises(ConfigError) as info:
        load_settings(str(config_dir), env={"INGEST_FETCH__USER_AGENT": BOMB + "x: *i"})
    assert str(info.value).startswith("environment variable INGEST_FETCH__USER_AGENT: refused: ")
    (config_dir / "settings.yaml").write_text("fetch:\n  timeout_total: -5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(str(config_dir), env={"INGEST_FETCH__TIMEOUT_READ": "3"})
    assert str(info.value).startswith(f"{config_dir / 'settings.yaml'}: fetch.timeout_total: ")


def test_env_override_error_from_the_command_line_is_one_line(config_dir, tmp_path):
    result = cli("status", "--config", str(config_dir), "--db", str(tmp_path / "x.db"),
                 env={"INGEST_POLLING__JITTER": "{bad"})
    assert one_line_error(result).startswith("error: environment variable INGEST_POLLING__JITTER: ")


# -- the store: read-only file, full disk ----------------------------------------------------------


@contextmanager
def read_only_folder(prepare):
    """A folder the process cannot write: a read-only tmpfs when running as root (root ignores file
    modes), else modes 0555/0444. `prepare(folder)` fills it first."""
    folder = Path(tempfile.mkdtemp(prefix="ingest-ro-"))
    mounted = False
    try:
        if os.geteuid() == 0:
            if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)],
                              capture_output=True).returncode != 0:
                pytest.skip("running as root without permission to mount a read-only tmpfs")
            mounted = True
        prepare(folder)
        if mounted:
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        else:
            for p in folder.rglob("*"):
                p.chmod(0o444 if p.is_file() else 0o555)
            folder.chmod(0o555)
        yield folder
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=False)
        else:
            for p in [folder, *folder.rglob("*")]:
                p.chmod(0o755 if p.is_dir() else 0o644)
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def _stored_db(folder: Path) -> None:
    from ingest.models import Article, FeedState, utcnow
    from ingest.store import open_sqlite

    store = open_sqlite(folder / "ingest.db")
    store.index.upsert_articles([Article(id="f" * 40, url="http://news.example/a", title="Harbour strike ends",
                                   body="The dock workers of the harbour ended their strike on Monday.",
                                   source="Herald", domain="news.example", language="en", indexed=utcnow())])
    store.state.save_feed_state(FeedState(url="http://news.example/rss"))
    store.close()


def test_read_only_database_serves_reading_commands_and_names_the_file_on_writes(config_dir):
    with read_only_folder(_stored_db) as folder:
        db = str(folder / "ingest.db")
        found = cli("search", "harbour", "--json", "--config", str(config_dir), "--db", db)
        assert found.returncode == 0, found.stderr
        assert [json.loads(x)["title"] for x in found.stdout.splitlines()] == ["Harbour strike ends"]
        assert cli("show", "f" * 8, "--config", str(config_dir), "--db", db).returncode == 0
        status = cli("status", "--json", "--config", str(config_dir), "--db", db)
        assert status.returncode == 0 and json.loads(status.stdout)["feeds"][0]["url"] == "http://news.example/rss"
        line = one_line_error(cli("feeds", "retry", "http://news.example/rss", "--config", str(config_dir),
                                  "--db", db))
        assert line.startswith(f"error: {db}: the database is read-only"), line


def test_full_disk_is_one_line_naming_the_database(tmp_path):
    """SQLite reports a full disk and a full database file (max_page_count) with the same error
    (SQLITE_FULL); the store turns both into one line naming the file."""
    from ingest.models import Article, utcnow
    from ingest.store import open_sqlite

    store = open_sqlite(tmp_path / "full.db")
    try:
        pages = store.index.query("PRAGMA page_count")[0][0]
        store.index.query(f"PRAGMA max_page_count = {pages + 2}")
        big = [Article(id=f"{i:040d}", url=f"http://news.example/{i}", title=f"Story {i}", body="word " * 5000,
                       source="Herald", domain="news.example", indexed=utcnow()) for i in range(20)]
        with pytest.raises(StoreError) as info:
            store.index.upsert_articles(big)
        assert str(info.value).startswith(f"{tmp_path / 'full.db'}: disk full while writing; free space")
        assert store.index.count_articles() == 0      # the batch was rolled back as a whole
    finally:
        store.close()


def test_full_disk_during_a_run_is_one_line(settings, server, tmp_path):
    """A real full disk (a 1 MB tmpfs, root only): `run --once` ends with one line naming the file."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    folder = Path(tempfile.mkdtemp(prefix="ingest-full-"))
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("no permission to mount a tmpfs")
    try:
        items = []
        for i in range(40):
            body = article_page(f"Story {i}", [f"Paragraph {j} of story {i} " + "text " * 300 for j in range(6)])
            items.append({"title": f"Story {i}", "link": server.route(f"/s/{i}", Reply(body=body, headers={
                "Content-Type": "text/html; charset=utf-8"}))})
        feed = server.route("/feed.xml", Reply(body=rss(items), headers={"Content-Type": "application/rss+xml"}))
        settings.feeds_file.write_text(f"feeds:\n  - url: {feed}\n", encoding="utf-8")
        db = folder / "ingest.db"
        result = cli("run", "--once", "--config", str(settings.config_dir), "--db", str(db),
                     env={"INGEST_ALLOW_NETWORKS": "127.0.0.1/32", "INGEST_FETCH__PER_HOST_MIN_INTERVAL": "0",
                          "INGEST_EXTRACT__WORKERS": "1"})
        line = one_line_error(result)
        assert line.startswith(f"error: {db}: disk full while writing"), result.stderr
        assert len(result.stderr.splitlines()) <= 5, result.stderr
    finally:
        subprocess.run(["umount", str(folder)], check=False)
        folder.rmdir()


# -- feeds: a valid empty feed is not malformed ----------------------------------------------------


def test_valid_empty_feed_served_as_text_xml_is_not_malformed(settings, server):
    from ingest.app import Ingest

    body = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Nachrichten für Köln'
            '</title><link>http://koeln.example/</link><description>Keine Meldungen</description></channel></rss>')
    url = server.route("/empty.xml", Reply(body=body.encode(), headers={"Content-Type": "text/xml"}))
    settings.feeds_file.write_text(f"feeds:\n  - url: {url}\n", encoding="utf-8")
    with Ingest(settings) as app:
        [poll] = app.run_once().polls
        assert poll.error is None and poll.status != "error", poll
        [row] = app.status()
        assert row.error is None and "malformed" not in (row.last_page_error or "")


# -- secrets ---------------------------------------------------------------------------------------


def _get_routes(web) -> list[str]:
    """Every GET page and API route of the app, path parameters filled in."""
    paths = {r.path for r in web.routes if "GET" in (getattr(r, "methods", None) or ())}
    paths |= {p for p, ops in web.openapi()["paths"].items() if "get" in ops}
    filled = {re.sub(r"\{[^}]+\}", "x", p) for p in paths}
    return sorted(filled | {"/search?q=Iran", "/api/search?q=Iran", "/api/search?q=Iran&until=2030-01-01",
                            "/api/aggregates/facet?field=source", "/api/aggregates/timeline?q=Iran",
                            "/dashboard?q=Iran", "/alerts/flights.atom", "/metrics", "/healthz"})


def test_planted_secrets_never_shown(tmp_path, config_dir, server):
    """An Elasticsearch URL with a password (cluster down) and an alert webhook whose path carries a
    `${HOOK_TOKEN}`: neither appears in any CLI output (--debug included), log, page, API answer or metric."""
    from fastapi.testclient import TestClient
    from test_alerts_pipeline import Webhook

    from ingest.app import Ingest
    from ingest.web import create_app

    hook = Webhook()
    es_url = f"http://elastic:{ES_PASSWORD}@127.0.0.1:{free_port()}"
    try:
        items = [{"title": "Iran resumes flights to Venezuela", "link": server.route("/a", Reply(
            body=article_page("Iran resumes flights to Venezuela", ["Iran will resume direct flights to Venezuela "
                                                                    "next month, the aviation authority said."] * 3),
            headers={"Content-Type": "text/html; charset=utf-8"}))}]
        feed = server.route("/feed.xml", Reply(body=rss(items), headers={"Content-Type": "application/rss+xml"}))
        (config_dir / "feeds.yaml").write_text(f"feeds:\n  - url: {feed}\n", encoding="utf-8")
        (config_dir / "rules.yaml").write_text(f"""rules:
  - name: flights
    query: 'Iran AND flights'
    notify: ['json://127.0.0.1:{hook.port}/hook/${{HOOK_TOKEN}}']
""", encoding="utf-8")
        base = ["--config", str(config_dir), "--db", str(tmp_path / "s.db")]
        env = {"HOOK_TOKEN": HOOK_TOKEN, "INGEST_ALLOW_NETWORKS": "127.0.0.1/32", "INGEST_EXTRACT__WORKERS": "1",
               "INGEST_FETCH__PER_HOST_MIN_INTERVAL": "0"}
        es_env = {**env, "INGEST_BACKEND": "elasticsearch", "INGEST_ES_URL": es_url,
                  "INGEST_STORE__ELASTICSEARCH__TIMEOUT": "2"}
        outputs: dict[str, str] = {}

        def run(name: str, *args: str, environment: dict) -> subprocess.CompletedProcess:
            result = cli(*args, *base, env=environment)
            outputs[name] = result.stdout + result.stderr
            return result

        ran = run("run --once --debug (sqlite, alert sent)", "run", "--once", "--debug", environment=env)
        assert ran.returncode == 0, ran.stderr
        assert [p for _, p, _ in hook.received] == [f"/hook/{HOOK_TOKEN}"]   # the token did reach the channel
        assert "urllib3" in ran.stderr or "connectionpool" in ran.stderr     # and --debug did log the request
        run("rules list --debug", "rules", "list", "--debug", environment=env)
        run("alerts list", "alerts", "list", "--json", environment=env)
        for command in (["es", "status"], ["es", "status", "--json"], ["status"], ["search", "Iran"],
                        ["run", "--once"], ["search", "Iran", "--debug"], ["es", "setup", "--debug"]):
            run(" ".join(command) + " (es down)", *command, environment=es_env)
        assert "127.0.0.1" in outputs["es status (es down)"] and "unreachable" in outputs["es status (es down)"]

        settings = load_settings(str(config_dir), str(tmp_path / "s.db"),
                                 env={"INGEST_BACKEND": "elasticsearch", "INGEST_ES_URL": es_url,
                                      "INGEST_STORE__ELASTICSEARCH__TIMEOUT": "2", "HOOK_TOKEN": HOOK_TOKEN})
        os.environ["HOOK_TOKEN"] = HOOK_TOKEN
        import logging

        records: list[str] = []

        class Keep(logging.Handler):
            def emit(self, record):
                records.append(self.format(record))

        keep = Keep(logging.DEBUG)
        keep.setFormatter(logging.Formatter("%(name)s %(message)s"))
        root = logging.getLogger()
        level = root.level
        root.addHandler(keep)
        root.setLevel(logging.DEBUG)
        try:
            with Ingest(settings) as app, TestClient(create_app(app)) as client:
                for path in _get_routes(client.app):
                    response = client.get(path)
                    outputs[f"GET {path}"] = f"{response.status_code} {response.text}"
        finally:
            root.removeHandler(keep)
            root.setLevel(level)
            os.environ.pop("HOOK_TOKEN", None)
        outputs["log records"] = "\n".join(records)
        assert any(k.startswith("GET /metrics") for k in outputs) and any("503" in v[:3] for v in outputs.values())
        leaks = {name: [s for s in (ES_PASSWORD, HOOK_TOKEN) if s in text] for name, text in outputs.items()}
        assert {k: v for k, v in leaks.items() if v} == {}
    finally:
        hook.close()
