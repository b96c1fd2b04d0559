from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Never reach real AWS from the test suite, whatever the machine has configured.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "Alertbridge",
        "POWERTOOLS_DEV": "false",
    }
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

from alertbridge_tools.harness import Harness
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "vendor-samples"


def sample(name: str) -> bytes:
    """A vendor sample's exact bytes (../shared/vendor-samples)."""
    return (SAMPLES / name).read_bytes()


def sample_json(name: str) -> Any:
    return json.loads(sample(name))


@pytest.fixture(autouse=True)
def _least_privilege(request: pytest.FixtureRequest) -> Iterator[None]:
    """Functions run as their own roles (alertbridge_tools.roles, moto_iam): a test during which a
    function was refused an AWS call fails, even when the function coped (a best-effort write), unless
    it is marked ``refused``. What each function called goes to the suite's summary."""
    from alertbridge_tools import moto_iam

    moto_iam.RECORD.recording = True
    mark = moto_iam.RECORD.mark()
    yield
    calls = moto_iam.RECORD.since(mark)
    if calls:
        request.node.user_properties.append(("aws_calls", json.dumps(moto_iam.summary(calls))))
    refused = [call for call in calls if not call.allowed]
    if refused and request.node.get_closest_marker("refused") is None:
        lines = sorted({f"{call.function}: {call.reason}" for call in refused})
        pytest.fail("refused by the function's role:\n" + "\n".join(lines[:10]), pytrace=False)


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    """Each test starts on the real clock: a fast-forward (Harness.advance) ends with its test."""
    yield
    from alertbridge import timestamps

    timestamps.reset_clock()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def stack(aws: None) -> Harness:
    """The template's resources on in-process moto, with the real functions wired to them."""
    return Harness.create()


@pytest.fixture
def service_id(stack: Harness) -> str:
    from alertbridge import runtime

    return runtime.source_store().create_service("checkout").id


# A Kapacitor alert that opens an incident (``incident_id``).
CRITICAL = b'{"id":"cpu:web-1","message":"cpu is CRITICAL","level":"CRITICAL","time":"2026-11-23T10:00:00Z"}'


@pytest.fixture
def incident_id(stack: Harness, service_id: str) -> str:
    """An open incident of ``service_id``, through the webhook and the incident function."""
    from alertbridge import runtime

    _, token = stack.add_source(service_id, "kapacitor")
    assert stack.post("kapacitor", token, CRITICAL).status == 202
    stack.pump()
    [incident] = runtime.incident_store().list_open(service_id)
    return incident.id


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server on loopback (HTTP, concurrent clients): for tests where concurrency must be real."""
    from alertbridge_tools.emulator import MotoServer

    server = MotoServer().start()
    yield server.url
    server.stop()


@pytest.fixture
def server_stack(moto_server: str) -> Iterator[Harness]:
    """The template's resources on the moto server, the real functions wired to them."""
    harness = Harness.create(endpoint_url=moto_server)
    yield harness
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from alertbridge import runtime

    runtime.reset()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the counts of the generated-body tests (tests/flow/test_fuzz.py, tests/golden/
    test_exact_reading.py), also under xdist."""
    sections = {
        "fuzz": "generated bodies per source (no 5xx, every 4xx a JSON error, kept)",
        "readings": "generated bodies per source read exactly / leniently (the same items either way)",
    }
    reports = terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", [])
    _aws_calls_summary(terminalreporter, reports)
    for key, title in sections.items():
        lines = [
            value
            for report in reports
            if report.when == "call"
            for name, value in getattr(report, "user_properties", [])
            if name == key
        ]
        if lines:
            terminalreporter.section(title)
            for line in sorted(lines):
                terminalreporter.write_line(line)


def _aws_calls_summary(terminalreporter: Any, reports: list[Any]) -> None:
    """What each function called across the suite, under its own role, and the statements of its
    role no call used."""
    from alertbridge_tools import moto_iam

    del reports  # the teardown reports (where the fixture leaves its figures) are in their own category
    parts = [
        json.loads(value)
        for category in terminalreporter.stats.values()
        for report in category
        if getattr(report, "when", None) == "teardown"
        for name, value in getattr(report, "user_properties", [])
        if name == "aws_calls"
    ]
    if parts:
        terminalreporter.section("AWS calls of each function, under its own role (moto_iam)")
        for line in moto_iam.report(parts):
            terminalreporter.write_line(line)
