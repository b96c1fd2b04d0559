"""Heartbeat URL: GET or POST /hooks/heartbeat/{token} (any source's token)."""

from alertbridge.entrypoints import heartbeat_handler

handler = heartbeat_handler()
