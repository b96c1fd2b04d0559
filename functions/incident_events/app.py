"""Incident events function: the table's stream -> incident events on the bus."""

from alertbridge.entrypoints import incident_events_handler

handler = incident_events_handler()
