"""Configuration: loaded once from `config/*.yaml` plus environment overrides, then passed down.

Nothing below the CLI reads the environment or these files; stages receive the
settings object (or the part of it they need) explicitly.

Environment overrides (highest priority):
    INGEST_CONFIG           config directory (default: ./config)
    INGEST_DB               SQLite file (default: data/ingest.db)
    INGEST_BACKEND          sqlite | elasticsearch
    INGEST_ES_URL           Elasticsearch URL
    INGEST_ALLOW_NETWORKS   comma-separated CIDRs that may be fetched despite being private/loopback
    INGEST_<SECTION>__<KEY> any other setting, e.g. INGEST_FETCH__TIMEOUT_TOTAL=20
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingest.errors import ConfigError

DEFAULT_CONFIG_DIR = "config"
DEFAULT_DB = "data/ingest.db"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FetchSettings(_Section):
    user_agent: str = "ingest/0.1 (media monitoring; +https://github.com/ingest/ingest)"
    contact_url: str | None = None
    timeout_connect: float = Field(5.0, gt=0)
    timeout_read: float = Field(10.0, gt=0)
    timeout_total: float = Field(30.0, gt=0)
    max_bytes: int = Field(10_000_000, gt=0, description="cap on the decoded body size of one response")
    max_redirects: int = Field(5, ge=0)
    allow_networks: list[str] = Field(default_factory=list)
    per_host_concurrency: int = Field(2, ge=1)
    per_host_min_interval: float = Field(0.5, ge=0, description="minimum seconds between two requests to one host")
    respect_robots: bool = False
    concurrency: int = Field(8, ge=1, description="article pages fetched in parallel overall")

    @field_validator("allow_networks")
    @classmethod
    def _valid_cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError(f"{cidr!r} is not a network (expected CIDR like 127.0.0.1/32)") from exc
        return value


class PollingSettings(_Section):
    default_interval: float = Field(900, gt=0, description="seconds between polls of a feed")
    min_interval: float = Field(120, gt=0)
    max_interval: float = Field(86400, gt=0)
    jitter: float = Field(30, ge=0)
    misfire_grace_time: int = Field(300, ge=1)
    unconditional_every: int = Field(24, ge=1, description="every Nth poll ignores validators to check them")
    backoff_step: float = Field(900, gt=0)
    backoff_max: float = Field(86400, gt=0)
    gone_after_404: int = Field(5, ge=1)
    outage_share: float = Field(0.8, gt=0, le=1)


class ExtractSettings(_Section):
    favor_precision: bool = True
    recall_pass: bool = Field(True, description="also run trafilatura's recall mode and keep its body when it "
                              "adds little beyond the precision pass (see ingest/extract/extractor.py)")
    include_comments: bool = False
    fallback_min_chars: int = Field(200, ge=0)
    keep_raw: bool = True
    raw_retention_days: int = Field(30, ge=0)
    learn_min_articles: int = Field(3, ge=2)
    learn_window_days: int = Field(30, ge=1)
    workers: int = Field(0, ge=0, description="extraction processes; 0 = number of cores")


class EnrichSettings(_Section):
    keywords: int = Field(10, ge=0)
    watch_terms: list[str] = Field(default_factory=list)
    cluster_threshold: float = Field(0.5, gt=0, le=1)
    min_detect_chars: int = Field(200, ge=0)


class ElasticsearchSettings(_Section):
    url: str = "http://127.0.0.1:9200"
    index_prefix: str = "ingest"
    api_key_env: str = "INGEST_ES_API_KEY"
    username: str | None = None
    password_env: str = "INGEST_ES_PASSWORD"
    password_file: str | None = None
    ca_file: str | None = None
    bulk_size: int = Field(500, ge=1)
    timeout: float = Field(30, gt=0)
    rollover_max_docs: int = Field(5_000_000, ge=1)
    rollover_max_age: str = "30d"


class StoreSettings(_Section):
    backend: Literal["sqlite", "elasticsearch"] = "sqlite"
    sqlite_path: str = DEFAULT_DB
    sqlite_rank_window: int = Field(10_000, ge=0, description="relevance sort scores the newest N text matches; 0 = all")
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    write_token_env: str = "INGEST_WEB_TOKEN"


class AlertSettings(_Section):
    retry_max: int = Field(5, ge=0)
    retry_base: float = Field(30, gt=0)


class Settings(_Section):
    config_dir: str = DEFAULT_CONFIG_DIR
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    polling: PollingSettings = Field(default_factory=PollingSettings)
    extract: ExtractSettings = Field(default_factory=ExtractSettings)
    enrich: EnrichSettings = Field(default_factory=EnrichSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    @property
    def feeds_file(self) -> Path:
        return Path(self.config_dir) / "feeds.yaml"

    @property
    def rules_file(self) -> Path:
        return Path(self.config_dir) / "rules.yaml"

    @property
    def sites_dir(self) -> Path:
        return Path(self.config_dir) / "sites"


def read_yaml(path: Path) -> Any:
    """Parse a YAML file, turning syntax errors into a ConfigError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        raise ConfigError(str(path), where, f"invalid YAML: {getattr(exc, 'problem', exc)}") from None


def _set_path(data: dict, dotted: list[str], value: Any) -> None:
    node = data
    for key in dotted[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            return
    node[dotted[-1]] = value


def _env_overrides(env: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if env.get("INGEST_DB"):
        _set_path(out, ["store", "sqlite_path"], env["INGEST_DB"])
    if env.get("INGEST_BACKEND"):
        _set_path(out, ["store", "backend"], env["INGEST_BACKEND"])
    if env.get("INGEST_ES_URL"):
        _set_path(out, ["store", "elasticsearch", "url"], env["INGEST_ES_URL"])
    if env.get("INGEST_ALLOW_NETWORKS"):
        nets = [n.strip() for n in env["INGEST_ALLOW_NETWORKS"].split(",") if n.strip()]
        _set_path(out, ["fetch", "allow_networks"], nets)
    for name, value in env.items():
        if name.startswith("INGEST_") and "__" in name:
            parts = [p.lower() for p in name[len("INGEST_"):].split("__")]
            _set_path(out, parts, yaml.safe_load(value) if value else value)
    return out


def _merge(base: dict, extra: dict) -> dict:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def load_settings(config_dir: str | None = None, db: str | None = None, backend: str | None = None,
                  env: dict[str, str] | None = None) -> Settings:
    """Load `settings.yaml` from the config directory (optional file) and apply overrides.

    Priority: explicit arguments (CLI flags) > environment > settings.yaml > defaults.
    """
    env = dict(os.environ if env is None else env)
    cdir = config_dir or env.get("INGEST_CONFIG") or DEFAULT_CONFIG_DIR
    path = Path(cdir) / "settings.yaml"
    data: dict[str, Any] = {}
    if path.exists():
        loaded = read_yaml(path)
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(str(path), "", "expected a mapping of sections (fetch:, polling:, store: ...)")
        data = loaded or {}
    source = str(path)
    _merge(data, _env_overrides(env))
    if db:
        _set_path(data, ["store", "sqlite_path"], db)
    if backend:
        _set_path(data, ["store", "backend"], backend)
    data["config_dir"] = cdir
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise ConfigError(source, key, err["msg"]) from None
