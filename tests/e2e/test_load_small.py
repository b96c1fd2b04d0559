"""The load benchmark (bench/load.py) at a small size: 300 alerts, 8 senders, Threat Stack batches of
50, through a local stack of its own over real HTTP. Every alert is accounted for, none is lost or
doubled, no 5xx. The figures are only checked to be measured (positive): no speed thresholds."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    """bench/ is not a package: load bench/load.py by its path."""
    name = "alertbridge_bench_load"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def test_300_alerts_through_the_local_stack_are_all_accounted_for() -> None:
    load = _bench()
    result = load.run(alerts=300, senders=8, batch=50)

    assert result.ok, result.failures
    assert result.alerts == 300
    assert result.alerts_by_source == {"threatstack": 240, "kapacitor": 30, "heroku": 30}
    assert result.deliveries == 240 // 50 + 1 + 30 + 30  # 4 full batches and one of 40, 60 singles
    assert result.accepted + result.ignored + result.rejected == result.alerts
    assert result.unaccounted == 0
    assert result.accepted == 300  # no severity filter, no secret: every alert opens an incident
    assert result.server_errors == 0 and result.connection_errors == 0
    assert result.status_codes == {"202": result.deliveries}
    assert result.lost == 0 and result.doubled == 0 and result.unexpected == 0
    assert result.incidents == 300
    assert not result.timed_out
    figures = (
        result.send_seconds,
        result.ingest_alerts_per_s,
        result.end_to_end_seconds,
        result.end_to_end_alerts_per_s,
        result.latency_ms_p50,
        result.latency_ms_p99,
        result.response_ms_p50,
        result.response_ms_p99,
    )
    assert all(isinstance(f, float) and math.isfinite(f) and f > 0 for f in figures), figures
    assert result.latency_ms_p50 <= result.latency_ms_p99 <= result.latency_ms_max
    assert result.as_json()["ok"] is True


def test_the_workload_is_deterministic_and_keys_are_unique() -> None:
    load = _bench()
    first, alerts = load.build_workload(1000, 100, 1_700_000_000_000)
    again, _ = load.build_workload(1000, 100, 1_700_000_000_000)
    assert [d.body for d in first] == [d.body for d in again]
    assert len({(a.source, a.dedup_key) for a in alerts}) == len(alerts) == 1000
    assert sum(len(d.alerts) for d in first) == 1000
    assert load.nearest_rank([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert load.nearest_rank([float(n) for n in range(1, 101)], 99) == 99.0
