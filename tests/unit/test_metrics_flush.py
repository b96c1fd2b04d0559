"""The functions' manual metric flushes (observability.flush): on AWS each flush prints one EMF
record; with metrics off (the local stack) nothing is printed, then or later, and nothing piles up."""

from __future__ import annotations

import pytest
from alertbridge.observability import flush
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit


def _invocations(n: int) -> EphemeralMetrics:
    metrics = EphemeralMetrics(namespace="Alertbridge", service="incident-events")
    for _ in range(n):  # what a function does once per invocation
        metrics.add_metric(name="incident_events_published", unit=MetricUnit.Count, value=1)
        flush(metrics)
    return metrics


def test_with_metrics_on_each_flush_prints_one_record(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    _invocations(3)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all('"incident_events_published":[1.0]' in line for line in lines)


def test_with_metrics_off_nothing_is_printed_and_nothing_piles_up(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    metrics = _invocations(250)  # Powertools prints a metric's values at its 100th when they are kept
    assert capsys.readouterr().out == ""
    assert metrics.metric_set == {}
