"""The layer's only reader of the environment: what template.yaml sets on each function.

Everything else takes its configuration from :func:`settings` (or as arguments), so a test or the
local stack configures a function in one place, and a missing variable is one clear error rather
than a ``KeyError`` deep in an adapter.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import NamedTuple

MAX_BODY_BYTES = 1024 * 1024  # a webhook body larger than this is a 413 (API Gateway allows 10 MB)


class MissingSetting(RuntimeError):
    """A variable the function needs is not set (template.yaml sets it on AWS)."""


class Settings(NamedTuple):
    table: str
    bus: str
    raw_bucket: str | None
    raw_retention_days: int
    max_body_bytes: int
    key_workers: int  # incident function: dedup keys of a batch applied at once
    public_base_url: str | None  # the API's base URL for webhook URLs; else derived from the request
    status_cache_seconds: float  # status page: how long a warm function keeps its board
    # Notifications (functions that do not notify leave them unset).
    channel_key: str | None = None  # KMS key sealing channel secrets
    notifications_topic: str | None = None  # SNS topic of the email and SMS channels
    notify_queue_url: str | None = None
    notify_dlq_url: str | None = None
    notify_timeout: float = 10.0  # seconds per outbound HTTP attempt
    notify_max_attempts: int = 6  # then the message goes to the notifier's DLQ
    # Lets channel URLs reach loopback/private addresses: the local stack and tests only, never
    # set in template.yaml (on AWS that would open the VPC-less function to SSRF on metadata etc.).
    notify_allow_private: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        table = env.get("TABLE_NAME")
        if not table:
            raise MissingSetting(
                "TABLE_NAME is not set: run the function through `alertbridge invoke` or the local stack, "
                "or set the variables template.yaml gives it"
            )
        return cls(
            table=table,
            bus=env.get("BUS_NAME", ""),
            raw_bucket=env.get("RAW_BUCKET") or None,
            raw_retention_days=int(env.get("RAW_RETENTION_DAYS", "30")),
            max_body_bytes=int(env.get("MAX_BODY_BYTES", str(MAX_BODY_BYTES))),
            key_workers=int(env.get("KEY_WORKERS", "8")),
            public_base_url=(env.get("PUBLIC_BASE_URL") or "").rstrip("/") or None,
            status_cache_seconds=float(env.get("STATUS_CACHE_SECONDS", "5")),
            channel_key=env.get("CHANNEL_KEY_ARN") or None,
            notifications_topic=env.get("NOTIFICATIONS_TOPIC_ARN") or None,
            notify_queue_url=env.get("NOTIFY_QUEUE_URL") or None,
            notify_dlq_url=env.get("NOTIFY_DLQ_URL") or None,
            notify_timeout=float(env.get("NOTIFY_TIMEOUT_SECONDS", "10")),
            notify_max_attempts=int(env.get("NOTIFY_MAX_ATTEMPTS", "6")),
            notify_allow_private=env.get("NOTIFY_ALLOW_PRIVATE", "").lower() in ("1", "true", "yes"),
        )

    def need(self, value: str | None, name: str) -> str:
        """A notification setting the calling function must have (template.yaml sets it)."""
        if not value:
            raise MissingSetting(f"{name} is not set on this function (template.yaml sets it)")
        return value


@cache
def settings() -> Settings:
    return Settings.from_env()
