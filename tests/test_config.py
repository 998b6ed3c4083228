"""Configuration loading: files, environment overrides, and errors that name the file and key."""

from __future__ import annotations

import pytest

from ingest.config import load_settings
from ingest.errors import ConfigError
from ingest.sources.feedlist import load_feeds


def test_defaults_without_files(tmp_path):
    s = load_settings(str(tmp_path), env={})
    assert s.store.backend == "sqlite"
    assert s.store.sqlite_path == "data/ingest.db"
    assert s.fetch.allow_networks == []


def test_environment_overrides_settings_file(tmp_path):
    (tmp_path / "settings.yaml").write_text("store:\n  backend: sqlite\n  sqlite_path: from-file.db\n")
    env = {"INGEST_DB": "from-env.db", "INGEST_BACKEND": "elasticsearch", "INGEST_ES_URL": "http://127.0.0.1:9999",
           "INGEST_ALLOW_NETWORKS": "127.0.0.1/32, 10.0.0.0/8", "INGEST_FETCH__TIMEOUT_TOTAL": "12"}
    s = load_settings(str(tmp_path), env=env)
    assert s.store.sqlite_path == "from-env.db"
    assert s.store.backend == "elasticsearch"
    assert s.store.elasticsearch.url == "http://127.0.0.1:9999"
    assert s.fetch.allow_networks == ["127.0.0.1/32", "10.0.0.0/8"]
    assert s.fetch.timeout_total == 12


def test_opensearch_backend_has_its_own_section(tmp_path):
    (tmp_path / "settings.yaml").write_text("store:\n  backend: opensearch\n  opensearch:\n    index_prefix: news\n")
    s = load_settings(str(tmp_path), env={"INGEST_OS_URL": "http://127.0.0.1:9201",
                                          "INGEST_ES_URL": "http://127.0.0.1:9200"})
    assert s.store.backend == "opensearch"
    assert (s.store.opensearch.url, s.store.opensearch.index_prefix) == ("http://127.0.0.1:9201", "news")
    assert s.store.elasticsearch.url == "http://127.0.0.1:9200"
    assert s.store.opensearch.password_env == "INGEST_OS_PASSWORD" and s.store.opensearch.api_key_env is None


def test_cli_flag_beats_environment(tmp_path):
    s = load_settings(str(tmp_path), db="flag.db", env={"INGEST_DB": "env.db"})
    assert s.store.sqlite_path == "flag.db"


@pytest.mark.parametrize("text, key", [
    ("fetch:\n  timeout_total: -1\n", "fetch.timeout_total"),
    ("fetch:\n  timeuot_total: 3\n", "fetch.timeuot_total"),
    ("store:\n  backend: mysql\n", "store.backend"),
    ("fetch:\n  allow_networks: ['not-a-net']\n", "fetch.allow_networks"),
])
def test_invalid_setting_names_file_and_key(tmp_path, text, key):
    (tmp_path / "settings.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(str(tmp_path), env={})
    message = str(info.value)
    assert str(tmp_path / "settings.yaml") in message
    assert key in message


def test_yaml_syntax_error_names_line(tmp_path):
    (tmp_path / "settings.yaml").write_text("fetch:\n  timeout_total: [1,\n")
    with pytest.raises(ConfigError, match="settings.yaml: line"):
        load_settings(str(tmp_path), env={})


def test_feeds_file_errors_name_the_entry(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://example.org/feed\n  - url: ftp://bad\n")
    with pytest.raises(ConfigError, match=r"feeds\[1\]\.url"):
        load_feeds(path, strict=True)
    assert [f.url for f in load_feeds(path)] == ["https://example.org/feed", "ftp://bad"]  # only that feed fails
    path.write_text("feeds:\n  - url: https://example.org/feed\n    intervall: 5\n")
    with pytest.raises(ConfigError, match=r"feeds\[0\]\.intervall: unknown key"):
        load_feeds(path)
