"""The incident function's work: a batch of queued canonical alerts -> incident writes.

Messages are grouped by (service, dedup_key): each group costs one consistent read and one
conditional write (a transaction when it touches two episodes), however many messages it has, and
groups never contend with each other, so they are applied in parallel. A conflict (another
invocation wrote the key) means: read again, decide again. A group that still fails is reported
as failed for all its messages, so SQS delivers just those again; a message that cannot be read at
all fails alone and, after the queue's maxReceiveCount, lands in the DLQ.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pydantic import ValidationError

from alertbridge.decisions import Decision, decide
from alertbridge.models.alert import CanonicalAlert
from alertbridge.models.records import RecoveryPolicy
from alertbridge.observability import logger
from alertbridge.retry import until_written
from alertbridge.store.incidents import IncidentStore
from alertbridge.timestamps import now

MAX_CONFLICT_RETRIES = 12


@dataclass(frozen=True)
class Message:
    message_id: str
    body: str


@dataclass
class BatchResult:
    failed: list[str] = field(default_factory=list)  # SQS message ids to deliver again
    decisions: list[tuple[str, Decision]] = field(default_factory=list)  # (source, decision)
    unreadable: int = 0

    def per_source(self) -> dict[str, dict[str, int]]:
        """What became of the alerts, per source: {"kapacitor": {"opened": 1, "duplicate": 2}}."""
        out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for source, decision in self.decisions:
            for key, value in decision.tally().items():
                out[source][key] += value
        return {source: dict(counts) for source, counts in out.items()}


def parse(body: str) -> CanonicalAlert:
    """The canonical alert in an EventBridge event, as the rule's SQS target receives it."""
    event = json.loads(body)
    if not isinstance(event, dict) or "detail" not in event:
        raise ValueError("not an EventBridge event")
    return CanonicalAlert.model_validate(event["detail"])


def process(
    messages: Iterable[Message],
    store: IncidentStore,
    policy_of: Callable[[CanonicalAlert], RecoveryPolicy],
    *,
    workers: int = 1,
) -> BatchResult:
    """Apply a batch; ``workers`` > 1 applies that many keys at once (keep it below runtime's
    pool of 20 connections)."""
    result = BatchResult()
    groups: dict[tuple[str, str], list[tuple[Message, CanonicalAlert]]] = defaultdict(list)
    for message in messages:
        try:
            alert = parse(message.body)
        except (ValueError, ValidationError) as exc:
            logger.error(
                "unreadable message", extra={"message_id": message.message_id, "error": str(exc)[:500]}
            )
            result.failed.append(message.message_id)
            result.unreadable += 1
            continue
        groups[(alert.service_id, alert.dedup_key)].append((message, alert))

    def run(item: tuple[tuple[str, str], list[tuple[Message, CanonicalAlert]]]) -> Decision | None:
        (service_id, dedup_key), members = item
        alerts = [alert for _, alert in members]
        try:
            decision = apply_group(store, service_id, dedup_key, alerts, policy_of(alerts[0]))
        except Exception:
            logger.exception(
                "incident update failed; messages will be retried",
                extra={
                    "dedup_key": dedup_key,
                    "service_id": service_id,
                    "delivery_id": sorted({a.delivery_id for a in alerts}),
                },
            )
            return None
        logger.debug("incident updated", extra={"dedup_key": dedup_key, "results": decision.tally()})
        return decision

    items = list(groups.items())
    if len(items) > 1 and workers > 1:  # groups never contend: their reads and writes overlap
        with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="key") as pool:
            decisions = list(pool.map(run, items))
    else:
        decisions = [run(item) for item in items]
    for ((_, _), members), decision in zip(items, decisions, strict=True):
        if decision is None:
            result.failed.extend(message.message_id for message, _ in members)
        else:
            result.decisions.append((members[0][1].source, decision))
    if items:  # one line per batch: the deliveries it applied (the correlation ids) and the results
        logger.info(
            "incidents updated",
            extra={
                "delivery_id": sorted({alert.delivery_id for _, members in items for _, alert in members}),
                "keys": len(items),
                "failed_keys": decisions.count(None),
                "results": {source: dict(counts) for source, counts in result.per_source().items()},
            },
        )
    return result


def apply_group(
    store: IncidentStore,
    service_id: str,
    dedup_key: str,
    alerts: list[CanonicalAlert],
    policy: RecoveryPolicy,
) -> Decision:
    """Read, decide, write; on a conflict, again from a fresh read (``retry.until_written``)."""

    def attempt() -> Decision:
        decision = decide(store.latest(service_id, dedup_key), alerts, policy, now())
        if decision.writes:
            store.save(decision)
        return decision

    return until_written(attempt, tries=MAX_CONFLICT_RETRIES)
