"""Service status (derived, never stored) and the public status page: rules, rendering, the handler on
moto, what the page must never show, the management API, the CLI, and the benchmark script."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alertbridge import runtime
from alertbridge.models.incident import Incident, IncidentSummary, Status
from alertbridge.models.parts import Severity
from alertbridge.models.records import PublicUpdate, Service, SourceSettings, StatusPageSettings
from alertbridge.status.board import (
    ServiceStatus,
    Snapshot,
    build_board,
    phase,
    public_id,
    service_status,
    to_json,
    worst,
)
from alertbridge.status.html import duration, render_html
from alertbridge.status.page import StatusPage
from alertbridge.status.reads import collect
from alertbridge.store.sources import STATUS_ATTRIBUTES
from alertbridge_tools import cli
from alertbridge_tools.apigw import proxy_event
from alertbridge_tools.harness import Harness, HarnessApi
from alertbridge_tools.template import ROOT, load_template
from botocore.exceptions import ClientError

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def make(
    severity: Severity = Severity.CRITICAL,
    status: Status = Status.TRIGGERED,
    *,
    test: bool = False,
    ledger: bool = False,
    title: str = "disk full",
    opened: datetime = NOW - timedelta(minutes=5),
    resolved_at: datetime | None = None,
    n: int = 1,
) -> Incident:
    return Incident(
        id=f"inc_{n:020d}-1",
        ledger=ledger,
        service_id="svc_1",
        dedup_key=f"internal-dedup-{n}",
        seq=1,
        source="kapacitor",
        source_id="src_1",
        status=status,
        severity=severity,
        title=title,
        description="vendor details",
        opened_at=opened,
        updated_at=opened,
        resolved_at=resolved_at,
        test=test,
    )


# --- the rules -------------------------------------------------------------------------------------
def test_no_incidents_is_operational() -> None:
    assert service_status([]) is ServiceStatus.OPERATIONAL


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.CRITICAL, ServiceStatus.DISRUPTION),
        (Severity.HIGH, ServiceStatus.DISRUPTION),
        (Severity.MEDIUM, ServiceStatus.DEGRADED),
        (Severity.LOW, ServiceStatus.DEGRADED),
        (Severity.INFO, ServiceStatus.DEGRADED),
    ],
)
@pytest.mark.parametrize("status", [Status.TRIGGERED, Status.ACKNOWLEDGED])
def test_each_severity_triggered_or_acknowledged(
    severity: Severity, status: Status, expected: ServiceStatus
) -> None:
    assert service_status([make(severity, status)]) is expected


@pytest.mark.parametrize("severity", list(Severity))
def test_monitoring_and_resolved_incidents_are_operational(severity: Severity) -> None:
    assert service_status([make(severity, Status.MONITORING)]) is ServiceStatus.OPERATIONAL
    assert service_status([make(severity, Status.RESOLVED)]) is ServiceStatus.OPERATIONAL


def test_test_incidents_and_ledgers_never_count() -> None:
    assert service_status([make(test=True)]) is ServiceStatus.OPERATIONAL
    assert service_status([make(ledger=True)]) is ServiceStatus.OPERATIONAL
    assert service_status([make(test=True), make(Severity.LOW, n=2)]) is ServiceStatus.DEGRADED


def test_the_worst_incident_decides() -> None:
    mixed = [make(Severity.LOW), make(Severity.CRITICAL, Status.MONITORING), make(Severity.HIGH, n=3)]
    assert service_status(mixed) is ServiceStatus.DISRUPTION
    assert service_status(mixed[:2]) is ServiceStatus.DEGRADED
    assert worst([]) is ServiceStatus.OPERATIONAL
    assert worst([ServiceStatus.DEGRADED, ServiceStatus.OPERATIONAL]) is ServiceStatus.DEGRADED
    assert worst(list(ServiceStatus)) is ServiceStatus.DISRUPTION


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "less than a minute"),
        (59, "less than a minute"),
        (60, "1 min"),
        (59 * 60 + 59, "59 min"),
        (3600, "1 h"),
        (2 * 3600 + 5 * 60 + 30, "2 h 5 min"),
        (86400, "1 d"),
        (3 * 86400 + 4 * 3600 + 59, "3 d 4 h"),
    ],
)
def test_durations(seconds: float, text: str) -> None:
    assert duration(seconds) == text


# --- the page, pure ----------------------------------------------------------------------------------
def test_the_board_and_its_html_load_no_storage_code() -> None:
    """Pure floors: the board and its HTML import neither the AWS SDK nor a store (a fresh interpreter)."""
    probe = "import sys, alertbridge.status.board, alertbridge.status.html; print(' '.join(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert not {m for m in loaded.split() if m.startswith(("boto3", "botocore", "alertbridge.store"))}


def svc(name: str, n: int = 1, **public: Any) -> Service:
    """A public service (the board shows only those) unless told otherwise."""
    return Service(id=f"svc_{n}", name=name, created_at=NOW - timedelta(days=3), **{"public": True, **public})


COUNTED = {"src_1": True}  # make()'s source affects the status


def test_board_shows_open_incidents_worst_first_and_hides_test_ones() -> None:
    snap = Snapshot(
        svc("checkout", show_titles=True),
        counted_sources=COUNTED,
        open=[
            make(Severity.LOW, title="slow", opened=NOW - timedelta(hours=3), n=1),
            make(Severity.CRITICAL, Status.MONITORING, title="recovering", n=2),
            make(Severity.HIGH, Status.ACKNOWLEDGED, title="errors", n=3),
            make(Severity.CRITICAL, title="a test", test=True, n=4),
        ],
        resolved=[
            make(Severity.LOW, Status.RESOLVED, title="old", resolved_at=NOW, n=5),
            make(Severity.LOW, Status.RESOLVED, title="test done", test=True, resolved_at=NOW, n=6),
        ],
    )
    data = to_json(build_board([snap, Snapshot(svc("search", 2), [], [])], NOW))
    assert data["status"] == "disruption" and data["summary"] == "Major outage"
    checkout, search = data["services"]
    assert [i["title"] for i in checkout["incidents"]] == ["errors", "slow", "recovering"]
    assert [i["phase"] for i in checkout["incidents"]] == ["investigating", "investigating", "monitoring"]
    assert checkout["incidents"][0] == {
        "id": public_id("inc_00000000000000000003-1"),
        "title": "errors",
        "phase": "investigating",
        "started_at": "2026-11-23T11:55:00.000000Z",
        "resolved_at": None,
        "updates": [],
    }
    assert [(i["title"], i["phase"], i["resolved_at"]) for i in checkout["recently_resolved"]] == [
        ("old", "resolved", "2026-11-23T12:00:00.000000Z")
    ]
    assert search == {
        "name": "search",
        "description": None,
        "status": "operational",
        "incidents": [],
        "recently_resolved": [],
    }


@pytest.mark.parametrize(
    ("severity", "banner", "label"),
    [
        (None, "All systems operational", "Operational"),
        (Severity.MEDIUM, "Partial outage", "Degraded"),
        (Severity.HIGH, "Major outage", "Disruption"),
    ],
)
def test_banner_and_rows(severity: Severity | None, banner: str, label: str) -> None:
    incidents = [make(severity, opened=NOW - timedelta(hours=2, minutes=5))] if severity else []
    page = render_html(build_board([Snapshot(svc("checkout"), incidents, [], COUNTED)], NOW))
    assert f'<p class="headline">{banner}</p>' in page
    assert f"<title>{banner} · System status</title>" in page
    assert f'<span class="dot"></span>{label}</span>' in page
    if severity:
        assert "checkout: investigating an issue" in page and "for 2 h 5 min" in page
        assert '<time datetime="2026-11-23T09:55:00.000000Z">23 Nov 2026, 09:55 UTC</time>' in page


def test_every_vendor_and_operator_string_is_escaped() -> None:
    snap = Snapshot(
        svc('shop"><b>x</b>', show_titles=True, public_description=XSS),
        counted_sources=COUNTED,
        updates={"inc_00000000000000000001-1": [PublicUpdate(message=XSS, at=NOW, by="op")]},
        open=[make(title=XSS)],
        resolved=[make(Severity.LOW, Status.RESOLVED, title=XSS + " done", resolved_at=NOW, n=2)],
    )
    settings = StatusPageSettings(title=XSS, logo_text=XSS)
    page = render_html(build_board([snap], NOW, settings))
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;") == 7
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "shop&quot;&gt;&lt;b&gt;x&lt;/b&gt;" in page


@pytest.mark.parametrize(
    ("status", "said", "expected"),
    [
        (Status.TRIGGERED, [], "investigating"),
        (Status.ACKNOWLEDGED, ["identified"], "identified"),
        (Status.TRIGGERED, ["identified", "monitoring"], "monitoring"),
        (Status.TRIGGERED, ["monitoring", "identified"], "identified"),  # the last one said
        (Status.MONITORING, [], "monitoring"),  # the source recovered
        (Status.MONITORING, ["identified"], "monitoring"),
        (Status.TRIGGERED, ["resolved"], "investigating"),  # only a resolved incident reads Resolved
        (Status.RESOLVED, [], "resolved"),
        (Status.RESOLVED, ["identified"], "resolved"),
    ],
)
def test_the_public_phase(status: Status, said: list[str], expected: str) -> None:
    updates = [
        PublicUpdate(message=p, at=NOW + timedelta(minutes=n), phase=p, by="op")  # type: ignore[arg-type]
        for n, p in enumerate(said)
    ]
    summary = IncidentSummary.model_validate(make(status=status).model_dump())
    assert phase(summary, updates) == expected


def test_a_private_service_and_an_uncounted_source_show_nothing() -> None:
    private = Snapshot(svc("secret-backoffice", 1, public=False), [make(title="db down")], [], COUNTED)
    muted = Snapshot(svc("api", 2), [make(title="Suspicious Process Started", n=2)], [], {"src_1": False})
    board = build_board([private, muted], NOW)
    assert [r.name for r in board.services] == ["api"]
    assert board.status is ServiceStatus.OPERATIONAL and board.services[0].open == ()
    page = render_html(board) + json.dumps(to_json(board))
    assert "secret-backoffice" not in page and "db down" not in page and "Suspicious" not in page


def test_an_empty_page() -> None:
    page = render_html(build_board([], NOW))
    assert "All systems operational" in page and "No services yet." in page
    assert to_json(build_board([], NOW))["services"] == []


class _Stores:
    """Stand-ins for SourceStore, IncidentStore and StatusPageStore, counting reads."""

    def __init__(self, resolved: list[Incident] | None = None, fail: bool = False) -> None:
        self.reads = 0
        self.resolved = resolved or []
        self.fail = fail
        self.asked: dict[str, Any] = {}
        self.page = StatusPageSettings()

    def list_services(self) -> list[Service]:
        self.reads += 1
        if self.fail:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "Query")
        return [svc("checkout")]

    def summaries(self, service_id: str, closed_since: str) -> list[IncidentSummary]:
        self.asked = {"closed_since": closed_since}
        return [IncidentSummary.model_validate(i.model_dump()) for i in [make(), *self.resolved]]

    def settings(self) -> StatusPageSettings:
        return self.page

    def status_sources(self, service_id: str) -> dict[str, bool]:
        return COUNTED

    def updates(self, incident_ids: list[str]) -> dict[str, list[PublicUpdate]]:
        self.asked["updates"] = incident_ids
        return {}


def test_recently_resolved_means_the_last_24_hours() -> None:
    stores = _Stores(
        resolved=[
            make(Severity.LOW, Status.RESOLVED, title="an hour ago", resolved_at=NOW - timedelta(hours=1)),
            make(
                Severity.LOW, Status.RESOLVED, title="yesterday", resolved_at=NOW - timedelta(hours=25), n=2
            ),
        ]
    )
    _, [snap] = collect(stores, stores, stores, NOW)  # type: ignore[arg-type]
    assert [i.title for i in snap.resolved] == ["an hour ago"]
    assert len(snap.open) == 1
    assert stores.asked["closed_since"] == "2026-11-16T12:00:00.000000Z"  # opened in the last week
    assert len(stores.asked["updates"]) == 2  # the public updates of what it shows, in one read

    stores.page = StatusPageSettings(history_hours=26)
    _, [snap] = collect(stores, stores, stores, NOW)  # type: ignore[arg-type]
    assert [i.title for i in snap.resolved] == ["an hour ago", "yesterday"]
    stores.page = StatusPageSettings(history_hours=400)  # longer than a week: looked for further back
    collect(stores, stores, stores, NOW)  # type: ignore[arg-type]
    assert stores.asked["closed_since"] == "2026-11-06T20:00:00.000000Z"


def test_the_board_is_cached_briefly_and_storage_errors_are_a_503() -> None:
    clock = [100.0]
    stores = _Stores()
    page = StatusPage(stores, stores, stores, cache_seconds=5, clock=lambda: clock[0])  # type: ignore[arg-type]
    event = {"resource": "/status.json"}
    assert page.handle(event)["statusCode"] == 200
    assert page.handle({"resource": "/status"})["statusCode"] == 200
    assert stores.reads == 1
    clock[0] += 6
    page.handle(event)
    assert stores.reads == 2
    assert page.handle({"resource": "/elsewhere"})["statusCode"] == 404

    broken = _Stores(fail=True)
    answer = StatusPage(broken, broken, broken, cache_seconds=0).handle(event)  # type: ignore[arg-type]
    assert answer["statusCode"] == 503 and answer["headers"]["Cache-Control"] == "no-store"


# --- the handler on moto ---------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _fresh_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request reads the table (the function's short cache would hide changes in a test)."""
    monkeypatch.setenv("STATUS_CACHE_SECONDS", "0")


DEDUP_KEY = "web-7f3a/cpu-internal-key"
DETAILS = "payload-only-detail: usage_idle=3.2 on 10.0.4.17"


def kapacitor(level: str, message: str = "Checkout is failing", key: str = DEDUP_KEY) -> bytes:
    body = {
        "id": key,
        "message": message,
        "details": DETAILS,
        "level": level,
        "time": datetime.now(UTC).isoformat(),
        "data": {"series": [{"name": "cpu", "tags": {"host": "10.0.4.17"}}]},
    }
    if level == "OK":
        body["previousLevel"] = "CRITICAL"
    return json.dumps(body).encode()


def get(stack: Harness, path: str) -> tuple[int, dict[str, str], str]:
    """The function's raw answer for GET path (status, headers, body text)."""
    raw = stack.invoke(proxy_event("GET", path, resource=path, headers={"Host": "127.0.0.1"}))
    assert raw is not None, f"no route for {path}"
    return int(raw["statusCode"]), dict(raw["headers"]), str(raw["body"])


def public(stack: Harness) -> dict[str, Any]:
    status, _, body = get(stack, "/status.json")
    assert status == 200
    data: dict[str, Any] = json.loads(body)
    return data


def make_public(stack: Harness, service_id: str, **settings: Any) -> dict[str, Any]:
    answer = stack.call("PATCH", f"/api/services/{service_id}", {"public": True, **settings})
    assert answer.status == 200, answer.body
    body: dict[str, Any] = answer.body
    return body


def test_a_fresh_install_shows_no_service(stack: Harness, service_id: str) -> None:
    _, token = stack.add_source(service_id, "kapacitor")
    assert stack.post("kapacitor", token, kapacitor("CRITICAL")).status == 202
    stack.pump()
    data = public(stack)
    assert (data["status"], data["services"]) == ("operational", [])
    page = get(stack, "/status")[2]
    assert "checkout" not in page and "Checkout is failing" not in page and "No services yet." in page


def test_status_page_through_the_handler(stack: Harness, service_id: str) -> None:
    _, token = stack.add_source(service_id, "kapacitor")
    make_public(stack, service_id, public_name="Checkout", public_description="Paying for orders")
    assert public(stack)["services"] == [
        {
            "name": "Checkout",
            "description": "Paying for orders",
            "status": "operational",
            "incidents": [],
            "recently_resolved": [],
        }
    ]
    assert stack.post("kapacitor", token, kapacitor("CRITICAL")).status == 202
    stack.pump()
    data = public(stack)
    assert (data["status"], data["summary"]) == ("disruption", "Major outage")
    [row] = data["services"]
    assert row["status"] == "disruption"
    assert [(i["title"], i["phase"]) for i in row["incidents"]] == [
        ("Checkout: investigating an issue", "investigating")
    ]
    status, _, page = get(stack, "/status")
    assert status == 200 and "Major outage" in page and 'data-status="disruption"' in page
    assert "Checkout: investigating an issue" in page and "for less than a minute" in page
    assert "Checkout is failing" not in page

    assert stack.post("kapacitor", token, kapacitor("OK", "Checkout is fine")).status == 202
    stack.pump()
    [row] = public(stack)["services"]
    assert row["status"] == "operational" and row["incidents"] == []
    assert [(i["title"], i["phase"]) for i in row["recently_resolved"]] == [
        ("Checkout: issue resolved", "resolved")
    ]
    assert "No incidents were resolved" not in get(stack, "/status")[2]


def test_public_caching_headers(stack: Harness, service_id: str) -> None:
    status, headers, _ = get(stack, "/status")
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=30"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none': nothing runs
    status, headers, _ = get(stack, "/status.json")
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=30"
    assert headers["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize("show_titles", [False, True])
def test_nothing_private_leaks_into_either_output(stack: Harness, service_id: str, show_titles: bool) -> None:
    make_public(stack, service_id, show_titles=show_titles)
    source, token = stack.add_source(service_id, "kapacitor")
    answer = stack.post("kapacitor", token, kapacitor("CRITICAL"))
    stack.pump()
    stack.post("kapacitor", token, kapacitor("CRITICAL", key="second"))
    stack.post("kapacitor", token, kapacitor("OK", key="second"))
    stack.post("kapacitor", token, kapacitor("WARNING", message="", key="db-7.internal/untitled"))
    stack.pump()
    incidents = runtime.incident_store().list_open(service_id)
    assert any(i.title == "db-7.internal/untitled" for i in incidents)  # the key, as operators see it
    for path in ("/status", "/status.json"):
        _, _, body = get(stack, path)
        assert ("Checkout is failing" in body) is show_titles
        assert "checkout: investigating an issue" in body  # the untitled one, even with titles shown
        for secret in (
            token,
            source.token_hash,
            DEDUP_KEY,
            "web-7f3a",
            "db-7.internal",
            DETAILS,
            "10.0.4.17",
            "usage_idle",
            *(i.id for i in incidents),
            *(i.id.partition("-")[0] for i in incidents),
            service_id,
            source.id,
            answer.body["delivery_id"],
            answer.body["alerts"][0]["event_id"],
        ):
            assert secret not in body, f"{secret!r} leaked into {path}"


def test_vendor_strings_are_escaped_through_the_handler(stack: Harness, service_id: str) -> None:
    make_public(stack, service_id, show_titles=True)
    _, token = stack.add_source(service_id, "kapacitor")
    stack.post("kapacitor", token, kapacitor("WARNING", XSS))
    stack.pump()
    _, _, page = get(stack, "/status")
    assert "Partial outage" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<script" not in page and "<img" not in page
    assert public(stack)["services"][0]["incidents"][0]["title"] == XSS  # JSON: the text itself


def test_monitoring_acknowledged_and_test_alerts(stack: Harness, service_id: str) -> None:
    make_public(stack, service_id)
    source, token = stack.add_source(service_id, "kapacitor", SourceSettings(recovery_policy="monitor"))
    stack.post("kapacitor", token, kapacitor("CRITICAL"))
    stack.pump()
    [incident] = runtime.incident_store().list_open(service_id)
    assert stack.call("POST", f"/api/incidents/{incident.id}/acknowledge", {"by": "alice"}).status == 200
    data = public(stack)
    assert data["status"] == "disruption"  # acknowledged still counts
    assert [i["phase"] for i in data["services"][0]["incidents"]] == ["investigating"]

    stack.post("kapacitor", token, kapacitor("OK"))
    stack.pump()
    data = public(stack)
    assert data["status"] == "operational"  # monitoring: back to operational until a person confirms
    assert [i["phase"] for i in data["services"][0]["incidents"]] == ["monitoring"]
    assert "Monitoring</span>" in get(stack, "/status")[2]

    assert stack.call("POST", f"/api/sources/{source.id}/test-alert").status == 202
    stack.pump()
    assert any(i.test for i in runtime.incident_store().list_open(service_id))
    data = public(stack)
    assert data["status"] == "operational"
    assert [i["phase"] for i in data["services"][0]["incidents"]] == ["monitoring"]  # no test one


# --- management API and CLI ------------------------------------------------------------------------
def test_management_api_status(stack: Harness, service_id: str) -> None:
    other = stack.call("POST", "/api/services", {"name": "search"}).body["id"]
    _, token = stack.add_source(service_id, "kapacitor")
    stack.post("kapacitor", token, kapacitor("WARNING"))
    stack.pump()
    answer = stack.call("GET", "/api/status")
    assert answer.status == 200
    by_name = {s["name"]: s for s in answer.body}
    assert by_name["checkout"]["service_id"] == service_id
    assert by_name["checkout"]["status"] == "degraded"
    assert [i["title"] for i in by_name["checkout"]["open_incidents"]] == ["Checkout is failing"]
    assert by_name["search"] == {
        "service_id": other,
        "name": "search",
        "status": "operational",
        "public": False,
        "public_name": "search",
        "public_description": None,
        "order": 0,
        "show_titles": False,
        "public_status": "operational",
        "sources_affecting_status": {},
        "open_incidents": [],
    }
    assert stack.call("GET", f"/api/services/{service_id}").body["status"] == "degraded"
    assert stack.call("GET", f"/api/services/{other}").body["status"] == "operational"


def test_cli_status(stack: Harness, service_id: str) -> None:
    _, token = stack.add_source(service_id, "kapacitor")
    stack.post("kapacitor", token, kapacitor("CRITICAL"))
    stack.pump()
    stack.call("POST", "/api/services", {"name": "search"})

    def run(*args: str) -> str:
        out = io.StringIO()
        with redirect_stdout(out):
            assert cli.run(cli._parser().parse_args(["status", *args]), HarnessApi(stack)) == 0
        return out.getvalue()

    lines = run().splitlines()
    assert lines[0].split() == ["SERVICE", "STATUS", "OPEN", "PUBLIC", "PUBLIC_STATUS"]
    assert sorted(line.split() for line in lines[1:]) == [
        ["checkout", "disruption", "1", "-", "-"],
        ["search", "operational", "0", "-", "-"],
    ]
    data = json.loads(run("--json"))
    assert {s["name"]: s["status"] for s in data} == {"checkout": "disruption", "search": "operational"}


# --- deployment shape and the benchmark ------------------------------------------------------------
def test_status_function_is_public_read_only_and_least_privilege() -> None:
    fn = load_template()["Resources"]["StatusFunction"]["Properties"]
    events = {e["Properties"]["Path"]: e["Properties"] for e in fn["Events"].values()}
    assert set(events) == {"/status", "/status.json"}
    assert all(e["Method"] == "get" and "Auth" not in e for e in events.values())
    actions = {
        a
        for policy in fn["Policies"]
        for statement in policy["Statement"]
        for a in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert actions == {"dynamodb:Query", "dynamodb:BatchGetItem"}
    # Of a source item it may read exactly what SourceStore.status_sources asks for, and must name it.
    [sources] = [
        st for p in fn["Policies"] for st in p["Statement"] if "SRC#*" in str(st.get("Condition", {}))
    ]
    condition = sources["Condition"]
    assert condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["SRC#*"]
    assert tuple(condition["ForAllValues:StringEquals"]["dynamodb:Attributes"]) == STATUS_ATTRIBUTES
    assert condition["Null"]["dynamodb:Attributes"] == "false"
    assert not {"token_hash", "settings"} & set(STATUS_ATTRIBUTES)


def test_the_benchmark_script_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "status_page.py"), "--services", "2", "--repeat", "2"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "pure render: 2 services" in done.stdout and "table calls per request" in done.stdout
    assert done.stdout.count("median") == 7
