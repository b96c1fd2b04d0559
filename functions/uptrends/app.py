"""Uptrends webhook: POST /hooks/uptrends/{token}."""

from alertbridge.entrypoints import ingest_handler
from alertbridge.vendors import uptrends

handler = ingest_handler(uptrends)
