"""The bundled sample news site (fictional outlets on loopback), used by `ingest demo`, tests and benches."""
