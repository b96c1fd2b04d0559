"""What the public status page shows is the operator's choice (issue 18): public services and their
public names, descriptions and order; sources that affect the status (Threat Stack does not by
default); public updates and phases; the page's own settings. Through the management API and the
CLI, on moto, with the real functions."""

from __future__ import annotations

import io
import json
import threading
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alertbridge import runtime
from alertbridge.status.board import public_id
from alertbridge.store.status_page import MAX_UPDATES
from alertbridge_tools import cli
from alertbridge_tools.harness import Harness, HarnessApi

from tests.conftest import sample
from tests.flow.test_status import get, kapacitor, make_public, public


@pytest.fixture(autouse=True)
def _fresh_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request reads the table (the function's short cache would hide changes in a test)."""
    monkeypatch.setenv("STATUS_CACHE_SECONDS", "0")


def run_cli(stack: Harness, *args: str) -> str:
    """The CLI's command, its Client answered in-process by the harness; its stdout."""

    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.run(cli._parser().parse_args(list(args)), HarnessApi(stack)) == 0
    return out.getvalue()


def open_incident(stack: Harness, service_id: str, level: str = "CRITICAL", key: str = "web/cpu") -> str:
    _, token = stack.add_source(service_id, "kapacitor")
    assert stack.post("kapacitor", token, kapacitor(level, key=key)).status == 202
    stack.pump()
    [incident] = [i for i in runtime.incident_store().list_open(service_id) if i.dedup_key == key]
    return incident.id


# --- services ---------------------------------------------------------------------------------------
def test_services_set_through_the_cli_and_the_api(stack: Harness, service_id: str) -> None:
    assert stack.call("GET", f"/api/services/{service_id}").body["public"] is False  # the default
    out = run_cli(
        stack,
        "services", "set", service_id, "--public", "--public-name", "Checkout",
        "--public-description", "Paying for orders", "--order", "2", "--show-titles", "--json",
    )  # fmt: skip
    data = json.loads(out)
    assert {k: data[k] for k in ("public", "public_name", "public_description", "order", "show_titles")} == {
        "public": True,
        "public_name": "Checkout",
        "public_description": "Paying for orders",
        "order": 2,
        "show_titles": True,
    }
    # What is not given stays; "" clears a text; --no-... turns a flag off.
    data = json.loads(
        run_cli(stack, "services", "set", service_id, "--no-show-titles", "--public-name", "", "--json")
    )
    assert (data["public"], data["public_name"], data["show_titles"], data["order"]) == (True, None, False, 2)
    assert public(stack)["services"][0]["name"] == "checkout"  # no public name: the service's own
    assert "checkout" in run_cli(stack, "services", "list")

    assert stack.call("PATCH", "/api/services/svc_nope", {"public": True}).status == 404
    bad = stack.call("PATCH", f"/api/services/{service_id}", {"public": "yes please"})
    assert bad.status == 400 and "public" in bad.body["error"]
    assert stack.call("PATCH", f"/api/services/{service_id}", {"colour": "red"}).status == 400
    assert stack.call("PATCH", f"/api/services/{service_id}", {"order": "first"}).status == 400


def test_only_public_services_in_their_order(stack: Harness, service_id: str) -> None:
    ids = {name: stack.call("POST", "/api/services", {"name": name}).body["id"] for name in ("b", "a", "z")}
    make_public(stack, ids["z"], order=-1)
    make_public(stack, ids["b"])
    make_public(stack, ids["a"])
    make_public(stack, service_id, order=5, public_name="Checkout")
    names = [s["name"] for s in public(stack)["services"]]
    assert names == ["z", "a", "b", "Checkout"]  # by order, then by public name
    make_public(stack, ids["a"], public=False)
    assert [s["name"] for s in public(stack)["services"]] == ["z", "b", "Checkout"]
    page = get(stack, "/status")[2]
    assert page.index(">z<") < page.index(">b<") < page.index(">Checkout<")


# --- sources that affect the status ------------------------------------------------------------------
def test_a_threat_stack_alert_never_changes_the_public_banner_by_default(
    stack: Harness, service_id: str
) -> None:
    make_public(stack, service_id)
    source, token = stack.add_source(service_id, "threatstack")
    listed = stack.call("GET", f"/api/services/{service_id}/sources").body
    assert [s["affects_status"] for s in listed] == [False]
    assert stack.post("threatstack", token, sample("threatstack-batch.json")).status == 202
    stack.pump()
    opened = runtime.incident_store().list_open(service_id)
    assert opened and all(i.source == "threatstack" for i in opened)
    data = public(stack)
    assert data["status"] == "operational" and data["services"][0]["incidents"] == []
    assert "All systems operational" in get(stack, "/status")[2]

    # Operators still see it, real titles and all, and which sources count.
    [state] = stack.call("GET", "/api/status").body
    assert state["status"] != "operational" and state["public_status"] == "operational"
    assert state["sources_affecting_status"] == {source.id: False}
    assert {i["title"] for i in state["open_incidents"]} == {i.title for i in opened}
    assert all(i["affects_status"] is False for i in state["open_incidents"])
    table = run_cli(stack, "status")
    assert "checkout" in table and "operational" in table
    listed = run_cli(stack, "sources", "list", service_id).splitlines()
    assert "AFFECTS_STATUS" in listed[0].split() and listed[1].split()[4] == "False"

    # An operator can let it count, and back.
    out = json.loads(run_cli(stack, "sources", "set", source.id, "--affects-status", "--json"))
    assert out["affects_status"] is True
    assert public(stack)["status"] != "operational"
    assert (
        json.loads(run_cli(stack, "sources", "set", source.id, "--no-affects-status", "--json"))[
            "affects_status"
        ]
        is False
    )
    assert public(stack)["status"] == "operational"


def test_other_sources_affect_the_status_by_default_and_can_be_muted(stack: Harness, service_id: str) -> None:
    make_public(stack, service_id)
    incident_id = open_incident(stack, service_id)
    [source] = stack.call("GET", f"/api/services/{service_id}/sources").body
    assert source["affects_status"] is True and public(stack)["status"] == "disruption"
    answer = stack.call("PATCH", f"/api/sources/{source['id']}", {"affects_status": False})
    assert answer.status == 200 and answer.body["affects_status"] is False
    data = public(stack)
    assert data["status"] == "operational" and data["services"][0]["incidents"] == []
    assert stack.call("GET", f"/api/incidents/{incident_id}").body["status"] == "triggered"  # untouched


# --- public updates and phases --------------------------------------------------------------------
def test_public_updates_newest_first_and_every_phase(stack: Harness, service_id: str) -> None:
    make_public(stack, service_id, public_name="Checkout")
    incident_id = open_incident(stack, service_id)

    def shown() -> dict[str, Any]:
        [row] = public(stack)["services"]
        [item] = row["incidents"] or row["recently_resolved"]
        return dict(item)

    first = shown()
    assert (first["title"], first["phase"], first["updates"]) == (
        "Checkout: investigating an issue",
        "investigating",
        [],
    )
    assert first["id"] == public_id(incident_id) and incident_id not in json.dumps(first)

    out = run_cli(
        stack, "incidents", "update", incident_id, "--public", "We are looking into slow checkouts."
    )
    assert "We are looking into slow checkouts." in out and public_id(incident_id) in out
    assert shown()["phase"] == "investigating"
    run_cli(
        stack,
        "incidents",
        "update",
        incident_id,
        "--public",
        "A bad deploy; rolling back.",
        "--phase",
        "identified",
    )
    assert (shown()["phase"], shown()["title"]) == ("identified", "Checkout: issue identified")
    answer = stack.call(
        "POST",
        f"/api/incidents/{incident_id}/updates",
        {"message": "Fix out; watching.", "phase": "monitoring"},
    )
    assert answer.status == 201 and answer.body["status"] == "triggered"  # the public narrative only
    item = shown()
    assert item["phase"] == "monitoring"
    assert [u["message"] for u in item["updates"]] == [
        "Fix out; watching.",
        "A bad deploy; rolling back.",
        "We are looking into slow checkouts.",
    ]  # newest first
    assert all(set(u) == {"message", "at"} for u in item["updates"])  # never who posted it
    page = get(stack, "/status")[2]
    assert page.index("Fix out; watching.") < page.index("A bad deploy") < page.index("We are looking")

    # Resolved: resolves the incident (a person's resolve), and the page says so.
    data = json.loads(
        run_cli(
            stack,
            "incidents",
            "update",
            incident_id,
            "--public",
            "All good now.",
            "--phase",
            "resolved",
            "--json",
        )
    )
    assert data["status"] == "resolved" and data["resolved_by"].startswith("person:")
    item = shown()
    assert (item["phase"], item["title"], item["updates"][0]["message"]) == (
        "resolved",
        "Checkout: issue resolved",
        "All good now.",
    )
    assert public(stack)["services"][0]["incidents"] == []

    # Operators see the updates on the timeline, with who posted them.
    shown_to_operators = stack.call("GET", f"/api/incidents/{incident_id}").body
    kinds = [e["kind"] for e in shown_to_operators["timeline"]]
    assert kinds.count("public update") == 4
    assert [u["phase"] for u in shown_to_operators["public_updates"]] == [
        None,
        "identified",
        "monitoring",
        "resolved",
    ]
    assert all(u["by"] == "operator" for u in shown_to_operators["public_updates"])
    assert "[resolved] All good now." in run_cli(stack, "incidents", "show", incident_id)

    # A note after resolution is kept too (a resolved incident is not resolved again).
    late = stack.call(
        "POST", f"/api/incidents/{incident_id}/updates", {"message": "Postmortem soon.", "phase": "resolved"}
    )
    assert late.status == 201 and late.body["status"] == "resolved"


def test_a_source_recovery_moves_the_public_phase_to_monitoring(stack: Harness, service_id: str) -> None:
    from alertbridge.models.records import SourceSettings

    make_public(stack, service_id)
    _, token = stack.add_source(service_id, "kapacitor", SourceSettings(recovery_policy="monitor"))
    stack.post("kapacitor", token, kapacitor("CRITICAL"))
    stack.pump()
    [incident] = runtime.incident_store().list_open(service_id)
    stack.call(
        "POST", f"/api/incidents/{incident.id}/updates", {"message": "Found it.", "phase": "identified"}
    )
    assert public(stack)["services"][0]["incidents"][0]["phase"] == "identified"
    stack.post("kapacitor", token, kapacitor("OK"))
    stack.pump()
    [item] = public(stack)["services"][0]["incidents"]
    assert item["phase"] == "monitoring"  # recovered: further than what the operator said
    stack.post("kapacitor", token, kapacitor("CRITICAL"))  # a new problem while monitoring: reopened
    stack.pump()
    assert public(stack)["services"][0]["incidents"][0]["phase"] == "identified"


def test_bad_public_updates_are_refused_clearly(stack: Harness, service_id: str) -> None:
    incident_id = open_incident(stack, service_id)
    path = f"/api/incidents/{incident_id}/updates"
    for body, field in (
        ({}, "message"),
        ({"message": ""}, "message"),
        ({"message": "x", "phase": "fixed"}, "phase"),
        ({"message": "x" * 2001}, "message"),
        ({"message": "x", "by": "mallory"}, "by"),
    ):
        answer = stack.call("POST", path, body)
        assert answer.status == 400 and field in answer.body["error"], (body, answer.body)
    missing = stack.call("POST", "/api/incidents/inc_00000000000000000000-1/updates", {"message": "x"})
    assert missing.status == 404 and "not found" in missing.body["error"]
    assert stack.call("POST", "/api/incidents/nonsense/updates", {"message": "x"}).status == 404


def test_concurrent_public_updates_are_all_kept_and_capped(server_stack: Harness) -> None:
    """On the moto server: its calls are atomic, as DynamoDB's (in-process moto's are not)."""
    stack = server_stack
    service_id = runtime.source_store().create_service("checkout").id
    incident_id = open_incident(stack, service_id)
    store = runtime.status_page_store()
    from alertbridge import operations

    errors: list[BaseException] = []

    def post(n: int) -> None:
        try:
            operations.post_public_update(
                runtime.incident_store(), store, incident_id, f"update {n}", None, principal="ops"
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    kept = store.updates([incident_id])[incident_id]
    assert sorted(u.message for u in kept) == sorted(f"update {n}" for n in range(8))
    for n in range(8, MAX_UPDATES):
        post(n)
    answer = stack.call("POST", f"/api/incidents/{incident_id}/updates", {"message": "one too many"})
    assert answer.status == 409 and str(MAX_UPDATES) in answer.body["error"]
    assert len(store.updates([incident_id])[incident_id]) == MAX_UPDATES


# --- the page's settings ---------------------------------------------------------------------------
def test_status_page_settings_defaults_and_changes(stack: Harness, service_id: str) -> None:
    assert json.loads(run_cli(stack, "status-page", "show", "--json")) == {
        "title": "System status",
        "logo_text": None,
        "history_hours": 24,
    }
    data = json.loads(
        run_cli(
            stack,
            "status-page",
            "set",
            "--title",
            "Acme status",
            "--logo-text",
            "ACME",
            "--history-hours",
            "48",
            "--json",
        )
    )
    assert data == {"title": "Acme status", "logo_text": "ACME", "history_hours": 48}
    assert (
        json.loads(run_cli(stack, "status-page", "set", "--history-hours", "6", "--json"))["title"]
        == "Acme status"
    )
    page = get(stack, "/status")[2]
    assert "<title>All systems operational · Acme status</title>" in page
    assert '<p class="logo">ACME</p>' in page and "<h1>Acme status</h1>" in page and "last 6 hours" in page
    assert public(stack)["title"] == "Acme status" and public(stack)["history_hours"] == 6
    assert json.loads(run_cli(stack, "status-page", "set", "--logo-text", "", "--json"))["logo_text"] is None
    for body in ({"history_hours": -1}, {"history_hours": 721}, {"title": ""}, {"theme": "dark"}):
        answer = stack.call("PATCH", "/api/status-page", body)
        assert answer.status == 400, body


def test_history_window_and_zero_hides_resolved_history(stack: Harness, service_id: str) -> None:
    make_public(stack, service_id)
    incident_id = open_incident(stack, service_id)
    assert stack.call("POST", f"/api/incidents/{incident_id}/resolve").status == 200
    assert len(public(stack)["services"][0]["recently_resolved"]) == 1
    assert "Recently resolved" in get(stack, "/status")[2]

    stack.call("PATCH", "/api/status-page", {"history_hours": 0})
    data = public(stack)
    assert data["history_hours"] == 0 and data["services"][0]["recently_resolved"] == []
    page = get(stack, "/status")[2]
    assert "Recently resolved" not in page and "resolved" not in page.split("<footer>")[0].split("</h1>")[1]


def test_the_history_window_counts_from_the_resolve_time(stack: Harness, service_id: str) -> None:
    """Resolved 3 hours ago: shown with a 24 h window, not with a 2 h one."""
    make_public(stack, service_id)
    incident_id = open_incident(stack, service_id)
    stack.call("POST", f"/api/incidents/{incident_id}/resolve")
    incident = runtime.incident_store().get(incident_id)
    earlier = datetime.now(UTC) - timedelta(hours=3)
    from alertbridge.decisions import Decision

    moved = incident.model_copy(update={"resolved_at": earlier})
    runtime.incident_store().save(Decision(writes={moved.seq: (moved, incident.version)}))
    assert len(public(stack)["services"][0]["recently_resolved"]) == 1
    stack.call("PATCH", "/api/status-page", {"history_hours": 2})
    assert public(stack)["services"][0]["recently_resolved"] == []


@pytest.mark.parametrize("phase", ["investigating", "identified", "monitoring"])
def test_a_public_phase_never_resolves(stack: Harness, service_id: str, phase: str) -> None:
    incident_id = open_incident(stack, service_id)
    answer = stack.call("POST", f"/api/incidents/{incident_id}/updates", {"message": "x", "phase": phase})
    assert answer.status == 201 and answer.body["status"] == "triggered"


def test_concurrent_changes_of_a_services_public_settings_are_all_kept(
    stack: Harness, service_id: str
) -> None:
    """Each change is one UpdateItem of the fields it names: two operators never undo each other."""
    changes = [{"public": True}, {"public_name": "Checkout"}, {"order": 3}, {"show_titles": True},
               {"public_description": "Paying for orders"}]  # fmt: skip
    barrier = threading.Barrier(len(changes))

    def change(fields: dict[str, Any]) -> None:
        barrier.wait()
        runtime.source_store().update_service(service_id, fields)

    threads = [threading.Thread(target=change, args=(c,)) for c in changes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    service = runtime.source_store().get_service(service_id)
    assert (service.public, service.public_name, service.order, service.show_titles) == (
        True,
        "Checkout",
        3,
        True,
    )
    assert service.public_description == "Paying for orders"
    assert service.name == "checkout"  # untouched


def test_phase_resolved_when_the_incident_was_resolved_meanwhile(stack: Harness, service_id: str) -> None:
    """A person's resolve racing the source's recovery: the update is posted, nothing is refused."""
    from alertbridge import operations

    incident_id = open_incident(stack, service_id)
    store = runtime.incident_store()
    stale = store.get(incident_id)
    assert stack.call("POST", f"/api/incidents/{incident_id}/resolve").status == 200

    class Stale:
        """The incident store, whose first read of the incident predates the resolve."""

        def __init__(self) -> None:
            self.reads = 0

        def get(self, wanted: str) -> Any:
            self.reads += 1
            return stale if self.reads == 1 else store.get(wanted)

        def save(self, decision: Any) -> Any:
            return store.save(decision)

    incident, updates = operations.post_public_update(
        Stale(),  # type: ignore[arg-type]
        runtime.status_page_store(),
        incident_id,
        "Resolved.",
        "resolved",
        principal=None,
    )
    assert incident.status == "resolved" and [u.message for u in updates] == ["Resolved."]
