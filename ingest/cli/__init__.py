"""Command-line interface: parses arguments and prints results over `ingest.app.Ingest`."""
