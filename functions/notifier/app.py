"""Notifier function: NotifyQueue -> channels (Slack, Teams, webhook, PagerDuty, SNS email/SMS)."""

from alertbridge.entrypoints import notifier_handler

handler = notifier_handler()
