"""Threat Stack webhook: POST /hooks/threatstack/{token}."""

from alertbridge.entrypoints import ingest_handler
from alertbridge.vendors import threatstack

handler = ingest_handler(threatstack)
