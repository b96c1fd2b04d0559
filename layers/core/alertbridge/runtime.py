"""Wiring for the Lambdas: one client per AWS service, and the adapters built on them.

Each piece is built on first use and kept for the execution environment's life: a Lambda builds
what it uses at init, outside the handler, except the S3 client, which only bodies too large for a
DynamoDB item need (the first of them builds it). ``AWS_ENDPOINT_URL`` (read by boto3 itself)
points everything at the local emulator; nothing here knows about it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from alertbridge.settings import settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client

    from alertbridge.checker import Checker
    from alertbridge.heartbeats import Heartbeats
    from alertbridge.ingest import Ingest
    from alertbridge.notifier import Notifier
    from alertbridge.store.bus import Publisher
    from alertbridge.store.channels import ChannelStore
    from alertbridge.store.deliveries import DeliveryStore
    from alertbridge.store.due import DueIndex
    from alertbridge.store.heartbeats import HeartbeatStore
    from alertbridge.store.incidents import IncidentStore
    from alertbridge.store.maintenance import MaintenanceStore
    from alertbridge.store.notifications import NotificationStore
    from alertbridge.store.notify_queue import NotifyQueue
    from alertbridge.store.rules import RuleStore
    from alertbridge.store.sources import SourceStore
    from alertbridge.store.status_page import StatusPageStore
    from alertbridge.store.topic import Topic
    from alertbridge.vendors.base import VendorMapping

# Standard retry mode: throttling and 5xx are retried with backoff by botocore itself.
# 20 pooled connections: the status page reads 16 services at a time, the incident function 8 keys.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=2,
    read_timeout=5,
    max_pool_connections=20,
)


@cache
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)


# Adapters import their modules when first built: a function loads only the stores it uses.
@cache
def source_store() -> SourceStore:
    from alertbridge.store.sources import SourceStore  # noqa: PLC0415

    return SourceStore(dynamodb(), settings().table)


@cache
def rule_store() -> RuleStore:
    from alertbridge.store.rules import RuleStore  # noqa: PLC0415

    return RuleStore(dynamodb(), settings().table)


@cache
def s3() -> S3Client:
    return boto3.client("s3", config=_CONFIG)


@cache
def delivery_store() -> DeliveryStore:
    from alertbridge.store.deliveries import DeliveryStore  # noqa: PLC0415

    cfg = settings()
    return DeliveryStore(dynamodb(), cfg.table, s3, cfg.raw_bucket, cfg.raw_retention_days)


@cache
def incident_store() -> IncidentStore:
    from alertbridge.store.incidents import IncidentStore  # noqa: PLC0415

    return IncidentStore(dynamodb(), settings().table)


@cache
def status_page_store() -> StatusPageStore:
    from alertbridge.store.status_page import StatusPageStore  # noqa: PLC0415

    return StatusPageStore(dynamodb(), settings().table)


@cache
def maintenance_store() -> MaintenanceStore:
    from alertbridge.store.maintenance import MaintenanceStore  # noqa: PLC0415

    return MaintenanceStore(dynamodb(), settings().table)


def has_open(service_id: str, dedup_key: str) -> bool:
    """Whether a key has an open incident; the incident store is built (and its modules loaded)
    the first time an alert in a maintenance window asks, not in every ingest cold start."""
    return incident_store().has_open(service_id, dedup_key)


@cache
def publisher() -> Publisher:
    from alertbridge.store.bus import Publisher  # noqa: PLC0415

    return Publisher(boto3.client("events", config=_CONFIG), settings().bus)


# --- quiet sources ---------------------------------------------------------------------------------
@cache
def due_index() -> DueIndex:
    from alertbridge.store.due import DueIndex  # noqa: PLC0415

    return DueIndex(dynamodb(), settings().table)


@cache
def heartbeat_store() -> HeartbeatStore:
    """Cached for the instance's life: it remembers when it last moved each source's due entry."""
    from alertbridge.store.heartbeats import HeartbeatStore  # noqa: PLC0415

    return HeartbeatStore(dynamodb(), settings().table)


@cache
def heartbeats() -> Heartbeats:
    from alertbridge.heartbeats import Heartbeats  # noqa: PLC0415

    return Heartbeats(source_store(), heartbeat_store(), publisher())


# The incident events function backs off longer between the bus's refusals than ingest, which
# answers a waiting vendor: each of the stream's retries then rides out a few seconds of outage.
INCIDENT_EVENTS_BACKOFF = 1.0


@cache
def incident_event_publisher() -> Publisher:
    from alertbridge.store.bus import Publisher  # noqa: PLC0415

    return Publisher(boto3.client("events", config=_CONFIG), settings().bus, backoff=INCIDENT_EVENTS_BACKOFF)


# --- notifications ---------------------------------------------------------------------------------
@cache
def channel_store() -> ChannelStore:
    from alertbridge.store.channels import ChannelStore  # noqa: PLC0415
    from alertbridge.store.kms import Sealer  # noqa: PLC0415

    cfg = settings()
    sealer = Sealer(boto3.client("kms", config=_CONFIG), cfg.need(cfg.channel_key, "CHANNEL_KEY_ARN"))
    return ChannelStore(dynamodb(), cfg.table, sealer, topic() if cfg.notifications_topic else None)


@cache
def topic() -> Topic:
    from alertbridge.store.topic import Topic  # noqa: PLC0415

    cfg = settings()
    arn = cfg.need(cfg.notifications_topic, "NOTIFICATIONS_TOPIC_ARN")
    return Topic(boto3.client("sns", config=_CONFIG), arn)


@cache
def notification_store() -> NotificationStore:
    from alertbridge.store.notifications import NotificationStore  # noqa: PLC0415

    return NotificationStore(dynamodb(), settings().table)


@cache
def notify_queue() -> NotifyQueue:
    from alertbridge.store.notify_queue import NotifyQueue  # noqa: PLC0415

    cfg = settings()
    return NotifyQueue(
        boto3.client("sqs", config=_CONFIG),
        cfg.need(cfg.notify_queue_url, "NOTIFY_QUEUE_URL"),
        cfg.notify_dlq_url,
    )


@cache
def idempotency_store(configure: Callable[[DynamoDBPersistenceLayer], None]) -> DynamoDBPersistenceLayer:
    """Powertools' idempotency records in the table (the management API's ``Idempotency-Key``),
    configured by ``configure`` before it is shared."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer  # noqa: PLC0415

    store = DynamoDBPersistenceLayer(
        table_name=settings().table,
        key_attr="PK",
        sort_key_attr="SK",
        static_pk_value="IDEM#management",
        expiry_attr="expires_at",  # the table's Time to Live attribute
        boto3_client=dynamodb(),
    )
    configure(store)
    return store


def reset() -> None:
    """Forget every client and adapter (tests and the local stack switch environments)."""
    built = (
        settings,
        dynamodb,
        s3,
        source_store,
        rule_store,
        delivery_store,
        incident_store,
        status_page_store,
        maintenance_store,
        publisher,
    )
    quiet = (due_index, heartbeat_store, heartbeats)
    for fn in (
        *built,
        *quiet,
        incident_event_publisher,
        channel_store,
        topic,
        notification_store,
        notify_queue,
        idempotency_store,
    ):
        fn.cache_clear()


def ingest(mapping: VendorMapping, *, watch: bool = False) -> Ingest:
    """The webhook path for one source's mapping on this function's adapters (the ingest functions,
    with ``watch``: a delivery says its source is alive; and replays and test alerts in the
    management function)."""
    from alertbridge.ingest import Ingest  # noqa: PLC0415

    return Ingest(
        mapping,
        source_store(),
        delivery_store(),
        publisher(),
        rule_store(),
        maintenance_store(),
        has_open,
        max_body=settings().max_body_bytes,
        heartbeats=heartbeats if watch else None,
    )


def checker() -> Checker:
    """The scheduled checker on this function's adapters (escalation steps, silent sources,
    incidents quiet for long enough; a source of a service in maintenance does not alarm)."""
    from alertbridge.checker import Checker  # noqa: PLC0415

    return Checker(
        due=due_index(),
        notes=notification_store(),
        incidents=incident_store(),
        channels=channel_store(),
        queue=notify_queue(),
        sources=source_store(),
        seen=heartbeat_store(),
        deliveries=delivery_store(),
        publisher=publisher(),
        quiet_now=maintenance_store().in_window,
    )


def notifier() -> Notifier:
    """A notifier on this function's adapters (the notifier function, and `channels test` in the
    management function); not cached: its channel cache is its own."""
    from alertbridge.notifier import Notifier  # noqa: PLC0415  (the notifier and management only)

    cfg = settings()
    return Notifier(
        channel_store(),
        notification_store(),
        notify_queue(),
        source_store(),
        maintenance_store(),
        topic() if cfg.notifications_topic else None,
        timeout=cfg.notify_timeout,
        allow_private=cfg.notify_allow_private,
        max_attempts=cfg.notify_max_attempts,
        base_url=cfg.public_base_url,
    )
