"""Heroku webhook: POST /hooks/heroku/{token}."""

from alertbridge.entrypoints import ingest_handler
from alertbridge.vendors import heroku

handler = ingest_handler(heroku)
