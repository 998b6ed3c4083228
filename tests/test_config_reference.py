"""The settings documentation cannot drift from the model: config/settings.yaml lists every key,
docs/settings.md is exactly what `ingest config reference` prints, and `ingest config show` masks secrets."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from ingest.cli.main import main
from ingest.config import load_settings
from ingest.config_reference import SHIPPED_SETTINGS, reference_markdown, setting_keys, yaml_comments

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_settings_yaml_lists_every_key_with_its_default():
    listed = yaml_comments()
    missing = [key for key, *_ in setting_keys() if key not in listed]
    assert missing == [], f"config/settings.yaml lacks {missing}"
    # and the file loads to exactly the defaults (it documents them, it changes nothing)
    shipped = load_settings(str(SHIPPED_SETTINGS.parent), env={}).model_dump()
    defaults = load_settings(str(ROOT / "no-such-dir"), env={}).model_dump()
    shipped.pop("config_dir"), defaults.pop("config_dir")
    assert shipped == defaults


def test_docs_settings_md_is_generated():
    assert (ROOT / "docs" / "settings.md").read_text(encoding="utf-8") == reference_markdown(), \
        "docs/settings.md is stale: run `ingest config reference > docs/settings.md`"


def test_config_show_masks_secrets(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("INGEST_ES_URL", "http://elastic:s3cr3t-PW@127.0.0.1:9200")
    assert main(["config", "show", "--json", "--config", str(tmp_path), "--db", str(tmp_path / "x.db")]) == 0
    out = capsys.readouterr().out
    assert "s3cr3t-PW" not in out
    assert json.loads(out)["store"]["elasticsearch"]["url"] == "http://***@127.0.0.1:9200"
    assert main(["config", "show", "--config", str(tmp_path), "--db", str(tmp_path / "x.db")]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["store"]["sqlite_path"] == str(tmp_path / "x.db") and "s3cr3t" not in json.dumps(shown)
