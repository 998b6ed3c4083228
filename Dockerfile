# The ingester image: `ingest run` by default; the same image serves `ingest serve` and `ingest es setup`.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ingest ./ingest
RUN pip install --upgrade pip && pip install .
# The compound splitter's word lists and link-usage tables, built once at build time (not on the first article).
ENV INGEST_CACHE_DIR=/app/cache
RUN python -c "from ingest.enrich.compounds import lexicon, foreign, proper_names, link_usage; [(lexicon(l), proper_names(l), link_usage(l)) for l in ('de', 'nl', 'sv', 'da', 'no')]; foreign()"
COPY config ./config
RUN useradd --system --home /app ingest && mkdir -p /app/data && chown -R ingest /app/data
USER ingest
VOLUME ["/app/data"]
ENV INGEST_HOME=/app
# The daemon touches data/ingest.db.heartbeat every minute; `ingest health` fails when it is stale
# or the store cannot be read (the web service overrides this with its /healthz in docker-compose.yml).
HEALTHCHECK --interval=60s --timeout=20s --start-period=60s --retries=3 CMD ["ingest", "health"]
ENTRYPOINT ["ingest"]
CMD ["run"]
