"""The webhook path, one function per source: token -> raw delivery -> mapping -> bus.

Order matters and is the point of this module:
1. the token is checked before anything else (unknown: 404, nothing stored);
2. the service's alert rules apply to the normalized alerts (``alertbridge.rules``: tag, re-rate,
   route, re-key, suppress), so the bus carries each alert's final service and key;
3. alerts of a (final) service in a maintenance window are held back (kept, outcome
   ``suppressed``); recoveries, and alerts for a key whose incident is open (it opened before
   the window), pass;
4. the alerts go to the bus;
5. the body is kept raw with its outcome, and whether the bus took it, before we answer (nothing a
   vendor sent is lost). If the bus would not take the alerts we answer 503 so the vendor retries,
   and the delivery stays marked unpublished for replay. Event ids are deterministic, so a retry or
   a replay never counts twice downstream.
6. for a source with ``expect_every``, the delivery says it is alive (``heartbeats``: usually no
   write at all; see ``silence.MOVE_FRACTION``), and ends an open silence incident.
Publishing before storing makes the raw source one write per delivery, not a write and an update
(DynamoDB bills an update by the whole item's size); if the function dies in between, the vendor
had no answer and retries, and the retry maps to the same event ids.
A body we cannot understand is a 4xx with a JSON error, whatever it holds: never a 5xx.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from alertbridge import vendors
from alertbridge.http import Answer
from alertbridge.models.delivery import DeliveryRecord, Outcome
from alertbridge.models.parts import Action
from alertbridge.models.records import Source
from alertbridge.normalize import Normalized, normalize
from alertbridge.observability import logger
from alertbridge.settings import MAX_BODY_BYTES
from alertbridge.store.bus import Publisher
from alertbridge.store.deliveries import DeliveryStore, new_delivery_id, safe_headers
from alertbridge.store.maintenance import MaintenanceStore
from alertbridge.store.rules import RuleStore
from alertbridge.store.sources import SourceStore
from alertbridge.text import validation_message
from alertbridge.timestamps import now
from alertbridge.vendors.base import Delivery, PayloadError, VendorMapping

if TYPE_CHECKING:
    from alertbridge.heartbeats import Heartbeats


class Ingest:
    """One source's webhook endpoint, with its adapters."""

    def __init__(
        self,
        mapping: VendorMapping,
        sources: SourceStore,
        deliveries: DeliveryStore,
        publisher: Publisher,
        rule_store: RuleStore,
        windows: MaintenanceStore,
        has_open: Callable[[str, str], bool],
        *,
        max_body: int = MAX_BODY_BYTES,
        heartbeats: Callable[[], Heartbeats] | None = None,
    ) -> None:
        """``has_open(service_id, dedup_key)``: whether the key has an open incident (asked only
        of alerts in a maintenance window; ``IncidentStore.has_open``, built on first use).
        ``heartbeats``: builds the quiet-source adapter (``runtime.heartbeats``), asked by the first
        delivery of a source with ``expect_every``."""
        self.mapping = mapping  # an ingest function's own module; the management function's from the registry
        self.kind = mapping.NAME
        self._sources = sources
        self._deliveries = deliveries
        self._publisher = publisher
        self._rules = rule_store
        self._windows = windows
        self._has_open = has_open
        self._max_body = max_body
        self._heartbeats = heartbeats  # the webhook path: a delivery also says the source is alive

    def handle(self, token: str | None, body: bytes, headers: Mapping[str, str]) -> Answer:
        """A webhook delivery: the token first, then everything else."""
        source = self._sources.authenticate(token) if token else None
        if source is None or source.source != self.kind:
            # Same answer for "no such token" and "token of another source": nothing to learn.
            return Answer.error(404, "unknown webhook token")
        answer = self.receive(source, body, headers)
        # Any authenticated delivery of a watched source, whatever its outcome. The quiet-source
        # modules load with the first such delivery: a source nothing watches needs none of them.
        if self._heartbeats is not None and source.settings.expect_every is not None:
            self._heartbeats().seen(source, now())
        return answer

    def receive(
        self,
        source: Source,
        body: bytes,
        headers: Mapping[str, str],
        *,
        test: bool = False,
        replay_of: DeliveryRecord | None = None,
    ) -> Answer:
        """An authenticated delivery: keep it, map it, publish it.

        ``replay_of``: run a kept delivery again through today's mapping, under its own id and
        time, so its event ids are the ones it had (a replay never counts twice downstream). Its
        signature was checked when it arrived; a delivery that failed it is not replayed.
        """
        lowered = {k.lower(): v for k, v in headers.items()}
        received_at = replay_of.received_at if replay_of else now()
        delivery_id = replay_of.id if replay_of else new_delivery_id(source.id)
        test = replay_of.test if replay_of else test
        logger.append_keys(delivery_id=delivery_id)
        delivery = Delivery(body=body, headers=lowered, received_at=received_at, settings=source.settings)

        if len(body) > self._max_body:
            return self._reject(
                source,
                delivery,
                delivery_id,
                413,
                f"body of {len(body)} bytes exceeds {self._max_body}",
                test,
            )
        try:
            result = normalize(
                self.mapping, source, delivery, delivery_id, test=test, verify=replay_of is None
            )
        except vendors.Unauthorized as exc:
            return self._reject(source, delivery, delivery_id, 401, str(exc), test)
        except PayloadError as exc:
            return self._reject(source, delivery, delivery_id, exc.status, exc.message, test)
        except ValidationError as exc:
            # A mapping produced something the canonical model refuses: still the body's fault.
            reason = f"cannot normalize: {validation_message(exc)}"
            return self._reject(source, delivery, delivery_id, 422, reason, test)
        except Exception:  # a mapping bug must not turn a vendor's body into a 5xx or a loss
            logger.exception("mapping failed", extra={"source": self.kind})
            reason = "the body could not be mapped (kept; replay it once the mapping is fixed)"
            return self._reject(source, delivery, delivery_id, 422, reason, test)
        try:
            self._apply_rules(source, delivery, result)
            self._hold_for_maintenance(result, received_at)
            status = 202
        except (BotoCoreError, ClientError):
            # Never publish alerts the service's rules and windows were not applied to: keep
            # the delivery unpublished (a replay applies them) and answer 503 so the vendor retries.
            logger.exception("alert rules or maintenance windows unavailable; delivery kept unpublished")
            status = 503
        held = [str(o["reason"]) for o in result.outcomes if o["outcome"] == "suppressed"]
        why = held[0] if held and result.outcome == "suppressed" else None  # listings show why
        stored = self._record(
            source, delivery, delivery_id, result.outcome, why, status, result.outcomes, test
        )
        stored.replays = replay_of.replays + 1 if replay_of else 0
        try:
            if result.alerts and status == 202:
                self._publisher.publish(result.alerts)
            stored.published = status == 202
        finally:  # kept either way; on PublishError as unpublished, and the caller answers 503
            self._deliveries.put(stored, body)
        if status == 503:
            return Answer.error(
                503,
                "temporarily unable to read the alert rules or maintenance windows; retry later",
                delivery_id=delivery_id,
            )
        return Answer(
            status,
            {
                "delivery_id": delivery_id,
                "outcome": result.outcome,
                "alerts": result.outcomes,
            },
            delivery_id,
        )

    def _apply_rules(self, source: Source, delivery: Delivery, result: Normalized) -> None:
        """The rules of the source's service (cached a minute), in order; an alert a rule suppresses
        stays in the outcomes, off the bus."""
        if not result.alerts:
            return
        # The rule models and the evaluator load with the first service that has rules (bench/rules.py)
        rule_set = self._rules.find(source.service_id, cached=True)
        if rule_set is not None and rule_set.rules:
            from alertbridge import rules  # noqa: PLC0415

            rules.apply(result, rule_set, lambda: rules.vendor_objects_of(self.mapping, delivery))

    def _hold_for_maintenance(self, result: Normalized, at: datetime) -> None:
        """Alerts whose (final) service is in a maintenance window at ``at`` stay out of the bus:
        their outcome becomes ``suppressed``, naming the window. Recoveries always pass, and so
        does any alert for a key whose incident is open (opened before the window, it still
        updates and resolves): one strongly consistent read per key, only while a window is on."""
        held: dict[str, str] = {}
        open_keys: dict[tuple[str, str], bool] = {}
        for alert in result.alerts:
            if alert.action is Action.RESOLVE:
                continue
            windows = self._windows.for_service(alert.service_id, cached=True)
            if not windows:
                continue
            # Loaded by the first service that has windows, not in every ingest cold start.
            from alertbridge import maintenance  # noqa: PLC0415

            active = maintenance.active_until(windows, at)
            if active is None:
                continue
            key = (alert.service_id, alert.dedup_key)
            if key not in open_keys:
                open_keys[key] = self._has_open(*key)
            if not open_keys[key]:
                held[alert.event_id] = maintenance.reason(*active)
        if not held:
            return
        result.alerts = [a for a in result.alerts if a.event_id not in held]
        for outcome in result.outcomes:
            if outcome["outcome"] == "accepted" and outcome.get("event_id") in held:
                outcome.update(outcome="suppressed", reason=held[outcome["event_id"]])

    def _reject(
        self, source: Source, delivery: Delivery, delivery_id: str, status: int, reason: str, test: bool
    ) -> Answer:
        stored = self._record(source, delivery, delivery_id, "rejected", reason, status, [], test)
        self._deliveries.put(stored, delivery.body)
        return Answer.error(status, reason, delivery_id=delivery_id)

    def _record(
        self,
        source: Source,
        delivery: Delivery,
        delivery_id: str,
        outcome: Outcome,
        reason: str | None,
        status: int,
        outcomes: list[dict[str, Any]],
        test: bool,
    ) -> DeliveryRecord:
        return DeliveryRecord(
            id=delivery_id,
            service_id=source.service_id,
            source_id=source.id,
            source=source.source,
            received_at=delivery.received_at,
            headers=safe_headers(dict(delivery.headers)),
            body_size=len(delivery.body),
            outcome=outcome,
            reason=reason,
            status_code=status,
            alerts=outcomes,
            test=test,
        )
