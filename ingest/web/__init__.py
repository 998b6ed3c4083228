"""The web app: search, dashboards, feed health and alerts over either store backend.

    from ingest.web import create_app
    web = create_app(ingest_app)   # a FastAPI app; `ingest serve` runs it with uvicorn
"""

from ingest.web.server import create_app

__all__ = ["create_app"]
