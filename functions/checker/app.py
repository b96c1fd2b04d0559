"""Checker function: every minute, the escalation steps that are due -> NotifyQueue."""

from alertbridge.entrypoints import checker_handler

handler = checker_handler()
