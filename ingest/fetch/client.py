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
- per-host politeness (concurrency, minimum gap, Retry-After) shared by feeds and pages.
"""

from __future__ import annotations

import itertools
import threading
import time
import urllib.robotparser
import zlib
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from ingest.config import FetchSettings
from ingest.errors import FetchError
from ingest.fetch.netguard import NetworkGuard
from ingest.fetch.politeness import HostLimiter
from ingest.models import FetchResponse, parse_retry_after
from ingest.sources.urls import InvalidURL, ascii_host, check_url, host_key, shown

REDIRECTS = {301, 302, 303, 307, 308}


class Fetcher:
    """Thread-safe fetcher; one per process, shared by feed polls and page fetches."""

    def __init__(self, settings: FetchSettings, limiter: HostLimiter | None = None):
        self.settings = settings
        self.guard = NetworkGuard(settings.allow_networks)
        self.limiter = limiter or HostLimiter(settings.per_host_concurrency, settings.per_host_min_interval)
        ua = settings.user_agent
        if settings.contact_url and settings.contact_url not in ua:
            ua = f"{ua} (+{settings.contact_url})"
        self._client = httpx.Client(
            timeout=httpx.Timeout(connect=settings.timeout_connect, read=settings.timeout_read,
                                  write=settings.timeout_read, pool=settings.timeout_total),
            follow_redirects=False,
            headers={"User-Agent": ua, "Accept-Encoding": "gzip, deflate"},
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self._robots_lock = threading.Lock()
        self._counter = itertools.count(1)
        self.requests = 0  # HTTP requests sent (robots.txt included)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- public API ---------------------------------------------------------------------------

    def get(self, url: str, headers: dict[str, str] | None = None, max_bytes: int | None = None,
            check_robots: bool = False) -> FetchResponse:
        """GET url. Returns 2xx and 304 responses; raises FetchError for everything else."""
        cap = max_bytes or self.settings.max_bytes
        seen: set[str] = set()
        current = url
        started = time.monotonic()
        for _hop in range(self.settings.max_redirects + 1):
            if current in seen:
                raise FetchError(url, "redirect", f"redirect loop at {current}")
            seen.add(current)
            if check_robots and self.settings.respect_robots and not self._robots_allow(current):
                raise FetchError(current, "refused", "disallowed by robots.txt")
            status, resp_headers, body = self._request(current, headers or {}, cap)
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

    def _request(self, url: str, headers: dict[str, str], cap: int) -> tuple[int, dict[str, str], bytes]:
        host = host_key(url)
        blocked = self.limiter.blocked_for(host)
        if blocked > 5:
            raise FetchError(url, "deferred", f"host asked us to wait {blocked:.0f}s (Retry-After)",
                             retry_after=blocked)
        pinned, extra_headers, extensions = self._pinned(url)
        with self.limiter.slot(host):
            self.requests = next(self._counter)
            deadline = time.monotonic() + self.settings.timeout_total
            try:
                request = self._client.build_request("GET", pinned, headers={**headers, **extra_headers},
                                                     extensions=extensions)
                response = self._client.send(request, stream=True)
                self.limiter.sent(host)  # politeness gaps count from when the server had the request
            except httpx.TimeoutException:
                raise FetchError(url, "timeout", "timed out waiting for the server") from None
            except httpx.HTTPError as exc:
                raise FetchError(url, "network", f"{type(exc).__name__}: {exc}") from None
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

    def _robots_allow(self, url: str) -> bool:
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        with self._robots_lock:
            known = root in self._robots
            parser = self._robots.get(root)
        if not known:
            parser = urllib.robotparser.RobotFileParser()
            try:
                resp = self.get(root + "/robots.txt", max_bytes=500_000)
                parser.parse(resp.content.decode("utf-8", "replace").splitlines())
            except FetchError:
                # No robots.txt (4xx) allows everything; network trouble must not block articles either.
                parser = None
            with self._robots_lock:
                self._robots[root] = parser
        return parser is None or parser.can_fetch(self._client.headers["User-Agent"], url)


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
