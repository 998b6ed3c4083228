"""The bundled sample news site (fictional outlets on loopback), used by `ingest demo`, tests and benches.

`ingest.demo.site.DemoSite` serves it; stories live in `content/*.yaml`.
"""
