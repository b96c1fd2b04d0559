"""StatHat webhook: POST /hooks/stathat/{token}."""

from alertbridge.entrypoints import ingest_handler
from alertbridge.vendors import stathat

handler = ingest_handler(stathat)
