"""OpenSearch index: the Elasticsearch index adapter, over the opensearch-py client.

Why a client of its own: the Elasticsearch 9 client refuses any server that does not say it is
Elasticsearch ("The client noticed that the server is not Elasticsearch"), so OpenSearch needs
opensearch-py. Everything else is shared, not forked: the mapping and query compiler
(`elasticsearch/query.py`), search and aggregates (`elasticsearch/search.py`, `aggregates.py`), the
outbox, setup (`elasticsearch/schema.py`) and alert evaluation (`elasticsearch/rules.py`, which percolates here: OpenSearch's percolator
module is small and on Maven Central, so scripts/opensearch-node.sh has it).

The seam (overridden methods of `ElasticsearchIndex`):
    _conf            the `store.opensearch` section (same keys as `store.elasticsearch`)
    _connect         an opensearch-py client wrapped in `ESStyleClient` (below)
    api_status       HTTP status of an opensearch-py error
    _down            the connection-level errors of opensearch-py
    try_lifecycle    an ISM rollover policy where the cluster has the ISM plugin (ILM is Elasticsearch's)
    helpers          opensearch-py's bulk/scan helpers
    setup            also checks the server is OpenSearch (opensearch-py would talk to Elasticsearch too)

`ESStyleClient` takes the calls the shared code makes in the Elasticsearch 9 client's keyword style
(`search(index=..., query=..., aggs=...)`, `index(document=...)`, `msearch(searches=...)`) and
passes them on as opensearch-py's `body=` calls. Anything else goes to the opensearch-py client
unchanged (the helpers call it with `body=` already).
"""

from __future__ import annotations

import logging

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError as OSTransportError

from ingest.config import ElasticsearchSettings, StoreSettings
from ingest.errors import StoreError
from ingest.store.elasticsearch.index import ElasticsearchIndex, read_secret

log = logging.getLogger("ingest.store.opensearch")

# Keyword arguments that stay URL parameters; every other keyword of these calls goes into the body.
URL_PARAMS = frozenset({"index", "id", "name", "alias", "refresh", "if_seq_no", "if_primary_term", "op_type",
                        "routing", "scroll", "request_timeout", "params", "headers", "ignore_unavailable",
                        "allow_no_indices", "wait_for_status", "new_index"})
RENAMED = {"source": "_source", "from_": "from"}  # Elasticsearch client keyword -> body key


def _split(kwargs: dict, body_key: str | None = None) -> dict:
    """Elasticsearch-style keywords -> opensearch-py keywords with one `body`."""
    if "body" in kwargs:
        return kwargs
    params = {k: v for k, v in kwargs.items() if k in URL_PARAMS}
    rest = {RENAMED.get(k, k): v for k, v in kwargs.items() if k not in URL_PARAMS and v is not None}
    if body_key:
        if body_key in rest:
            params["body"] = rest.pop(body_key)
        if rest:
            raise TypeError(f"unexpected keywords {sorted(rest)}")
    elif rest:
        params["body"] = rest
    return params


class _Namespace:
    """`client.indices` / `client.cluster`: the same translation on a namespace of the raw client."""

    def __init__(self, raw):
        self._raw = raw

    def __getattr__(self, name: str):
        method = getattr(self._raw, name)
        body_key = {"put_settings": "settings"}.get(name)  # put_mapping's keywords are its body already
        return lambda **kwargs: method(**_split(kwargs, body_key))


class ESStyleClient:
    """An opensearch-py client that also takes the Elasticsearch 9 client's keyword style."""

    BODY_KEYS = {"index": "document", "create": "document", "msearch": "searches"}  # the whole body is one keyword

    def __init__(self, raw: OpenSearch):
        self.raw = raw
        self.indices = _Namespace(raw.indices)
        self.cluster = _Namespace(raw.cluster)
        self.nodes = raw.nodes
        self.transport = raw.transport

    def __getattr__(self, name: str):
        method = getattr(self.raw, name)
        if name in ("search", "count", "mget", "index", "create", "msearch", "update"):
            body_key = self.BODY_KEYS.get(name)
            return lambda **kwargs: method(**_split(kwargs, body_key))
        return method

    def close(self) -> None:
        self.raw.close()


class OpenSearchIndex(ElasticsearchIndex):
    backend = "opensearch"
    product = "OpenSearch"
    helpers = helpers

    @staticmethod
    def _conf(settings: StoreSettings) -> ElasticsearchSettings:
        return settings.opensearch

    @staticmethod
    def api_status(exc: Exception) -> int | None:
        if isinstance(exc, OSTransportError) and not isinstance(exc, OSConnectionError):
            return exc.status_code if isinstance(exc.status_code, int) else None
        return None

    @staticmethod
    def _down(exc: Exception) -> bool:
        return isinstance(exc, OSConnectionError)

    def _connect(self) -> ESStyleClient:
        # opensearch-py logs every failed request, with a traceback per retry; the adapter reports
        # failures itself (StoreUnavailable, one line), and probes that may fail (analyzers, ISM) are normal.
        if not logging.getLogger().isEnabledFor(logging.DEBUG):
            logging.getLogger("opensearch").setLevel(logging.CRITICAL)
        conf = self.conf
        if conf.api_key_env:
            raise StoreError("store.opensearch.api_key_env: OpenSearch has no API keys; "
                             "set store.opensearch.username and the password (INGEST_OS_PASSWORD)")
        kwargs: dict = {"timeout": conf.timeout, "retry_on_timeout": True, "max_retries": 2}
        password = read_secret(conf.password_env, conf.password_file, self.product)
        if conf.username and password:
            kwargs["http_auth"] = (conf.username, password)
        if conf.ca_file:
            kwargs["ca_certs"] = conf.ca_file
        return ESStyleClient(OpenSearch(conf.url, **kwargs))

    def setup(self) -> dict:
        self._check_server()
        return super().setup()

    def _check_server(self) -> None:
        """opensearch-py talks to Elasticsearch too (and some calls would half work): refuse that clearly."""
        try:
            version = self.call(self.client.info).get("version", {})
        except Exception as exc:
            if self.api_status(exc) is None:
                raise
            version = {"number": f"(HTTP {self.api_status(exc)} on GET /)"}
        if version.get("distribution") != "opensearch":
            raise StoreError(f"{self.url} is not OpenSearch (it answers as "
                             f"{version.get('build_flavor') or 'Elasticsearch'} {version.get('number', '?')}); "
                             "use store.backend: elasticsearch for it, or point store.opensearch.url elsewhere")
        log.info("OpenSearch %s at %s", version.get("number"), self.url)

    def try_lifecycle(self) -> bool:
        """An ISM policy that rolls the write index over, where the cluster has the ISM plugin (the official
        image; the test node has none, so there this returns False and the daemon rolls over hourly)."""
        name = f"{self.prefix}-articles"
        policy = {"policy": {
            "description": "ingest: roll the articles write index over",
            "default_state": "hot",
            "states": [{"name": "hot", "actions": [{"rollover": {
                "min_doc_count": self.conf.rollover_max_docs, "min_index_age": self.conf.rollover_max_age}}],
                "transitions": []}],
            "ism_template": [{"index_patterns": [f"{name}-*"], "priority": 100}]}}
        try:
            self.client.transport.perform_request("PUT", f"/_plugins/_ism/policies/{name}", body=policy)
        except Exception as exc:
            status = self.api_status(exc)
            if status is None:
                raise
            if status != 409:  # 409: the policy is there already; anything else: no ISM on this cluster
                return False
        self.client.indices.put_settings(index=f"{name}-*", settings={
            "plugins.index_state_management.rollover_alias": name})
        return True
