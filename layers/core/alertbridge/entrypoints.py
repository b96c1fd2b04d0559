"""Lambda entry points: translate API Gateway / SQS events to the modules that do the work.

``functions/<name>/app.py`` is one line that picks one of these. Clients are created when the
handler is built, i.e. during the Lambda's init phase; each factory imports only what its function
runs (an ingest function never loads the incident logic, and the other way round).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from alertbridge import runtime
from alertbridge.observability import Handler, flush, lambda_logging, logger
from alertbridge.settings import settings

if TYPE_CHECKING:
    from alertbridge.http import Answer
    from alertbridge.models.alert import CanonicalAlert
    from alertbridge.models.records import RecoveryPolicy, SourceSettings
    from alertbridge.vendors.base import VendorMapping


def ingest_handler(mapping: VendorMapping) -> Handler:
    """The webhook of one source; ``mapping`` is its module, imported by ``functions/<name>/app.py``."""
    from alertbridge.http import Answer, decode_body, response  # noqa: PLC0415
    from alertbridge.store.bus import PublishError  # noqa: PLC0415

    source = mapping.NAME
    metrics = EphemeralMetrics(service=f"ingest-{source}")
    metrics.set_default_dimensions(source=source)
    ingest = runtime.ingest(mapping, watch=True)

    @lambda_logging()
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            return deliver(event)
        finally:
            flush(metrics)  # not log_metrics: with metrics off (locally) it keeps every value

    def deliver(event: dict[str, Any]) -> dict[str, Any]:
        token = (event.get("pathParameters") or {}).get("token")
        headers = {k: v for k, v in (event.get("headers") or {}).items() if isinstance(v, str)}
        body = decode_body(event.get("body"), bool(event.get("isBase64Encoded")))
        metrics.add_metric(name="received", unit=MetricUnit.Count, value=1)
        try:
            answer = ingest.handle(token, body, headers)
        except PublishError as exc:
            metrics.add_metric(name="publish_failed", unit=MetricUnit.Count, value=exc.failed)
            logger.error("bus refused events; delivery kept unpublished", extra={"failed": exc.failed})
            return response(Answer.error(503, "temporarily unable to publish; retry later"))
        except (BotoCoreError, ClientError):
            logger.exception("storage unavailable")
            return response(Answer.error(503, "temporarily unable to store the delivery; retry later"))
        _count(metrics, answer)
        logger.info(
            "delivery answered",
            extra={
                "status": answer.status,
                "outcome": answer.body.get("outcome", "rejected" if answer.status < 500 else "unpublished"),
                "bytes": len(body),
            },
        )
        return response(answer)

    return handler


def _count(metrics: EphemeralMetrics, answer: Answer) -> None:
    from alertbridge.models.delivery import OUTCOMES  # noqa: PLC0415  (the ingest functions' records)

    if answer.status == 503:  # kept unpublished: the service's rules could not be read
        metrics.add_metric(name="rules_unavailable", unit=MetricUnit.Count, value=1)
        return
    if answer.status >= 400:
        metrics.add_metric(name="rejected", unit=MetricUnit.Count, value=1)
        return
    tally: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
    for alert in answer.body.get("alerts", []):
        tally[alert["outcome"]] += 1
    for name, value in tally.items():
        if value:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    if tally["accepted"]:
        metrics.add_metric(name="published", unit=MetricUnit.Count, value=tally["accepted"])


def incident_handler() -> Handler:
    from alertbridge.consumer import Message, process  # noqa: PLC0415
    from alertbridge.heartbeats import schedule_quiet  # noqa: PLC0415
    from alertbridge.silence import SILENCE_SOURCE  # noqa: PLC0415
    from alertbridge.store.sources import NotFound  # noqa: PLC0415
    from alertbridge.timestamps import now  # noqa: PLC0415

    metrics = EphemeralMetrics(service="incidents")
    store = runtime.incident_store()
    sources = runtime.source_store()
    due = runtime.due_index()
    workers = settings().key_workers

    def settings_of(source_id: str) -> SourceSettings | None:
        try:
            return sources.get_source(source_id, cached=True).settings
        except NotFound:
            return None

    def policy_of(alert: CanonicalAlert) -> RecoveryPolicy:
        found = settings_of(alert.source_id)
        # A silence incident ends when the source is heard from again, whatever its policy.
        return found.recovery_policy if found is not None and alert.source != SILENCE_SOURCE else "resolve"

    @lambda_logging()
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        messages = [Message(r["messageId"], r.get("body", "")) for r in event.get("Records", [])]
        result = process(messages, store, policy_of, workers=workers)
        schedule_quiet([d for _, d in result.decisions], settings_of, due, now())
        for source, counts in result.per_source().items():
            _per_source(source, counts)
        if result.failed:
            metrics.add_metric(name="failed_messages", unit=MetricUnit.Count, value=len(result.failed))
            flush(metrics)
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in result.failed]}

    return handler


def _per_source(source: str, counts: dict[str, int]) -> None:
    """One EMF record per source: opened, resolved, deduplicated, ... with a `source` dimension."""
    metrics = EphemeralMetrics(service="incidents")
    metrics.add_dimension(name="source", value=source)
    for result, value in counts.items():
        metrics.add_metric(name=_METRIC.get(result, result), unit=MetricUnit.Count, value=value)
    flush(metrics)


_METRIC = {"duplicate": "deduplicated"}


def management_handler() -> Handler:
    from alertbridge.management import app  # noqa: PLC0415  (only the management function loads it)

    @lambda_logging(correlation_id_path="requestContext.requestId")
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    return handler


def status_handler() -> Handler:
    """The public status page: GET /status (HTML) and GET /status.json, read-only, no auth."""
    from alertbridge.status.page import StatusPage  # noqa: PLC0415  (only this function)

    page = StatusPage(
        runtime.source_store(),
        runtime.incident_store(),
        runtime.status_page_store(),
        cache_seconds=settings().status_cache_seconds,
    )

    @lambda_logging(correlation_id_path="requestContext.requestId")
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return page.handle(event)

    return handler


def incident_events_handler() -> Handler:
    """The table's stream -> incident events on the bus; answers Lambda's stream event source with
    the first record to deliver again (``publish_events`` says why that is enough)."""
    from alertbridge.publish_events import publish  # noqa: PLC0415  (only this function)

    metrics = EphemeralMetrics(service="incident-events")
    publisher = runtime.incident_event_publisher()

    @lambda_logging()
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        records = event.get("Records", [])
        outcome = publish(records, publisher)
        metrics.add_metric(name="incident_events_published", unit=MetricUnit.Count, value=outcome.published)
        if outcome.failed_sequence is not None:
            metrics.add_metric(name="incident_event_records_failed", unit=MetricUnit.Count, value=1)
        flush(metrics)
        logger.info(
            "incident events published",
            extra={
                "records": outcome.records,
                "published": outcome.published,
                "failed_sequence": outcome.failed_sequence,
            },
        )
        return outcome.response()

    return handler


def notifier_handler() -> Handler:
    """NotifyQueue (incident events from the bus, and the notifier's own per-channel messages)."""
    sender = runtime.notifier()

    @lambda_logging()
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        records = [(r["messageId"], r.get("body", "")) for r in event.get("Records", [])]
        failed = sender.handle(records)
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    return handler


def checker_handler() -> Handler:
    """Every minute (EventBridge Scheduler): what the due index says is due (escalation steps,
    silent sources, incidents quiet for long enough)."""
    from alertbridge.timestamps import now  # noqa: PLC0415

    checker = runtime.checker()

    @lambda_logging()
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        found = checker.run(now())
        if found:
            logger.info("due items", extra={"found": found})
        return {"fired": found.get("esc.fired", 0), "found": found}

    return handler


def heartbeat_handler() -> Handler:
    """``GET|POST /hooks/heartbeat/{token}``: a cron job's or dead-man's switch's ping (any source's
    token); a compact heartbeat, not a delivery."""
    from alertbridge.http import Answer, response  # noqa: PLC0415
    from alertbridge.store.bus import PublishError  # noqa: PLC0415

    heartbeats = runtime.heartbeats()

    @lambda_logging()
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        token = (event.get("pathParameters") or {}).get("token")
        try:
            answer = heartbeats.beat(token)
        except (PublishError, BotoCoreError, ClientError):
            logger.exception("heartbeat not recorded")
            return response(Answer.error(503, "temporarily unable to record the heartbeat; retry later"))
        logger.info("heartbeat answered", extra={"status": answer.status})
        return response(answer)

    return handler
