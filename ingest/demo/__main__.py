from ingest.demo.site import serve

serve()
