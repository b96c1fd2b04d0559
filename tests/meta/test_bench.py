"""The benchmark command still runs (on tiny inputs); it asserts no timings, and neither does this."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def bench(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``bench/run.py ARGS --out OUT``, which must exit 0."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), *args, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_bench_runs_quickly_and_writes_results(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = bench(out, "--quick")
    figures = json.loads(out.read_text())
    assert {"name", "value", "unit", "floor", "ratio", "target", "met"} == set(figures[0])
    names = {f["name"] for f in figures}
    for expected in (
        "cold_start.kapacitor",
        "normalize.threatstack-1000",
        "requests.ingest.threatstack_100_alerts",
        "requests.incidents.100_messages_1_key",
        "cost.single_alert_deliveries.per_million_alerts",
        "cost.alerts_in_100_alert_batches.per_million_alerts",
        "cold_start.notifier",
        "cold_start.incident_events",
        "cold_start.checker",
        "notify.cost.per_million_notifications",
        "notify.latency.aws_model.webhook_to_notification",
        "notify.latency.local.p50",
        "notify.latency.local.p99",
        "rules.evaluate.50_rules_per_alert",
        "rules.requests.ingest.rule_reads_per_delivery_warm",
        "heartbeats.checker.0_due.dynamodb_requests",
        "heartbeats.checker.100_due.run_ms",
        "heartbeats.ingest.extra_writes_per_delivery",
    ):
        assert expected in names
    by_name = {f["name"]: f for f in figures}
    assert all(f["value"] >= 0 for f in figures)
    # Request counts are deterministic: they are checked, unlike times.
    assert by_name["requests.ingest.threatstack_100_alerts"]["met"] is True
    one, many = (by_name[f"requests.incidents.100_messages_{k}"]["value"] for k in ("1_key", "100_keys"))
    assert one < many
    # A warm ingest function reads a service's rules once a minute, not once per delivery.
    assert by_name["rules.requests.ingest.rule_reads_per_delivery_warm"]["value"] == 0
    assert by_name["rules.evaluate.50_rules_applied"]["value"] >= 1
    # Every incident's notification reached the loopback receiver; the notifier's requests are counted.
    assert by_name["notify.latency.local.missing"]["value"] == 0
    assert by_name["notify.requests.notifier.dynamodb_per_notification"]["value"] > 0
    # The checker reads the due index only: with nothing due, one Query per shard, however many sources.
    idle = by_name["heartbeats.checker.0_due.dynamodb_requests"]
    assert idle["value"] == idle["floor"]
    assert (
        by_name["heartbeats.checker.10_due.dynamodb_requests"]["value"]
        < by_name["heartbeats.scan.items_read"]["value"]
    )
    assert by_name["heartbeats.ingest.extra_writes_per_delivery"]["value"] <= 0.05
    model = by_name["notify.latency.aws_model.webhook_to_notification"]
    assert model["floor"] is not None and model["value"] >= model["floor"]
    assert "figure" in done.stdout and "wrote" in done.stdout


def test_a_partial_run_updates_its_figures_and_keeps_the_others(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    other = {"name": "cold_start.kapacitor", "value": 1.0, "unit": "ms"}
    out.write_text(json.dumps([other]))
    runs = []
    for _ in range(2):
        bench(out, "--only", "size")
        runs.append(json.loads(out.read_text()))
    assert runs[0][0] == other == runs[1][0]  # another section's figure, kept as it was
    names = [f["name"] for f in runs[1]]
    assert len(names) == len(set(names)) and len(runs[1]) == len(runs[0]) > 1  # updated, not appended
