"""Public status page: GET /status (HTML) and GET /status.json (no auth, read-only)."""

from alertbridge.entrypoints import status_handler

handler = status_handler()
