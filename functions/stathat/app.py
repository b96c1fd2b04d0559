"""StatHat webhook: POST /hooks/stathat/{token}."""

from alertbridge.entrypoints import ingest_handler

handler = ingest_handler("stathat")
