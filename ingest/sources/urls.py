"""URL checks and normalization.

`check_url` decides whether a URL can be fetched at all (http/https, a host, a port in range,
no control characters, at most `MAX_URL_LENGTH` characters, a valid IPv6 literal or host name)
and answers with one line when it cannot; feeds are checked when they are added (CLI, API, web
form, OPML import) and when feeds.yaml is read, and the fetcher checks every URL and redirect
hop again. `ascii_host` turns an internationalized host (`bücher.example`) into the IDNA form
(`xn--bcher-kva.example`) that DNS, the Host header and TLS (SNI) need.

`normalize_url`: one article, one key, whatever tracking junk or variant a feed links to.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import idna

from ingest.errors import IngestError

TRACKING_PARAMS = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|gclsrc|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|igshid|yclid|twclid|ttclid|"
    r"li_fat_id|_ga|_gl|_hsenc|_hsmi|__hstc|__hssc|__hsfp|hsctatracking|mkt_tok|oly_anon_id|oly_enc_id|"
    r"vero_id|vero_conv|__twitter_impression|ref|ref_src|ref_url|referrer|cmpid|cmp|ito|icid|s_cid|"
    r"at_medium|at_campaign|at_custom\d*|at_[a-z_]+|wt_mc|wt\.mc_id|wt_zmc|xtor|ns_mchannel|ns_source|"
    r"ns_campaign|ns_linkname|ns_fee|sr_share|share|src|feature|rss|partner|spm|smid|ocid|"
    r"_branch_match_id|mbid|cid_source|guccounter|guce_referrer|guce_referrer_sig)$",
    re.IGNORECASE,
)
AMP_PATH = re.compile(r"(/amp/?$|/amp(?=/)|\.amp(?=\.html?$)|\.amp$)", re.IGNORECASE)
MOBILE_HOST = re.compile(r"^(m|mobile|amp)\.", re.IGNORECASE)
AMP_CACHE = re.compile(r"^[a-z0-9-]+\.cdn\.ampproject\.org$", re.IGNORECASE)
AMP_CACHE_PATH = re.compile(r"^/[cvi]/(s/)?(.+)$")
MAX_URL_LENGTH = 4096   # characters; servers commonly refuse beyond 8 KB, feeds never need more
SHOWN = 120             # characters of a bad URL quoted in an error
HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")  # ASCII label (LDH, "_" as seen in the wild)
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


class InvalidURL(IngestError):
    """A URL that can never be fetched; the message is one line quoting (the start of) the URL."""


def shown(url: str) -> str:
    """A URL fit for a one-line message: control characters escaped, long ones shortened."""
    text = url.encode("unicode_escape").decode("ascii") if not url.isprintable() else url
    return text if len(text) <= SHOWN else text[:SHOWN] + f"... ({len(url)} characters)"


def ascii_host(host: str) -> str:
    """The host as DNS, HTTP and TLS need it: IDNA (punycode) for international names, lower case.

    Raises InvalidURL for characters no host name may contain."""
    host = host.lower().rstrip(".")
    if ":" in host:  # an IPv6 literal (urlsplit removed the brackets)
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            raise InvalidURL(f"{host!r} is not a valid IPv6 address") from None
    if not host.isascii():
        try:  # IDNA 2008 with the UTS 46 mapping, as browsers do; the older IDNA 2003 as a fallback
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:
                raise InvalidURL(f"{host!r} is not a valid international host name") from None
    labels = host.split(".")
    if len(host) > 253 or not all(HOST_LABEL.fullmatch(label) for label in labels):
        raise InvalidURL(f"{shown(host)!r} is not a valid host name")
    return host


def check_url(url: object) -> str:
    """The URL, surrounding whitespace stripped, if it can be fetched; InvalidURL (one line) if not."""
    if not isinstance(url, str):
        raise InvalidURL(f"expected a URL, got {type(url).__name__}")
    url = url.strip()
    if not url:
        raise InvalidURL("empty URL")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL(f"{shown(url)}: URL longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise InvalidURL(f"{shown(url)}: URL contains spaces or control characters (encode them as %XX)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", "Port could not be cast..."
        reason = "port must be a number from 1 to 65535" if "Port" in str(exc) else str(exc)
        raise InvalidURL(f"{shown(url)}: {reason}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidURL(f"{shown(url)}: not an http(s) URL")
    if not parts.hostname:
        raise InvalidURL(f"{shown(url)}: URL has no host")
    if port == 0:
        raise InvalidURL(f"{shown(url)}: port must be a number from 1 to 65535")
    try:
        ascii_host(parts.hostname)
    except InvalidURL as exc:
        raise InvalidURL(f"{shown(url)}: {exc}") from None
    return url


def _unamp_cache(url: str) -> str:
    """Google AMP cache URL (https://www-example-com.cdn.ampproject.org/c/s/www.example.com/a) -> the origin URL."""
    parts = urlsplit(url)
    if not AMP_CACHE.match(parts.hostname or ""):
        return url
    m = AMP_CACHE_PATH.match(parts.path)
    if not m:
        return url
    scheme = "https" if m.group(1) else "http"
    return f"{scheme}://{m.group(2)}" + (f"?{parts.query}" if parts.query else "")


def _normalize_escapes(text: str) -> str:
    """Decode percent-escapes of unreserved characters, upper-case the others (RFC 3986 6.2.2)."""
    def fix(m: re.Match) -> str:
        ch = chr(int(m.group(1), 16))
        return ch if ch in UNRESERVED else "%" + m.group(1).upper()
    return PERCENT.sub(fix, text)


def _host(raw: str) -> str:
    host = raw.lower().rstrip(".")
    if host and not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    return host


def strip_tracking(url: str) -> str:
    """The URL as stored and shown: tracking parameters and the fragment removed, everything else as
    given (scheme, host and path stay, so the link still opens where the feed pointed)."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMS.match(k)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def normalize_url(url: str) -> str:
    """Canonical form used for the article id.

    Lower-cases scheme and host (IDN as punycode), drops default ports, fragments, tracking
    parameters and `amp`/`outputType=amp` markers, unwraps Google AMP cache URLs, folds
    m./mobile./amp. and www. hosts onto the main host, normalizes percent-escapes, sorts the
    remaining query parameters and strips a trailing slash. http and https are one article.
    """
    parts = urlsplit(_unamp_cache(url.strip()))
    scheme = (parts.scheme or "http").lower()
    host = site_host(parts.hostname or "")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None or port in (80, 443) else f"{host}:{port}"
    path = _normalize_escapes(parts.path or "/")
    path = AMP_PATH.sub("", path) or "/"
    path = re.sub(r"/{2,}", "/", path)
    if len(path) > 1:
        path = path.rstrip("/")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not TRACKING_PARAMS.match(k)
             and not (k.lower() in ("amp", "outputtype") and v.lower() in ("", "1", "amp", "true"))]
    query.sort()
    # http and https variants of one page are one article.
    return urlunsplit(("https" if scheme in ("http", "https") else scheme, netloc, path, urlencode(query), ""))


def site_host(hostname: str) -> str:
    """The host that names a site, for article ids (`normalize_url`) and site keys (`domain_of`) alike:
    lower-case, IDN as punycode, no trailing dot, m./mobile./amp. and www. folded onto the main host."""
    host = _host(hostname)
    host = MOBILE_HOST.sub("", host) if host.count(".") >= 2 else host
    return host[4:] if host.startswith("www.") else host


def host_key(url: str) -> str:
    """host[:port], lower-cased: the unit of politeness (the fetcher's per-host queues, the poller's
    host interleaving and outage count). Never raises (a malformed URL keys on its netloc)."""
    try:
        parts = urlsplit(url)
        return (parts.hostname or "").lower() + (f":{parts.port}" if parts.port else "")
    except ValueError:  # a bad port or IPv6 literal: the fetch itself reports it, on that feed or entry
        return url.split("//", 1)[-1].split("/", 1)[0].lower()


def domain_of(url: str) -> str:
    """Site key for per-site learning and facets: `site_host` plus a non-default port (one site, one key:
    m.example.com and www.example.com are example.com, as in the article id)."""
    parts = urlsplit(url)
    host = site_host(parts.hostname or "")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and (parts.scheme, port) not in (("http", 80), ("https", 443)):
        return f"{host}:{port}"
    return host
