"""The CLI contract an operator relies on: global options anywhere, exit codes, names that must exist,
a store that must exist for read-only commands, output that fits 80 columns. Real SQLite files and a
loopback site; the subprocess tests run `python -m ingest` as cron or systemd would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from loopback import Reply, article_page, rss

from ingest.cli.main import main

PARAS = [
    "The harbour authority said on Monday that container traffic rose for the third month in a row.",
    "Dock workers welcomed the figures but warned that staffing had not kept pace with the new volumes.",
    "The port plans to open a fourth terminal next spring, according to the authority's annual report.",
]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("INGEST_ALLOW_NETWORKS", "127.0.0.1/32")
    monkeypatch.setenv("INGEST_EXTRACT__WORKERS", "1")
    for name in ("INGEST_CONFIG", "INGEST_DB", "INGEST_HOME"):
        monkeypatch.delenv(name, raising=False)


def serve_feed(server, name: str, n: int) -> str:
    items = []
    for i in range(n):
        paras = [f"{p[:-1]} ({name} story {i})." for p in PARAS]
        server.route(f"/{name}/{i}", Reply(body=article_page(f"{name} story {i}", paras),
                                           headers={"Content-Type": "text/html; charset=utf-8"}))
        items.append({"title": f"{name} story {i}", "link": server.url(f"/{name}/{i}")})
    server.route(f"/{name}.xml", Reply(body=rss(items), headers={"Content-Type": "application/rss+xml"}))
    return server.url(f"/{name}.xml")


def test_global_options_work_before_and_after_the_command(capsys, tmp_path, server):
    cfg, db = tmp_path / "cfg", tmp_path / "x.db"
    url = serve_feed(server, "port", 2)
    # before the command: the feed goes into cfg/feeds.yaml, not ./config
    code, out, _ = run(capsys, "--config", str(cfg), "--db", str(db), "feeds", "add", url)
    assert code == 0 and (cfg / "feeds.yaml").exists() and str(cfg / "feeds.yaml") in out
    assert not Path("config/feeds.yaml").exists() or url not in Path("config/feeds.yaml").read_text()
    code, out, _ = run(capsys, "--db", str(db), "--config", str(cfg), "run", "--once")
    assert code == 0 and db.exists() and str(db) in out
    # after the command, and mixed
    assert run(capsys, "search", "harbour", "--db", str(db), "--config", str(cfg), "--json")[0] == 0
    code, out, _ = run(capsys, "--db", str(db), "search", "harbour", "--json", "--config", str(cfg))
    assert code == 0 and len(out.splitlines()) == 2


def test_version():
    proc = subprocess.run([sys.executable, "-m", "ingest", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("ingest ")


def test_read_only_commands_refuse_a_missing_store(capsys, tmp_path):
    missing = tmp_path / "typo.db"
    for argv in (["search", "x"], ["show", "abc"]):
        code, _, err = run(capsys, *argv, "--db", str(missing), "--config", str(tmp_path))
        assert code == 2 and str(missing) in err and len(err.strip().splitlines()) == 1
    assert not missing.exists()  # no empty store created by a typo


def test_run_exit_codes_tell_cron_what_happened(capsys, tmp_path, server):
    base = ["--config", str(tmp_path / "c"), "--db", str(tmp_path / "x.db")]
    good = serve_feed(server, "good", 1)
    server.route("/bad.xml", Reply(status=500, body=b"down"))
    server.route("/bad2.xml", Reply(status=500, body=b"down"))
    run(capsys, *base, "feeds", "add", server.url("/bad.xml"), "--no-check")
    run(capsys, *base, "feeds", "add", server.url("/bad2.xml"), "--no-check")
    code, out, _ = run(capsys, *base, "run", "--once", "--json")
    assert code == 3 and json.loads(out)["stored"] == 0          # every feed failed
    run(capsys, *base, "feeds", "add", good, "--no-check")
    run(capsys, *base, "feeds", "retry")
    code, out, _ = run(capsys, *base, "run", "--once", "--json")
    assert code == 4 and json.loads(out)["stored"] == 1          # some failed, the good one was ingested


def test_ambiguous_id_prefix_lists_candidates(capsys, tmp_path, server):
    base = ["--config", str(tmp_path / "c"), "--db", str(tmp_path / "x.db")]
    run(capsys, *base, "feeds", "add", serve_feed(server, "many", 20), "--no-check")
    assert run(capsys, *base, "run", "--once")[0] == 0
    _, out, _ = run(capsys, *base, "search", "harbour", "--json", "--limit", "20")
    ids = [json.loads(line)["id"] for line in out.splitlines()]
    # with 20 hex ids two share their first character, so a one-character prefix is ambiguous
    first = {}
    for i in ids:
        first.setdefault(i[0], []).append(i)
    prefix, shared = next((k, v) for k, v in first.items() if len(v) > 1)
    code, _, err = run(capsys, *base, "show", prefix)
    listed = re.findall(r"\b[0-9a-f]{20}\b", err)
    assert code == 2 and "ambiguous" in err and len(listed) >= 2 and all(i.startswith(prefix) for i in listed)
    code, out, _ = run(capsys, *base, "show", shared[0][:12], "--json")
    assert code == 0 and json.loads(out)["id"] == shared[0]


def test_unknown_names_are_errors_with_candidates(capsys, tmp_path, server):
    base = ["--config", str(tmp_path / "c"), "--db", str(tmp_path / "x.db")]
    run(capsys, *base, "feeds", "add", serve_feed(server, "site", 1), "--no-check")
    run(capsys, *base, "run", "--once")
    domain = f"127.0.0.1:{server.port}"
    code, _, err = run(capsys, *base, "sites", "show", domain.replace("127", "172", 1))
    assert code == 2 and "no site" in err and domain in err
    code, _, err = run(capsys, *base, "feeds", "retry", server.url("/sit.xml"))
    assert code == 2 and "no feed" in err and server.url("/site.xml") in err


def test_status_fits_80_columns_and_wide_shows_more(tmp_path, server):
    env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": os.pathsep.join(sys.path)}
    base = [sys.executable, "-m", "ingest", "--config", str(tmp_path / "c"), "--db", str(tmp_path / "x.db")]
    long_name = "A feed with a rather long descriptive name that goes on"
    subprocess.run(base + ["feeds", "add", serve_feed(server, "w", 1), "--name", long_name, "--no-check"],
                   env=env, check=True, capture_output=True, timeout=60)
    server.route("/gone.xml", Reply(status=500, body=b"x"))
    subprocess.run(base + ["feeds", "add", server.url("/gone.xml"), "--no-check"], env=env, check=True,
                   capture_output=True, timeout=60)
    subprocess.run(base + ["run", "--once"], env=env, capture_output=True, timeout=120)
    narrow = subprocess.run(base + ["status"], env=env, capture_output=True, text=True, timeout=60).stdout
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert "ok" in narrow and "backing off" in narrow and "backing_off" not in narrow  # human labels
    assert "HTTP 500" in narrow.replace("\n", " ").replace("│", " ") or "500" in narrow  # the problem, folded
    wide = subprocess.run(base + ["status", "--wide"], env={**env, "COLUMNS": "200"}, capture_output=True,
                          text=True, timeout=60).stdout
    assert "last success" in wide and "last success" not in narrow


def test_json_log_format(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-m", "ingest", "--log-level", "info", "--log-format", "json",
                           "--config", str(tmp_path / "c"), "--db", str(tmp_path / "x.db"), "status"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for line in proc.stderr.splitlines():
        record = json.loads(line)  # every log line is one JSON object
        assert {"time", "level", "logger", "message"} <= set(record)


def test_demo_touches_nothing_of_the_user(tmp_path):
    """`ingest demo` with a user's config (a rule that would match, a real channel), INGEST_DB and
    INGEST_BACKEND set: the user's store is not created, the channel gets no connection, the
    demo's own store holds the sample articles and the output says where."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    connections = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            connections.append(conn)
    threading.Thread(target=accept, daemon=True).start()
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "feeds.yaml").write_text("feeds:\n  - url: https://news.example.org/rss.xml\n")
    (home / "config" / "rules.yaml").write_text(
        f"rules:\n  - name: drones\n    query: Drohne\n    notify: ['json://127.0.0.1:{listener.getsockname()[1]}/hook']\n")
    user_db = tmp_path / "user.db"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "INGEST_HOME": str(home),
           "INGEST_DB": str(user_db), "INGEST_BACKEND": "elasticsearch", "INGEST_ES_URL": "http://127.0.0.1:9"}
    try:
        proc = subprocess.run([sys.executable, "-m", "ingest", "demo"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=240)
    finally:
        stop.set()
    assert proc.returncode == 0, proc.stderr
    demo_db = home / "data" / "demo.db"
    assert f"demo store {demo_db}" in proc.stdout and "not used" in proc.stdout
    assert not user_db.exists() and connections == []
    assert "news.example.org" in (home / "config" / "feeds.yaml").read_text()  # feed list untouched
    code = main(["search", "Drohne", "--db", str(demo_db), "--config", str(tmp_path / "none"), "--json"])
    assert code == 0


def test_ingest_home_gives_absolute_defaults(tmp_path, monkeypatch, capsys):
    """cron and systemd run elsewhere: with INGEST_HOME the config and the store are found there."""
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "feeds.yaml").write_text("feeds:\n  - url: https://news.example.org/rss\n")
    monkeypatch.setenv("INGEST_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    assert main(["feeds", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["url"] == "https://news.example.org/rss"
    assert main(["status"]) == 0
    assert (home / "data" / "ingest.db").exists() and not (tmp_path / "data").exists()


def test_missing_default_config_is_warned_about(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["feeds", "list"]) == 0
    assert "config directory config not found" in capsys.readouterr().err


def test_run_summary_shows_the_whole_error(capsys, tmp_path, server):
    base = ["--config", str(tmp_path / "c"), "--db", str(tmp_path / "x.db")]
    path = "/feeds/" + "very-long-segment-" * 12 + "end.xml"
    server.route(path, Reply(status=503, body=b"maintenance"))
    run(capsys, *base, "feeds", "add", server.url(path), "--no-check")
    code, out, _ = run(capsys, *base, "run", "--once")
    assert code == 3
    flat = re.sub(r"[\s│|]", "", out)
    assert re.sub(r"\s", "", server.url(path)) in flat or "end.xml" in flat  # not cut at 120 characters
    assert "503" in flat


def test_make_test_says_what_it_skips(tmp_path):
    """scripts/test.sh names every part it skips, up front and at the end (here: skipped on purpose)."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "INGEST_SKIP_ES": "1", "INGEST_SKIP_BROWSER": "1", "CI": "", "INGEST_PYTHON": sys.executable,
           "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(["bash", "scripts/test.sh", "tests/test_urls.py", "-q", "-p", "no:randomly"], cwd=root,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.count("SKIPPING: Elasticsearch") == 1 and "SKIPPED: browser tests" in proc.stderr


def test_compose_mounts_config_writable_for_the_web_app():
    import yaml

    root = Path(__file__).resolve().parent.parent
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    web = compose["services"]["web"]
    mounts = web.get("volumes") or compose["x-ingest"]["volumes"]
    config = [m for m in mounts if m.split(":")[1] == "/app/config"]
    assert config and not config[0].endswith(":ro")
