"""Request limits, enforced before any route runs (an ASGI middleware around the whole app).

- bodies: a declared Content-Length over `MAX_BODY_BYTES` is answered 413 before a byte of the
  body is read; a body without a length (chunked) is counted while it streams and cut off at the
  same size (the 413 is sent at once and the app reads a disconnect). Every route, with or
  without a token: the token is checked after the body has been read, so the cap comes first;
- query strings: at most `MAX_QUERY_BYTES` bytes and `MAX_PARAMS` parameters (400); each
  repeated filter (`source=`, `lang=`, `tag=`) takes at most `service.MAX_VALUES` values.
"""

from __future__ import annotations

import json

from ingest.web.security import HEADERS

MAX_BODY_BYTES = 1024 * 1024   # forms and JSON bodies of this app are a few KB
MAX_QUERY_BYTES = 32 * 1024
MAX_PARAMS = 300


class RequestLimits:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app, max_body: int = MAX_BODY_BYTES, max_query: int = MAX_QUERY_BYTES,
                 max_params: int = MAX_PARAMS):
        self.app, self.max_body, self.max_query, self.max_params = app, max_body, max_query, max_params

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._check_head(scope)
        if problem:
            await _reject(send, *problem)
            return
        received, started, rejected = 0, False, False

        async def limited_receive():
            nonlocal received, started, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:  # answer now; the app sees a client that went away
                    rejected = True
                    if not started:
                        started = True
                        await _reject(send, 413, f"request body larger than {self.max_body} bytes")
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            nonlocal started
            if rejected:
                return  # the 413 has been sent: the app's own answer is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:  # noqa: BLE001 - the app's reaction to the cut-off body (ClientDisconnect...)
            if not rejected:
                raise

    def _check_head(self, scope) -> tuple[int, str] | None:
        query = scope.get("query_string", b"")
        if len(query) > self.max_query:
            return 414, f"query string longer than {self.max_query} bytes"
        if query and query.count(b"&") + 1 > self.max_params:
            return 400, f"more than {self.max_params} query parameters"
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if not value.isdigit():
                    return 400, "invalid Content-Length"
                if int(value) > self.max_body:
                    return 413, f"request body larger than {self.max_body} bytes"
        return None


async def _reject(send, status: int, message: str) -> None:
    body = json.dumps({"error": "request too large" if status in (413, 414) else "bad request",
                       "message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]
    headers += [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
