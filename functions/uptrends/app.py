"""Uptrends webhook: POST /hooks/uptrends/{token}."""

from alertbridge.entrypoints import ingest_handler

handler = ingest_handler("uptrends")
