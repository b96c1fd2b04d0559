"""Kapacitor webhook: POST /hooks/kapacitor/{token}."""

from alertbridge.entrypoints import ingest_handler
from alertbridge.vendors import kapacitor

handler = ingest_handler(kapacitor)
