# The ingester image: `ingest run` by default; the same image serves `ingest serve` and `ingest es setup`.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ingest ./ingest
RUN pip install --upgrade pip && pip install .
COPY config ./config
RUN useradd --system --home /app ingest && mkdir -p /app/data && chown -R ingest /app/data
USER ingest
VOLUME ["/app/data"]
ENTRYPOINT ["ingest"]
CMD ["run"]
