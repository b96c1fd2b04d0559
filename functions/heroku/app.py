"""Heroku webhook: POST /hooks/heroku/{token}."""

from alertbridge.entrypoints import ingest_handler

handler = ingest_handler("heroku")
