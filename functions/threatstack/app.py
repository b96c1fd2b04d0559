"""Threat Stack webhook: POST /hooks/threatstack/{token}."""

from alertbridge.entrypoints import ingest_handler

handler = ingest_handler("threatstack")
