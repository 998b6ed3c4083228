"""URL normalization: one article, one key, whatever tracking junk or variant a feed links to."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING_PARAMS = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|yclid|_ga|_gl|ref|ref_src|"
    r"cmpid|cmp|ito|at_medium|at_campaign|at_custom\d*|wt_mc|wt\.mc_id|xtor|ns_mchannel|ns_source|"
    r"ns_campaign|ns_linkname|ns_fee|sr_share|share|src|feature|rss|partner|spm|smid|ocid)$",
    re.IGNORECASE,
)
AMP_PATH = re.compile(r"(/amp/?$|/amp(?=/)|\.amp(?=\.html?$)|\.amp$)", re.IGNORECASE)
MOBILE_HOST = re.compile(r"^(m|mobile|amp)\.", re.IGNORECASE)


def normalize_url(url: str) -> str:
    """Canonical form used for the article id.

    Lower-cases scheme and host, drops default ports, fragments, tracking parameters
    and `amp`/`outputType=amp` markers, folds m./mobile./amp. hosts onto the main host,
    sorts the remaining query parameters and strips a trailing slash.
    """
    parts = urlsplit(url.strip())
    scheme = (parts.scheme or "http").lower()
    host = (parts.hostname or "").lower().rstrip(".")
    host = MOBILE_HOST.sub("", host) if host.count(".") >= 2 else host
    if host.startswith("www."):
        host = host[4:]
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    path = AMP_PATH.sub("", parts.path or "/") or "/"
    path = re.sub(r"/{2,}", "/", path)
    if len(path) > 1:
        path = path.rstrip("/")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not TRACKING_PARAMS.match(k) and not (k.lower() in ("amp", "outputtype") and v.lower() in ("", "1", "amp", "true"))]
    query.sort()
    # http and https variants of one page are one article.
    return urlunsplit(("https" if scheme in ("http", "https") else scheme, netloc, path, urlencode(query), ""))


def domain_of(url: str) -> str:
    """Site key for per-site learning and facets: host (without www.) plus a non-default port."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    if parts.port and (parts.scheme, parts.port) not in (("http", 80), ("https", 443)):
        return f"{host}:{parts.port}"
    return host
