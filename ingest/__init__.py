"""ingest: media-monitoring feed ingester.

Pipeline, in the order data flows:
sources -> fetch -> extract -> enrich -> store -> alerts -> web / cli
"""

__version__ = "0.1.0"
