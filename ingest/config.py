"""Configuration: loaded once from `config/*.yaml` plus environment overrides, then passed down.

Nothing below the CLI reads the environment or these files; stages receive the
settings object (or the part of it they need) explicitly.

Environment overrides (highest priority):
    INGEST_HOME             base directory for the defaults below (default: the working directory)
    INGEST_CONFIG           config directory (default: $INGEST_HOME/config)
    INGEST_DB               SQLite file (default: $INGEST_HOME/data/ingest.db)
    INGEST_BACKEND          sqlite | elasticsearch | opensearch
    INGEST_ES_URL           Elasticsearch URL
    INGEST_OS_URL           OpenSearch URL (store.opensearch.url)
    INGEST_ALLOW_NETWORKS   comma-separated CIDRs that may be fetched despite being private/loopback
    INGEST_<SECTION>__<KEY> any other setting, e.g. INGEST_FETCH__TIMEOUT_TOTAL=20
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

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
    max_entries_per_poll: int = Field(500, ge=1, description="entries of one feed processed per cycle; "
                                      "the rest stay queued for the next cycles")
    page_retries: int = Field(5, ge=0, description="tries of an article page after transient failures")
    page_retry_base: float = Field(300, ge=0, description="seconds before the first page retry; doubles each time")
    page_retry_max: float = Field(21600, ge=0, description="longest wait between two page retries")


class ExtractSettings(_Section):
    favor_precision: bool = True
    recall_pass: bool = Field(True, description="also run trafilatura's recall mode: its body when the two "
                              "passes disagree or it adds little, else the precision body with the long "
                              "paragraphs it dropped (see ingest/extract/container.py)")
    include_comments: bool = False
    fallback_min_chars: int = Field(200, ge=0)
    keep_raw: bool = True
    raw_retention_days: int = Field(30, ge=0)
    learn_min_articles: int = Field(3, ge=2, description="a paragraph on this many articles of one site is "
                                    "learned boilerplate (ingest/extract/learned.py)")
    learn_window_days: int = Field(30, ge=1, description="days of sightings a paragraph is counted over")
    workers: int = Field(0, ge=0, description="extraction processes; 0 = number of cores")
    time_limit: float = Field(60, gt=0, description="seconds one page may take in an extraction worker")


class EnrichSettings(_Section):
    keywords: int = Field(10, ge=0)
    watch_terms: list[str] = Field(default_factory=list)
    cluster_threshold: float = Field(0.5, gt=0, le=1)
    cluster_window_days: int = Field(14, ge=1, description="days back a new article is compared with for copies "
                                     "of one story (ingest/enrich/clusters.py)")
    min_detect_chars: int = Field(200, ge=0)
    story_threshold: float = Field(0.2, gt=0, le=1, description="similarity at which a report joins a recent "
                                   "story (ingest/enrich/stories.py, measured with bench/stories.py)")
    story_window_days: float = Field(7, gt=0, description="days back a report is compared with for the story "
                                     "it follows up")
    story_decay_days: float = Field(30, ge=0, description="a story's similarity halves this many days after "
                                    "its closest report (0: no decay)")


class ElasticsearchSettings(_Section):
    url: str = "http://127.0.0.1:9200"
    index_prefix: str = "ingest"
    api_key_env: str | None = "INGEST_ES_API_KEY"  # null: no API key
    username: str | None = None
    password_env: str = "INGEST_ES_PASSWORD"
    password_file: str | None = None
    ca_file: str | None = None
    bulk_size: int = Field(500, ge=1)
    timeout: float = Field(30, gt=0)
    rollover_max_docs: int = Field(5_000_000, ge=1)
    rollover_max_age: str = "30d"
    rules_shards: int = Field(1, ge=1, description="shards of the percolator rules index: one core each per batch "
                                                   "(takes effect when that index is made)")


class OpenSearchSettings(ElasticsearchSettings):
    """The same keys as `store.elasticsearch`, for `store.backend: opensearch` (its own section, so one
    config can name both clusters). OpenSearch has no API keys: username and password, or none."""

    api_key_env: str | None = None
    password_env: str = "INGEST_OS_PASSWORD"


class StoreSettings(_Section):
    backend: Literal["sqlite", "elasticsearch", "opensearch"] = "sqlite"
    sqlite_path: str = DEFAULT_DB
    sqlite_rank_window: int = Field(10_000, ge=0, description="relevance sort scores the newest N text matches; 0 = all")
    retention_days: int | None = Field(None, ge=1, description="delete articles published (or, undated, "
                                       "ingested) more than N days ago; none = keep for ever")
    retention_by_source: dict[str, int] = Field(default_factory=dict, description="per source name or domain: "
                                                "days to keep, overriding retention_days")
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
    opensearch: OpenSearchSettings = Field(default_factory=OpenSearchSettings)


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    write_token_env: str = "INGEST_WEB_TOKEN"


class WebSubSettings(_Section):
    callback_url: str | None = Field(None, description="public base URL the hubs reach the daemon's callback "
                                     "listener at (e.g. https://ingest.example.org/websub); none = no push")
    listen: str = Field("127.0.0.1:8081", description="host:port the daemon's callback listener binds to "
                        "(put a TLS reverse proxy in front that maps callback_url to it)")
    lease_seconds: int = Field(864000, ge=60, description="lease asked of the hub (the hub may grant another)")
    renew_before: float = Field(86400, gt=0, description="seconds before a lease ends that it is renewed "
                                "(at most half the lease)")
    poll_interval: float = Field(21600, gt=0, description="seconds between fallback polls of a feed with an "
                                 "active subscription")
    max_body_bytes: int = Field(5_000_000, ge=1024, description="cap on a pushed body")

    @field_validator("callback_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL")
        return value.rstrip("/") if value else None

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("expected host:port, e.g. 127.0.0.1:8081")
        return value


class AlertSettings(_Section):
    retry_max: int = Field(5, ge=0)
    retry_base: float = Field(30, gt=0)


class BackfillSettings(_Section):
    max_sitemaps: int = Field(200, ge=1, description="sitemap documents read per `ingest backfill` (indexes included)")
    max_depth: int = Field(3, ge=0, description="levels of sitemap indexes followed below the first sitemaps")
    max_sitemap_bytes: int = Field(50_000_000, gt=0, description="cap on one sitemap's size after decompression")


class UpdateSettings(_Section):
    window: float = Field(86400, ge=0, description="seconds after an article is first stored during which its "
                          "page is re-checked for updates")
    checks: int = Field(3, ge=0, description="re-checks within the window, at growing intervals; 0 = off")
    batch: int = Field(200, ge=1, description="re-checks done per pass (the daemon passes every minute)")


class Settings(_Section):
    config_dir: str = DEFAULT_CONFIG_DIR
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    polling: PollingSettings = Field(default_factory=PollingSettings)
    extract: ExtractSettings = Field(default_factory=ExtractSettings)
    enrich: EnrichSettings = Field(default_factory=EnrichSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    backfill: BackfillSettings = Field(default_factory=BackfillSettings)
    updates: UpdateSettings = Field(default_factory=UpdateSettings)
    websub: WebSubSettings = Field(default_factory=WebSubSettings)

    @property
    def feeds_file(self) -> Path:
        return Path(self.config_dir) / "feeds.yaml"

    @property
    def entities_file(self) -> Path:
        return Path(self.config_dir) / "entities.yaml"

    @property
    def searches_file(self) -> Path:
        return Path(self.config_dir) / "searches.yaml"

    @property
    def rules_file(self) -> Path:
        return Path(self.config_dir) / "rules.yaml"

    @property
    def sites_dir(self) -> Path:
        return Path(self.config_dir) / "sites"


# -- YAML: the one loader for every config file ---------------------------------------------------

MAX_YAML_ALIASES = 1_000          # `*ref` uses per document: real config files use a handful
MAX_YAML_EXPANDED = 2_000_000     # nodes + scalar characters once every alias is expanded
if TYPE_CHECKING:  # the same interface; the C one is used when libyaml is installed
    from yaml import SafeLoader as _Loader
else:
    _Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YAMLBomb(yaml.YAMLError):
    """A document whose aliases would expand beyond the limits (a "billion laughs" config)."""


class BoundedLoader(_Loader):
    """yaml's safe loader with alias expansion bounded: PyYAML shares aliased nodes while loading, but
    everything that walks the result (validation, printing, the web pages) expands them, so a few
    hundred bytes of nested aliases can cost minutes and gigabytes. Counted on the composed graph
    (memoised per node, so the check itself stays linear) before any Python object is built."""

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            aliases, size = _graph_size(node)
            if aliases > MAX_YAML_ALIASES:
                raise YAMLBomb(f"more than {MAX_YAML_ALIASES:,} aliases")
            if size > MAX_YAML_EXPANDED:
                raise YAMLBomb(f"aliases expand to more than {MAX_YAML_EXPANDED:,} nodes and characters")
        return node


def _graph_size(root) -> tuple[int, int]:
    """(alias uses, expanded size) of a composed YAML node graph: a node reached a second time is an alias."""
    sizes: dict[int, int] = {}
    aliases = 0
    # iterative post-order walk: deep nesting must not hit Python's recursion limit
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if not expanded:
            if key in sizes:
                aliases += 1
                continue
            sizes[key] = -1  # on the path: a cycle counts as an alias below
            stack.append((node, True))
            for child in _children(node):
                if id(child) in sizes:
                    aliases += 1
                else:
                    stack.append((child, False))
            continue
        total = 1 + (len(node.value) if isinstance(node, yaml.ScalarNode) else 0)
        total += sum(max(sizes.get(id(c), 0), 0) for c in _children(node))
        sizes[key] = min(total, MAX_YAML_EXPANDED + 1)
        if aliases > MAX_YAML_ALIASES:
            break
    return aliases, max(sizes.get(id(root), 0), 0)


def _children(node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def load_yaml(text: str, source: str, lines: bool = True) -> Any:
    """Parse YAML text safely and bounded; errors are a ConfigError naming `source` (a file or an
    environment variable) and, with `lines`, the line."""
    try:
        return yaml.load(text, Loader=BoundedLoader)  # noqa: S506 - BoundedLoader is a SafeLoader
    except YAMLBomb as exc:
        raise ConfigError(source, "", f"refused: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark and lines else ""
        raise ConfigError(source, where, f"invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    except RecursionError:
        raise ConfigError(source, "", "refused: nested too deeply") from None


TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


def parse_flag(value: Any) -> bool:
    """A yes/no setting: YAML booleans, and the same written as strings or 0/1 (`enabled: "false"` is
    false, not a non-empty string). ValueError otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ValueError(f"expected true or false, got {value!r}"[:120])


def decode_config(data: bytes, source: str) -> str:
    """UTF-8 text (a UTF-8 BOM is allowed); anything else is a ConfigError with the byte position."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(source, "", f"not UTF-8 text: byte 0x{data[exc.start]:02x} at byte offset {exc.start} "
                                      f"(line {line}, column {column}); save the file as UTF-8") from None


def read_yaml(path: Path) -> Any:
    """Parse a YAML config file: UTF-8, safe, alias expansion bounded; every problem is a ConfigError
    naming the file (and the line or byte position)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror}") from None
    return load_yaml(decode_config(data, str(path)), str(path))


def _set_path(data: dict, dotted: list[str], value: Any) -> None:
    node = data
    for key in dotted[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            return
    node[dotted[-1]] = value


ENV_SHORTCUTS = {"INGEST_DB": ("store", "sqlite_path"), "INGEST_BACKEND": ("store", "backend"),
                 "INGEST_ES_URL": ("store", "elasticsearch", "url"), "INGEST_OS_URL": ("store", "opensearch", "url"),
                 "INGEST_ALLOW_NETWORKS": ("fetch", "allow_networks")}


def _env_overrides(env: dict[str, str], origins: dict[tuple[str, ...], str]) -> dict[str, Any]:
    """The settings the environment sets; `origins` records which variable set which key, so an
    invalid value is blamed on the variable, not on settings.yaml."""
    out: dict[str, Any] = {}
    for name, path in ENV_SHORTCUTS.items():
        if env.get(name):
            value: Any = env[name]
            if name == "INGEST_ALLOW_NETWORKS":
                value = [n.strip() for n in value.split(",") if n.strip()]
            _set_path(out, list(path), value)
            origins[path] = name
    for name, value in sorted(env.items()):
        if name.startswith("INGEST_") and "__" in name:
            parts = [p.lower() for p in name[len("INGEST_"):].split("__")]
            _set_path(out, parts, load_yaml(value, f"environment variable {name}", lines=False) if value else value)
            origins[tuple(parts)] = name
    return out


def _blame(loc: tuple, origins: dict[tuple[str, ...], str], default: str) -> str:
    """Who set the key at `loc`: a CLI flag or environment variable that set it (or a parent), else the file."""
    loc = tuple(str(p) for p in loc)
    for path, origin in sorted(origins.items(), key=lambda kv: -len(kv[0])):
        if loc[:len(path)] == path or path[:len(loc)] == loc:
            return origin
    return default


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
    home = env.get("INGEST_HOME")
    cdir = config_dir or env.get("INGEST_CONFIG") or (str(Path(home) / DEFAULT_CONFIG_DIR) if home
                                                      else DEFAULT_CONFIG_DIR)
    path = Path(cdir) / "settings.yaml"
    data: dict[str, Any] = {}
    if path.exists():
        loaded = read_yaml(path)
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(str(path), "", "expected a mapping of sections (fetch:, polling:, store: ...)")
        data = loaded or {}
    if home and not (data.get("store") or {}).get("sqlite_path"):
        _set_path(data, ["store", "sqlite_path"], str(Path(home) / DEFAULT_DB))
    origins: dict[tuple[str, ...], str] = {}
    _merge(data, _env_overrides(env, origins))
    if db:
        _set_path(data, ["store", "sqlite_path"], db)
        origins[("store", "sqlite_path")] = "--db"
    if backend:
        _set_path(data, ["store", "backend"], backend)
        origins[("store", "backend")] = "--backend"
    data["config_dir"] = cdir
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        source = _blame(err["loc"], origins, str(path))
        if source != str(path):
            source = source if source.startswith("--") else f"environment variable {source}"
        raise ConfigError(source, key, err["msg"]) from None
