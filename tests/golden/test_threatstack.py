"""Threat Stack mapping (vendors.md §3): batches, bare alerts, string numbers, bad elements, filter."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from alertbridge.models.parts import Action, Severity
from alertbridge.models.records import SourceSettings
from alertbridge.vendors import threatstack
from alertbridge.vendors.base import Draft, Ignored, PayloadError, Rejected

from tests.conftest import sample, sample_json
from tests.golden.helpers import delivery

T1 = datetime(2024, 5, 14, 10, 0, 1, tzinfo=UTC)


def first_alert() -> dict[str, Any]:
    alert: dict[str, Any] = sample_json("threatstack-batch.json")["alerts"][0]
    return alert


def expected_first(**changes: Any) -> Draft:
    fields: dict[str, Any] = {
        "vendor_id": "665a1f0e2c3b4d0011aa0001",
        "action": Action.TRIGGER,
        "dedup_key": "665a1f0e2c3b4d0011aa0001",
        "severity": Severity.HIGH,
        "title": "Suspicious Process Started: nc -lvp 4444 by root",
        "description": "Threat Stack severity 1 Host alert on ip-10-0-1-23 (Acme Corp)",
        "occurred_at": T1,
        "tags": {"server_or_region": "ip-10-0-1-23", "source": "Host", "organization": "Acme Corp"},
        "recoverable": False,
    }
    return Draft(**(fields | changes))


def test_batch_sample_gives_one_trigger_per_alert() -> None:
    assert threatstack.map_delivery(delivery(sample("threatstack-batch.json"))) == [
        expected_first(),
        Draft(
            vendor_id="665a1f0e2c3b4d0011aa0002",
            action=Action.TRIGGER,
            dedup_key="665a1f0e2c3b4d0011aa0002",
            severity=Severity.HIGH,
            title="User Added To Sudoers: deploy",
            description="Threat Stack severity 1 Host alert on ip-10-0-1-57 (Acme Corp)",
            occurred_at=datetime(2024, 5, 14, 10, 0, 3, tzinfo=UTC),
            tags={"server_or_region": "ip-10-0-1-57", "source": "Host", "organization": "Acme Corp"},
            recoverable=False,
        ),
        Draft(
            vendor_id="665a1f0e2c3b4d0011aa0003",
            action=Action.TRIGGER,
            dedup_key="665a1f0e2c3b4d0011aa0003",
            severity=Severity.HIGH,
            title="CloudTrail: Root Account Console Login",
            description="Threat Stack severity 1 CloudTrail alert on us-east-1 (Acme Corp)",
            occurred_at=datetime(2024, 5, 14, 10, 0, 5, tzinfo=UTC),
            tags={"server_or_region": "us-east-1", "source": "CloudTrail", "organization": "Acme Corp"},
            recoverable=False,
        ),
    ]


def test_bare_alert_object_is_one_alert() -> None:
    assert threatstack.map_delivery(delivery(first_alert())) == [expected_first()]


def test_string_typed_numbers_and_the_old_organization_spelling() -> None:
    alert = first_alert()
    del alert["organization_name"]
    alert |= {"severity": "2", "created_at": "1715680801000", "organization_Name": "Acme Old KB"}
    [draft] = threatstack.map_delivery(delivery({"alerts": [alert]}))
    assert draft == expected_first(
        severity=Severity.MEDIUM,
        description="Threat Stack severity 2 Host alert on ip-10-0-1-23 (Acme Old KB)",
        tags={"server_or_region": "ip-10-0-1-23", "source": "Host", "organization": "Acme Old KB"},
    )


@pytest.mark.parametrize(
    ("severity", "expected"),
    [(1, Severity.HIGH), (2, Severity.MEDIUM), (3, Severity.LOW), ("1", Severity.HIGH), ("3", Severity.LOW)],
)
def test_severity_scale_one_is_highest(severity: object, expected: Severity) -> None:
    [draft] = threatstack.map_delivery(delivery(first_alert() | {"severity": severity}))
    assert isinstance(draft, Draft)
    assert draft.severity is expected


def test_sparse_alert_falls_back_to_its_id_and_no_time() -> None:
    [draft] = threatstack.map_delivery(delivery({"id": "abc123", "severity": 3, "extra": {"x": 1}}))
    assert draft == Draft(
        vendor_id="abc123",
        action=Action.TRIGGER,
        dedup_key="abc123",
        severity=Severity.LOW,
        title="abc123",
        description="Threat Stack severity 3 alert",
        occurred_at=None,
        tags={},
        recoverable=False,
    )


def test_a_bad_element_is_rejected_alone() -> None:
    good = first_alert()
    items = threatstack.map_delivery(
        delivery({"alerts": [good, "oops", {"title": "no id", "severity": 1}, good | {"severity": 7}, [1]]})
    )
    assert items == [
        expected_first(),
        Rejected("alerts[1]: expected an alert object, got str"),
        Rejected("alerts[2].id: Field required"),
        Rejected("alerts[3].severity: Input should be less than or equal to 3"),
        Rejected("alerts[4]: expected an alert object, got list"),
    ]


def test_severity_filter_records_the_other_severities_as_ignored() -> None:
    batch = {"alerts": [first_alert() | {"id": f"a{s}", "severity": s} for s in (1, 2, 3)]}
    items = threatstack.map_delivery(delivery(batch, settings=SourceSettings(severity_filter=(1, 2))))
    assert [(type(i).__name__, getattr(i, "severity", None)) for i in items[:2]] == [
        ("Draft", Severity.HIGH),
        ("Draft", Severity.MEDIUM),
    ]
    assert items[2] == Ignored("severity 3 filtered by this source's severity filter (1,2)", vendor_id="a3")


def test_severity_filter_of_one_only() -> None:
    alert = first_alert() | {"severity": "2"}
    items = threatstack.map_delivery(delivery(alert, settings=SourceSettings(severity_filter=(1,))))
    assert items == [
        Ignored(
            "severity 2 filtered by this source's severity filter (1)", vendor_id="665a1f0e2c3b4d0011aa0001"
        )
    ]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"alerts": []}, 422, "alerts: the list is empty, there is no alert to record"),
        ({"alerts": {"id": "x"}}, 422, "alerts: expected a list of alerts, got dict"),
        (
            [{"id": "x", "severity": 1}],
            422,
            'expected a JSON object (a Threat Stack {"alerts": [...]} batch or alert), got list',
        ),
        ({"title": "bare, no id", "severity": 1}, 422, "not a Threat Stack alert: id: Field required"),
        (b"alerts=1", 400, "body is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
        (b"", 400, "empty body"),
    ],
)
def test_unreadable_deliveries(body: Any, status: int, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        threatstack.map_delivery(delivery(body))
    assert (caught.value.status, caught.value.message) == (status, message)


def test_a_batch_of_1000_alerts_is_mapped_quickly() -> None:
    alerts = [
        first_alert() | {"id": f"{n:024x}", "severity": str(n % 3 + 1), "created_at": str(1715680801000 + n)}
        for n in range(1000)
    ]
    d = delivery({"alerts": alerts}, settings=SourceSettings(severity_filter=(1, 2)))
    started = time.perf_counter()
    items = threatstack.map_delivery(d)
    elapsed = time.perf_counter() - started
    assert len(items) == 1000
    drafts = [i for i in items if isinstance(i, Draft)]
    assert len(drafts) == 667
    assert sum(isinstance(i, Ignored) for i in items) == 333
    assert len({d.dedup_key for d in drafts}) == 667
    assert drafts[-1].occurred_at == datetime(2024, 5, 14, 10, 0, 1, 999000, tzinfo=UTC)
    assert elapsed < 1.0, f"1,000 alerts took {elapsed:.3f}s"
