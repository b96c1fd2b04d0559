"""Kapacitor webhook: POST /hooks/kapacitor/{token}."""

from alertbridge.entrypoints import ingest_handler

handler = ingest_handler("kapacitor")
