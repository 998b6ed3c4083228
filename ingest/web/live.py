"""Run the web app in a background thread (tests, screenshots) and launch the system chromium safely.

    with serve_in_thread(create_app(app)) as base_url:
        ...  # e.g. drive /usr/bin/chromium with Playwright's Python package
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


def _chromium() -> str:
    """INGEST_CHROMIUM, else Debian's small headless shell, else the full chromium package."""
    for path in (os.environ.get("INGEST_CHROMIUM"), "/usr/bin/chromium-headless-shell", "/usr/bin/chromium"):
        if path and os.path.exists(path):
            return path
    return "/usr/bin/chromium"


CHROMIUM = _chromium()
# No sandbox (containers), no GPU, and nothing that phones home: the page only talks to 127.0.0.1.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextmanager
def serve_in_thread(web, host: str = "127.0.0.1", port: int = 0, timeout: float = 15.0) -> Iterator[str]:
    """Serve `web` with uvicorn on host:port (0 = a free port) until the block ends; yields the base URL."""
    import uvicorn

    config = uvicorn.Config(web, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="ingest-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"web app did not start on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout)


def launch_chromium(playwright, user_data_dir: str, width: int = 1400, height: int = 1000):
    """A headless persistent context of Debian's chromium with a fresh profile (never `playwright install`)."""
    return playwright.chromium.launch_persistent_context(
        user_data_dir, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        viewport={"width": width, "height": height}, device_scale_factor=1, service_workers="block",
        locale="en-US", timezone_id="UTC")
