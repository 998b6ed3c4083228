"""The SQLite backend: one file holds the local state and (as the default index) the articles.

    schema.py      the file: connection, lock, transactions, tables, migrations
    state.py       the local-state seam (feeds, entries, queue, raw pages, signatures, pending alerts)
    index.py       the index seam (articles, learned blocks, alert ledger), same connection
    query.py       the query language compiled to FTS5/SQL
    filters.py     request and selection filters as SQL conditions
    search.py      search (ranked by bm25)
    aggregates.py  histogram, facets, source quality
    rules.py       alert rule matching on a stored batch
"""
