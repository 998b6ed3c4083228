"""Write protection and response headers.

The web app is read-only unless a write token is configured: the environment variable named by
`web.write_token_env` (default INGEST_WEB_TOKEN). Write requests carry it as
`Authorization: Bearer TOKEN`, an `X-Ingest-Token` header, or a `token` form field; it is compared in
constant time. Every response gets a Content-Security-Policy that only allows this origin, so a page
can never pull scripts or styles from anywhere else (no CDN).
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from fastapi import HTTPException

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def token_from_env(var_name: str, env: dict[str, str] | None = None) -> str | None:
    value = (os.environ if env is None else env).get(var_name, "")
    return value.strip() or None


def bearer(authorization: str | None, header_token: str | None, form_token: str | None = None) -> str | None:
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return (header_token or form_token or "").strip() or None


def check_write(expected: str | None, supplied: str | None, var_name: str) -> None:
    """Raise 403 when writes are disabled, 401 when the token is missing or wrong."""
    if not expected:
        raise HTTPException(403, f"read-only: writes are disabled (set {var_name} to enable them)")
    if not supplied or not hmac.compare_digest(supplied.encode("utf-8"), expected.encode("utf-8")):
        raise HTTPException(401, "a valid write token is required", headers={"WWW-Authenticate": "Bearer"})


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
