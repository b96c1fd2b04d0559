"""Incident function: SQS batches of canonical alerts -> incidents in DynamoDB."""

from alertbridge.entrypoints import incident_handler

handler = incident_handler()
