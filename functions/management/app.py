"""Management API: /api/... (IAM-authorized on AWS)."""

from alertbridge.entrypoints import management_handler

handler = management_handler()
