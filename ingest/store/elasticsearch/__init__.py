"""The Elasticsearch index (OpenSearch subclasses it in `ingest.store.opensearch`); twins of `ingest.store.sqlite`:

    schema.py      index templates, write alias and rollover, side indices; the document shape
    index.py       the index seam (articles, learned blocks, alert ledger) over the outbox
    query.py       the query language compiled to the query DSL
    filters.py     request and selection filters as queries
    search.py      search (optionally collapsed per syndication cluster)
    aggregates.py  histogram, facets, source quality
    rules.py       alert rule matching (percolator or _msearch)
"""
