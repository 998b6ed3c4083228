"""HTTP fetching with every cap a crawler facing the open web needs.

- connect/read timeouts from httpx plus a total deadline per HTTP exchange, checked on every
  network read while the body streams (a server trickling one byte at a time is cut off; the
  deadline is overshot by at most one read timeout). Waiting for a per-host slot is not counted;
- a cap on the decoded body: gzip/deflate are decoded here with a bounded output size per step,
  so a bomb stops at the cap and never allocates more than the cap (other encodings are refused);
- redirects followed by hand: counted, loop-detected, each hop checked by the SSRF guard;
- every URL and redirect target is checked first (`urls.check_url`: scheme, port, IPv6 literal,
  control characters, length); an international host name is resolved, sent (Host header, SNI)
  in its IDNA form, and the SSRF guard judges the address that name resolves to;
- the SSRF guard resolves the host, checks every address and connects to the checked one;
- per-host politeness (concurrency, minimum gap, Retry-After) shared by feeds and pages, with
  per-host overrides from request profiles;
- request profiles (`ingest.sources.profile`): per feed / per site user agent, headers, cookies and an
  HTTP proxy, resolved for every hop. Through a proxy, an http:// target is still pinned to the
  address the guard checked (the proxy is asked for `http://<checked ip>/...`); an https:// target
  is tunnelled (CONNECT) to its checked host name, since TLS needs the name: the proxy resolves it
  again (a DNS answer changing between our check and the proxy's lookup is the residual risk of
  using a proxy). The proxy's own address is checked by the guard too;
- `post` (WebSub subscriptions): the same guard, pinning, caps and politeness, no redirects.
"""

from __future__ import annotations

import itertools
import threading
import time
import urllib.robotparser
import zlib
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import httpx

from ingest.config import FetchSettings
from ingest.errors import FetchError
from ingest.fetch.netguard import NetworkGuard
from ingest.fetch.politeness import HostLimiter
from ingest.models import FetchResponse, parse_retry_after
from ingest.redact import redact
from ingest.sources.profile import ProfileBook, RequestProfile
from ingest.sources.urls import InvalidURL, ascii_host, check_url, host_key, shown

REDIRECTS = {301, 302, 303, 307, 308}


class Fetcher:
    """Thread-safe fetcher; one per process, shared by feed polls and page fetches."""

    def __init__(self, settings: FetchSettings, limiter: HostLimiter | None = None):
        self.settings = settings
        self.guard = NetworkGuard(settings.allow_networks)
        self.profiles = ProfileBook()  # request profiles (the app sets them from feeds.yaml and config/sites)
        self.limiter = limiter or HostLimiter(settings.per_host_concurrency, settings.per_host_min_interval,
                                              overrides=self.politeness)
        ua = settings.user_agent
        if settings.contact_url and settings.contact_url not in ua:
            ua = f"{ua} (+{settings.contact_url})"
        self._client = self._new_client({"User-Agent": ua, "Accept-Encoding": "gzip, deflate"})
        self._proxied: dict[str, httpx.Client] = {}
        self._proxied_lock = threading.Lock()
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self._robots_lock = threading.Lock()
        self._counter = itertools.count(1)
        self.requests = 0  # HTTP requests sent (robots.txt included)

    def _new_client(self, headers: dict[str, str] | None = None, proxy: str | None = None) -> httpx.Client:
        settings = self.settings
        return httpx.Client(
            timeout=httpx.Timeout(connect=settings.timeout_connect, read=settings.timeout_read,
                                  write=settings.timeout_read, pool=settings.timeout_total),
            follow_redirects=False, headers=headers if headers is not None else dict(self._client.headers),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            proxy=proxy, trust_env=not proxy,  # a profile's proxy is used as given, never the environment's
        )

    def politeness(self, host: str) -> tuple[int, float] | None:
        """(concurrency, min_interval) for a host whose profile overrides them, else None."""
        p = self.profiles.politeness(host)
        if p is None:
            return None
        return (p.concurrency or self.settings.per_host_concurrency,
                self.settings.per_host_min_interval if p.min_interval is None else p.min_interval)

    def close(self) -> None:
        self._client.close()
        with self._proxied_lock:
            for client in self._proxied.values():
                client.close()
            self._proxied.clear()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- public API ---------------------------------------------------------------------------

    def get(self, url: str, headers: dict[str, str] | None = None, max_bytes: int | None = None,
            check_robots: bool = False, feed: str | None = None, profile: RequestProfile | None = None
            ) -> FetchResponse:
        """GET url. Returns 2xx and 304 responses; raises FetchError for everything else.

        `feed`: the feed this request is made for (its request profile applies, on top of the site's);
        `profile`: that profile given directly."""
        cap = max_bytes or self.settings.max_bytes
        seen: set[str] = set()
        current = url
        started = time.monotonic()
        for _hop in range(self.settings.max_redirects + 1):
            if current in seen:
                raise FetchError(url, "redirect", f"redirect loop at {current}")
            seen.add(current)
            hop = self.profiles.effective(current, feed, profile)
            if check_robots and self.settings.respect_robots and not self._robots_allow(current, hop):
                raise FetchError(current, "refused", "disallowed by robots.txt")
            sent = {**(hop.request_headers(current) if hop else {}), **(headers or {})}
            status, resp_headers, body = self._request(current, sent, cap, hop.proxy if hop else None)
            if status in REDIRECTS:
                location = resp_headers.get("location")
                if not location:
                    raise FetchError(current, "http", f"HTTP {status} without Location", status=status)
                try:
                    current = urljoin(current, location)
                except ValueError as exc:  # "Invalid IPv6 URL": checked like any other URL would be
                    raise FetchError(current, "refused", f"redirect to a malformed URL: {exc}") from None
                continue
            if status == 304 or 200 <= status < 300:
                return FetchResponse(url=url, final_url=current, status=status, headers=resp_headers,
                                     content=body, elapsed=time.monotonic() - started)
            retry_after = parse_retry_after(resp_headers.get("retry-after"))
            if status in (429, 503) and retry_after is None:
                retry_after = 60.0
            if retry_after is not None and status in (429, 503):
                self.limiter.defer(host_key(current), min(retry_after, 86400))
            raise FetchError(current, "http", f"HTTP {status}", status=status, retry_after=retry_after)
        raise FetchError(url, "redirect", f"more than {self.settings.max_redirects} redirects")

    # -- internals ----------------------------------------------------------------------------

    def _pinned(self, url: str) -> tuple[str, dict[str, str], dict]:
        """Check the target with the SSRF guard; return a URL aimed at the checked address."""
        try:
            check_url(url)
        except InvalidURL as exc:
            raise FetchError(shown(url), "refused", str(exc).removeprefix(shown(url) + ": ")) from None
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = ascii_host(parts.hostname or "")
        port = parts.port or (443 if scheme == "https" else 80)
        try:
            ip = self.guard.check(host, port)
        except PermissionError as exc:
            raise FetchError(url, "refused", str(exc)) from None
        except OSError as exc:
            raise FetchError(url, "network", f"cannot resolve {host}: {exc.strerror or exc}") from None
        ip_host = f"[{ip}]" if ip.version == 6 else str(ip)
        netloc = ip_host + (f":{parts.port}" if parts.port else "")
        pinned = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
        host_header = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
        extensions = {"sni_hostname": host} if scheme == "https" else {}
        return pinned, {"Host": host_header}, extensions

    def post(self, url: str, data: dict[str, str], max_bytes: int = 100_000) -> tuple[int, bytes]:
        """POST a form to url (a WebSub hub): guarded like `get`, no redirects followed. (status, body)."""
        hop = self.profiles.effective(url)
        body = urlencode(data).encode()
        headers = {**(hop.request_headers(url) if hop else {}),
                   "Content-Type": "application/x-www-form-urlencoded"}
        status, _headers, content = self._request(url, headers, max_bytes, hop.proxy if hop else None,
                                                  method="POST", body=body)
        return status, content

    def _client_for(self, proxy: str | None) -> httpx.Client:
        """The plain client, or one per proxy, aimed at the proxy's checked address."""
        if not proxy:
            return self._client
        parts = urlsplit(proxy)
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        try:
            ip = self.guard.check(ascii_host(parts.hostname or ""), port)
        except PermissionError as exc:
            raise FetchError(shown(proxy), "refused", f"proxy: {exc}") from None
        except OSError as exc:
            raise FetchError(shown(proxy), "network", f"cannot resolve proxy {parts.hostname}: "
                                                      f"{exc.strerror or exc}") from None
        userinfo = proxy.split("//", 1)[1].split("@", 1)[0] + "@" if "@" in parts.netloc else ""
        pinned = f"{parts.scheme}://{userinfo}{f'[{ip}]' if ip.version == 6 else ip}:{port}"
        with self._proxied_lock:
            client = self._proxied.get(pinned)
            if client is None:
                client = self._proxied[pinned] = self._new_client(proxy=pinned)
            return client

    def _request(self, url: str, headers: dict[str, str], cap: int, proxy: str | None = None,
                 method: str = "GET", body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        host = host_key(url)
        blocked = self.limiter.blocked_for(host)
        if blocked > 5:
            raise FetchError(url, "deferred", f"host asked us to wait {blocked:.0f}s (Retry-After)",
                             retry_after=blocked)
        pinned, extra_headers, extensions = self._pinned(url)
        client = self._client_for(proxy)
        if proxy and url.lower().startswith("https:"):  # tunnelled by name: TLS checks the name (module docstring)
            pinned, extra_headers = url.split("#", 1)[0], {}
        with self.limiter.slot(host):
            self.requests = next(self._counter)
            deadline = time.monotonic() + self.settings.timeout_total
            try:
                request = client.build_request(method, pinned, headers={**headers, **extra_headers},
                                               extensions=extensions, content=body)
                response = client.send(request, stream=True)
                self.limiter.sent(host)  # politeness gaps count from when the server had the request
            except httpx.TimeoutException:
                raise FetchError(url, "timeout", "timed out waiting for the server" + _via(proxy)) from None
            except httpx.HTTPError as exc:
                raise FetchError(url, "network", f"{type(exc).__name__}: {exc}{_via(proxy)}") from None
            try:
                resp_headers = {k.lower(): v for k, v in response.headers.items()}
                if response.status_code in REDIRECTS or response.status_code == 304 or response.status_code >= 400:
                    return response.status_code, resp_headers, b""
                declared = resp_headers.get("content-length", "")
                if declared.isdigit() and int(declared) > cap:
                    raise FetchError(url, "too_large", f"declared size {declared} bytes exceeds cap {cap}")
                return response.status_code, resp_headers, self._read_capped(response, url, cap, deadline)
            finally:
                response.close()

    def _read_capped(self, response: httpx.Response, url: str, cap: int, deadline: float) -> bytes:
        """Read and decode the body; stop at the cap (decoded size) or at the deadline."""
        decoder = _Decoder(response.headers.get("content-encoding", ""), url)
        chunks: list[bytes] = []
        size = 0
        try:
            for raw in response.iter_raw():  # each network read as it arrives: the deadline is checked often
                if time.monotonic() > deadline:
                    raise FetchError(url, "timeout", f"download exceeded {self.settings.timeout_total:g}s total")
                for piece in decoder.feed(raw, cap - size + 1):
                    size += len(piece)
                    if size > cap:
                        raise FetchError(url, "too_large", f"body exceeds cap of {cap} bytes (after decompression)")
                    chunks.append(piece)
        except httpx.TimeoutException:
            raise FetchError(url, "timeout", "timed out while reading the body") from None
        except httpx.HTTPError as exc:
            raise FetchError(url, "network", f"{type(exc).__name__}: {exc}") from None
        return b"".join(chunks)

    def _robots_allow(self, url: str, profile: RequestProfile | None = None) -> bool:
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        with self._robots_lock:
            known = root in self._robots
            parser = self._robots.get(root)
        if not known:
            parser = urllib.robotparser.RobotFileParser()
            try:
                resp = self.get(root + "/robots.txt", max_bytes=500_000, profile=profile)
                parser.parse(resp.content.decode("utf-8", "replace").splitlines())
            except FetchError:
                # No robots.txt (4xx) allows everything; network trouble must not block articles either.
                parser = None
            with self._robots_lock:
                self._robots[root] = parser
        agent = (profile.user_agent if profile else None) or self._client.headers["User-Agent"]
        return parser is None or parser.can_fetch(agent, url)


def _via(proxy: str | None) -> str:
    """Where a request went when a proxy was used (its credentials masked): part of the error line."""
    return f" (via proxy {redact(proxy)})" if proxy else ""


class _Decoder:
    """Content-Encoding decoder whose every step yields at most `limit` bytes (so a bomb cannot balloon)."""

    def __init__(self, encoding: str, url: str):
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip() and c.strip().lower() != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError(url, "http", f"unsupported Content-Encoding {encoding!r} (gzip and deflate are accepted)")
        self.url = url
        self.kind = codings[0] if codings else None
        self._z = self._new()
        self._started = False

    def _new(self):
        if self.kind in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self.kind == "deflate":
            return zlib.decompressobj()
        return None

    def feed(self, data: bytes, limit: int):
        if self._z is None:
            yield data
            return
        if self.kind == "deflate" and not self._started and data:
            self._started = True
            try:  # "deflate" is meant to be zlib-wrapped, but servers often send raw deflate
                zlib.decompressobj().decompress(data[:64], 1)
            except zlib.error:
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
        while data:
            try:
                out = self._z.decompress(data, max(1, limit))
            except zlib.error as exc:
                raise FetchError(self.url, "network", f"cannot decode {self.kind} body: {exc}") from None
            limit -= len(out)
            if out:
                yield out
            data = self._z.unconsumed_tail
            if self._z.eof:
                rest = self._z.unused_data
                if not rest.strip(b"\0"):
                    return
                self._z = self._new()  # another gzip member follows
                data = rest
            elif not out and not data:
                return
