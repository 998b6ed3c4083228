r"""Request profiles: how one feed (or one site) is asked for its documents.

    # config/feeds.yaml                              # config/sites/example.org.yaml
    - url: https://news.example.org/rss              domain: example.org
      profile:                                       request:            # every feed and page of the host
        user_agent: "Mozilla/5.0 (X11; Linux) ..."     user_agent: "Mozilla/5.0 ..."
        headers: {Accept-Language: de}                 politeness: {min_interval: 2}
        cookies:
          consent: "yes"
          session: ${NEWS_SESSION}         # a secret from the environment ...
          token: {file: secrets/news-token}  # ... or from a file (relative to the config file)
        proxy: http://user:${PROXY_PASSWORD}@proxy.example.net:3128
        fetch_pages: false                 # store the feed's own text, never fetch article pages
        politeness: {concurrency: 1, min_interval: 5}   # for the feed's host

Resolution (`ProfileBook.effective`): the site's `request:` section for the requested host, with
the feed's `profile:` on top (the feed wins key by key; headers and cookies merge by name).

Secrets: any value written with `${VAR}` or as `{file: PATH}` / `{env: VAR}` is a secret. It is
registered with `ingest.redact` when loaded (so no log line, error or status output can carry
it), shown as `***` by `shown()` (`ingest feeds list --json`), and the credentials in a proxy URL
are registered the same way. A missing variable or unreadable file is a ConfigError naming the
file, the feed and the key.

Where cookies and secret headers go: only to the host they were configured for (the feed's host
for a feed profile, the site's domain and its subdomains for a site profile), also across
redirects; a redirect or an article page on another host gets the user agent and the plain
headers only. Pages on other hosts get their cookies from that host's `config/sites/` file.

What the profile cannot change: the SSRF guard, the size, time and decompression caps, and
the `Host`, `Accept-Encoding`, `Content-Length`, `Transfer-Encoding` and `Connection` headers.
A proxy is not a way round the guard: the target of every request is still resolved and checked
and the request is aimed at the checked address, and the proxy's own address is checked by the
same guard (a proxy on a private or loopback address needs it in `fetch.allow_networks`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ingest.config import parse_flag
from ingest.errors import ConfigError
from ingest.redact import MASK, redact, register_secret, register_url

KEYS = ("user_agent", "headers", "cookies", "proxy", "fetch_pages", "politeness")
POLITENESS_KEYS = ("concurrency", "min_interval")
FIXED_HEADERS = {"host", "accept-encoding", "content-length", "transfer-encoding", "connection", "te",
                 "upgrade", "proxy-authorization", "user-agent", "cookie"}
TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Politeness:
    """Per-host overrides of fetch.per_host_concurrency / per_host_min_interval (None: the default)."""

    concurrency: int | None = None
    min_interval: float | None = None

    def stricter(self, other: Politeness | None) -> Politeness:
        """The more polite of two overrides, field by field (two feeds of one host asking differently)."""
        if other is None:
            return self
        return Politeness(_min(self.concurrency, other.concurrency), _max(self.min_interval, other.min_interval))


def _min(a, b):
    return b if a is None else a if b is None else min(a, b)


def _max(a, b):
    return b if a is None else a if b is None else max(a, b)


@dataclass(frozen=True, slots=True)
class Value:
    """A header or cookie value, and the hosts it may be sent to (None: every host)."""

    text: str
    secret: bool = False
    scope: tuple[str, ...] | None = None


@dataclass(slots=True)
class RequestProfile:
    user_agent: str | None = None
    headers: dict[str, Value] = field(default_factory=dict)
    cookies: dict[str, Value] = field(default_factory=dict)
    proxy: str | None = None
    fetch_pages: bool | None = None
    politeness: Politeness | None = None
    source: str = ""
    raw: dict[str, Any] = field(default_factory=dict)  # the mapping as written (`${VAR}` unexpanded): saved back

    def over(self, base: RequestProfile | None) -> RequestProfile:
        """This profile on top of `base` (a site's): set keys win, headers and cookies merge by name."""
        if base is None:
            return self
        headers = {k: v for k, v in base.headers.items() if k.lower() not in {h.lower() for h in self.headers}}
        return RequestProfile(
            user_agent=self.user_agent or base.user_agent, headers={**headers, **self.headers},
            cookies={**base.cookies, **self.cookies}, proxy=self.proxy or base.proxy,
            fetch_pages=base.fetch_pages if self.fetch_pages is None else self.fetch_pages,
            politeness=self.politeness or base.politeness, source=self.source)

    def request_headers(self, url: str) -> dict[str, str]:
        """The headers this profile adds to a request for `url` (cookies only within their scope)."""
        host = _host(url)
        out = {name: v.text for name, v in self.headers.items() if _in_scope(host, v.scope)}
        if self.user_agent:
            out["User-Agent"] = self.user_agent
        cookies = "; ".join(f"{name}={v.text}" for name, v in self.cookies.items() if _in_scope(host, v.scope))
        if cookies:
            out["Cookie"] = cookies
        return out

    def shown(self) -> dict[str, Any]:
        """For display (`feeds list --json`): secret values masked, proxy credentials masked."""
        out: dict[str, Any] = {}
        if self.user_agent:
            out["user_agent"] = self.user_agent
        if self.headers:
            out["headers"] = {k: MASK if v.secret else v.text for k, v in self.headers.items()}
        if self.cookies:
            out["cookies"] = {k: MASK if v.secret else v.text for k, v in self.cookies.items()}
        if self.proxy:
            out["proxy"] = redact(self.proxy)
        if self.fetch_pages is not None:
            out["fetch_pages"] = self.fetch_pages
        if self.politeness is not None:
            out["politeness"] = {k: getattr(self.politeness, k) for k in POLITENESS_KEYS
                                 if getattr(self.politeness, k) is not None}
        return out


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _in_scope(host: str, scope: tuple[str, ...] | None) -> bool:
    """Cookie semantics: a host and its subdomains, whatever the port (a site's `domain` may name one)."""
    if scope is None:
        return True
    names = [s.rsplit(":", 1)[0] if s.count(":") == 1 else s for s in scope]
    return any(host == s or host.endswith("." + s) for s in names)


def feed_scope(url: str) -> tuple[str, ...]:
    """Where a feed profile's cookies go: the feed's host (with or without www.)."""
    return (_host(url).removeprefix("www."),)


# -- parsing ---------------------------------------------------------------------------------------

class _Reader:
    """Parses one profile mapping; every error names the file and the full key."""

    def __init__(self, file: str, prefix: str, env: Mapping[str, str], scope: tuple[str, ...] | None):
        self.file, self.prefix, self.env, self.scope = file, prefix, env, scope

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(self.file, f"{self.prefix}.{key}" if key else self.prefix, message)

    def secret_text(self, raw: Any, key: str) -> tuple[str, bool]:
        """(value, is it a secret): `${VAR}` inside a string, or {env: VAR} / {file: PATH}."""
        if isinstance(raw, dict):
            if len(raw) != 1 or next(iter(raw)) not in ("env", "file"):
                raise self.fail(key, "expected a text, {env: VARIABLE} or {file: PATH}")
            kind, name = next(iter(raw.items()))
            if not isinstance(name, str) or not name.strip():
                raise self.fail(f"{key}.{kind}", "expected a name")
            value = self._env(name.strip(), key) if kind == "env" else self._file(name.strip(), key)
            register_secret(value)
            return value, True
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise self.fail(key, "expected a text")
        text = str(raw)
        used: list[str] = []

        def sub(m: re.Match) -> str:
            used.append(self._env(m.group(1), key))
            return used[-1]

        value = ENV_REF.sub(sub, text)
        register_secret(*used)
        return value, bool(used)

    def _env(self, name: str, key: str) -> str:
        if name not in self.env:
            raise self.fail(key, f"environment variable {name} is not set")
        return self.env[name]

    def _file(self, name: str, key: str) -> str:
        path = Path(name).expanduser()
        if not path.is_absolute():
            path = Path(self.file).parent / path
        try:
            return path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise self.fail(key, f"cannot read secret file {path}: {getattr(exc, 'strerror', None) or exc}") from None

    def values(self, raw: Any, key: str, header: bool) -> dict[str, Value]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise self.fail(key, "expected a mapping of names to values")
        out: dict[str, Value] = {}
        for name, value in raw.items():
            if not isinstance(name, str) or not TOKEN.match(name):
                raise self.fail(f"{key}.{name}", "not a valid name (letters, digits and !#$%&'*+.^_`|~-)")
            if header and name.lower() in FIXED_HEADERS:
                hint = " (use user_agent)" if name.lower() == "user-agent" else \
                    " (use cookies)" if name.lower() == "cookie" else ""
                raise self.fail(f"{key}.{name}", f"this header is set by the fetcher and cannot be changed{hint}")
            text, secret = self.secret_text(value, f"{key}.{name}")
            if BAD_VALUE.search(text) or (not header and (";" in text or "," in text)):
                raise self.fail(f"{key}.{name}", "control characters" + ("" if header else ", ';' or ','")
                                + " are not allowed in the value")
            scope = self.scope if (secret or not header) else None  # cookies and secret headers stay on their host
            out[name] = Value(text, secret, scope)
        return out

    def proxy(self, raw: Any) -> str | None:
        if raw is None:
            return None
        url, _secret = self.secret_text(raw, "proxy")
        register_url(url)
        try:
            parts = urlsplit(url)
            _ = parts.port
        except ValueError as exc:
            raise self.fail("proxy", f"not a URL: {exc}") from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
            raise self.fail("proxy", "expected http://[user:password@]host:port (http or https proxies)")
        return url

    def politeness(self, raw: Any) -> Politeness | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise self.fail("politeness", "expected {concurrency: N, min_interval: SECONDS}")
        unknown = [k for k in raw if k not in POLITENESS_KEYS]
        if unknown:
            raise self.fail(f"politeness.{unknown[0]}", f"unknown key (known: {', '.join(POLITENESS_KEYS)})")
        conc, gap = raw.get("concurrency"), raw.get("min_interval")
        if conc is not None and (isinstance(conc, bool) or not isinstance(conc, int) or conc < 1):
            raise self.fail("politeness.concurrency", "expected a whole number of at least 1")
        if gap is not None and (isinstance(gap, bool) or not isinstance(gap, int | float) or gap < 0):
            raise self.fail("politeness.min_interval", "expected a number of seconds (0 or more)")
        return Politeness(conc, float(gap) if gap is not None else None)


def parse_profile(raw: Any, file: str, prefix: str, env: Mapping[str, str] | None = None,
                  scope: tuple[str, ...] | None = None) -> RequestProfile | None:
    """A `profile:` (feeds.yaml) or `request:` (config/sites) mapping; None when absent.

    `prefix` is the key path shown in errors (e.g. `feeds[2] (https://x.org/rss).profile`); `scope`
    the hosts its cookies and secret headers may go to."""
    if raw is None:
        return None
    reader = _Reader(file, prefix, os.environ if env is None else env, scope)
    if not isinstance(raw, dict):
        raise reader.fail("", f"expected a mapping ({', '.join(KEYS)})")
    unknown = [k for k in raw if k not in KEYS]
    if unknown:
        raise reader.fail(str(unknown[0]), f"unknown key (known: {', '.join(KEYS)})")
    ua = None
    if raw.get("user_agent") is not None:
        ua, _ = reader.secret_text(raw["user_agent"], "user_agent")
        if BAD_VALUE.search(ua) or not ua.strip():
            raise reader.fail("user_agent", "expected a non-empty text without control characters")
    fetch_pages = None
    if raw.get("fetch_pages") is not None:
        try:
            fetch_pages = parse_flag(raw["fetch_pages"])
        except ValueError as exc:
            raise reader.fail("fetch_pages", str(exc)) from None
    return RequestProfile(user_agent=ua, headers=reader.values(raw.get("headers"), "headers", header=True),
                          cookies=reader.values(raw.get("cookies"), "cookies", header=False),
                          proxy=reader.proxy(raw.get("proxy")), fetch_pages=fetch_pages,
                          politeness=reader.politeness(raw.get("politeness")), source=file, raw=dict(raw))


# -- OPML: FreshRSS's namespace carries the cURL options (https://freshrss.org/opml) ------------------

OPML_NS = "https://freshrss.org/opml"
OPML_KEYS = {"user_agent": "CURLOPT_USERAGENT", "cookies": "CURLOPT_COOKIE", "headers": "CURLOPT_HTTPHEADER",
             "proxy": "CURLOPT_PROXY"}


def to_opml_attributes(profile: RequestProfile) -> dict[str, str]:
    """The profile as FreshRSS OPML attributes (namespaced). Written as in feeds.yaml, so a `${VAR}`
    reference travels, never its value; `{file:}`/`{env:}` values, `fetch_pages` and `politeness`
    have no OPML convention and stay in feeds.yaml only."""
    raw, out = profile.raw, {}
    if isinstance(raw.get("user_agent"), str):
        out["CURLOPT_USERAGENT"] = raw["user_agent"]
    plain = {k: v for k, v in (raw.get("cookies") or {}).items() if isinstance(v, str | int | float)}
    if plain:
        out["CURLOPT_COOKIE"] = "; ".join(f"{k}={v}" for k, v in plain.items())
    plain = {k: v for k, v in (raw.get("headers") or {}).items() if isinstance(v, str | int | float)}
    if plain:
        out["CURLOPT_HTTPHEADER"] = "\n".join(f"{k}: {v}" for k, v in plain.items())
    if isinstance(raw.get("proxy"), str):
        out["CURLOPT_PROXY"] = raw["proxy"]
    return {f"{{{OPML_NS}}}{k}": v for k, v in out.items()}


def from_opml_attributes(attrs: Mapping[str, str]) -> dict[str, Any] | None:
    """A `profile:` mapping from an outline's FreshRSS cURL attributes (None when it has none)."""
    got = {key: attrs.get(f"{{{OPML_NS}}}{name}") for key, name in OPML_KEYS.items()}
    raw: dict[str, Any] = {}
    if got["user_agent"]:
        raw["user_agent"] = got["user_agent"]
    if got["cookies"]:
        pairs = [p.strip().partition("=") for p in got["cookies"].split(";") if "=" in p]
        raw["cookies"] = {k.strip(): v.strip() for k, _, v in pairs if k.strip()}
    if got["headers"]:
        lines = [line.partition(":") for line in got["headers"].splitlines() if ":" in line]
        raw["headers"] = {k.strip(): v.strip() for k, _, v in lines if k.strip()}
    if got["proxy"]:
        proxy = got["proxy"].strip()
        raw["proxy"] = proxy if "://" in proxy else "http://" + proxy
    return raw or None


# -- the book: which profile applies to a request ----------------------------------------------------

class ProfileBook:
    """Site profiles by domain and feed profiles by feed URL; one per fetcher, replaced as a whole."""

    def __init__(self, sites: Mapping[str, RequestProfile] | None = None,
                 feeds: Iterable[tuple[str, RequestProfile | None]] = ()):
        self.sites = dict(sites or {})
        self.feeds: dict[str, RequestProfile] = {}
        self._hosts: dict[str, Politeness] = {}
        for url, profile in feeds:
            self.remember(url, profile)

    def remember(self, feed_url: str, profile: RequestProfile | None) -> None:
        """A feed's profile (from feeds.yaml as last read): its pages are fetched with it too."""
        if profile is None:
            self.feeds.pop(feed_url, None)
            return
        self.feeds[feed_url] = profile
        if profile.politeness is not None:
            host = _host_key(feed_url)
            self._hosts[host] = profile.politeness.stricter(self._hosts.get(host))

    def site(self, url: str) -> RequestProfile | None:
        """The `request:` section of the site the URL belongs to (host:port, host, parent domains)."""
        if not self.sites:
            return None
        key = _host_key(url).removeprefix("www.")
        host = key.split(":", 1)[0] if not key.startswith("[") else key
        if key in self.sites:
            return self.sites[key]
        labels = host.split(".")
        for i in range(len(labels) - 1):
            found = self.sites.get(".".join(labels[i:]))
            if found is not None:
                return found
        return None

    def effective(self, url: str, feed_url: str | None = None,
                  profile: RequestProfile | None = None) -> RequestProfile | None:
        """The profile for a request of `url` made for a feed: the feed's on top of the site's."""
        mine = profile if profile is not None else self.feeds.get(feed_url or "")
        site = self.site(url)
        if mine is None:
            return site
        return mine.over(site)

    def fetch_pages(self, feed_url: str, page_url: str) -> bool:
        profile = self.effective(page_url, feed_url)
        return profile is None or profile.fetch_pages is not False

    def politeness(self, host: str) -> Politeness | None:
        """Overrides for a host (`host_key` form): the feeds' (strictest of them) over the site's."""
        site = self.site(f"http://{host}/")
        feed = self._hosts.get(host)
        if feed is None:
            return site.politeness if site else None
        if site is None or site.politeness is None:
            return feed
        return replace(site.politeness, **{k: getattr(feed, k) for k in POLITENESS_KEYS if getattr(feed, k) is not None})


def _host_key(url: str) -> str:
    try:
        parts = urlsplit(url)
        return (parts.hostname or "").lower() + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return ""
