"""Deliveries listings filter before they limit, page with a cursor, and the CLI says when cut."""

from __future__ import annotations

import json
from typing import Any

from alertbridge_tools import cli
from alertbridge_tools.harness import Harness, HarnessApi

from tests.conftest import sample

NOT_JSON = b"not json at all"


def _post(stack: Harness, token: str, body: bytes) -> int:
    return stack.post("kapacitor", token, body).status


def test_one_rejected_behind_55_newer_accepted_is_listed(stack: Harness, service_id: str) -> None:
    source, token = stack.add_source(service_id, "kapacitor")
    assert _post(stack, token, NOT_JSON) >= 400
    critical = json.loads(sample("kapacitor-critical.json"))
    for n in range(55):
        body = json.dumps(critical | {"id": f"cpu/server{n}"}).encode()
        assert _post(stack, token, body) == 202
    for query in ({"only": "rejected"}, {"only": "rejected", "source": source.id}):
        resp = stack.call("GET", "/api/deliveries", query={**query, "limit": "50"})
        assert resp.status == 200, resp.body
        [rejected] = resp.body["deliveries"]
        assert rejected["outcome"] == "rejected"
        assert resp.body["cursor"] is None

    # 56 in all: a page of 50, then the cursor's 6, then the end
    for query in ({}, {"source": source.id}, {"service": service_id}):
        first = stack.call("GET", "/api/deliveries", query={**query, "limit": "50"}).body
        assert len(first["deliveries"]) == 50 and first["cursor"]
        second = stack.call(
            "GET", "/api/deliveries", query={**query, "limit": "50", "cursor": first["cursor"]}
        ).body
        assert len(second["deliveries"]) == 6 and second["cursor"] is None
        ids = [d["id"] for d in first["deliveries"] + second["deliveries"]]
        assert len(set(ids)) == 56 and ids == sorted(ids, reverse=True)


def test_pages_across_sources_keep_newest_first(stack: Harness, service_id: str) -> None:
    tokens = [stack.add_source(service_id, "kapacitor")[1] for _ in range(3)]
    critical = json.loads(sample("kapacitor-critical.json"))
    for n in range(12):
        _post(stack, tokens[n % 3], json.dumps(critical | {"id": f"k{n}"}).encode())
    seen: list[str] = []
    cursor = None
    while True:
        query = {"service": service_id, "limit": "5"} | ({"cursor": cursor} if cursor else {})
        page = stack.call("GET", "/api/deliveries", query=query).body
        seen += [d["id"] for d in page["deliveries"]]
        cursor = page["cursor"]
        if not cursor:
            break
    assert len(seen) == 12 == len(set(seen))
    assert [d[4:15] for d in seen] == sorted((d[4:15] for d in seen), reverse=True)  # time-ordered ids


def _listed(out: str) -> list[Any]:
    """The CLI's --json list (the functions' log lines go to stdout too)."""
    lines = out.splitlines()
    start = lines.index("[") if "[" in lines else lines.index("[]")
    listed: list[Any] = json.loads("\n".join(lines[start:]))
    return listed


def test_cli_says_when_a_listing_was_cut_and_pages_with_all(
    stack: Harness, service_id: str, capsys: Any
) -> None:
    _, token = stack.add_source(service_id, "kapacitor")
    for _ in range(4):
        _post(stack, token, NOT_JSON)
    args = cli._parser().parse_args(["deliveries", "list", "--rejected", "--limit", "3", "--json"])
    cli.run(args, HarnessApi(stack))
    out = capsys.readouterr()
    assert len(_listed(out.out)) == 3
    [line] = out.err.splitlines()
    assert "cut at 3" in line and "--cursor " in line
    cursor = line.split("--cursor ")[1].split()[0]
    args = cli._parser().parse_args(["deliveries", "list", "--rejected", "--cursor", cursor, "--json"])
    cli.run(args, HarnessApi(stack))
    out = capsys.readouterr()
    assert len(_listed(out.out)) == 1 and out.err == ""
    args = cli._parser().parse_args(["deliveries", "list", "--rejected", "--limit", "3", "--all", "--json"])
    cli.run(args, HarnessApi(stack))
    out = capsys.readouterr()
    assert len(_listed(out.out)) == 4 and out.err == ""


def test_a_raw_delivery_goes_once_its_retention_ran_out_and_its_incident_stays(
    stack: Harness, service_id: str
) -> None:
    """The table's Time to Live, applied by the local stack (``Harness.expire``; a sweep a minute
    there): a delivery is kept RawRetentionDays, then deleted by DynamoDB, with no incident event."""
    _, token = stack.add_source(service_id, "kapacitor")
    assert _post(stack, token, sample("kapacitor-critical.json")) == 202
    stack.pump()

    def listed() -> int:
        return len(stack.call("GET", "/api/deliveries", query={"service": service_id}).body["deliveries"])

    def open_incidents() -> int:
        return len(stack.call("GET", "/api/incidents", query={"service": service_id}).body["incidents"])

    assert listed() == 1 and open_incidents() == 1
    assert stack.expire() == 0
    stack.advance(29 * 24 * 3600)
    assert stack.expire() == 0 and listed() == 1
    stack.advance(2 * 24 * 3600)  # past the template's default RawRetentionDays (30)
    before = stack.activity
    assert stack.expire() == 1
    assert stack.activity == before + 1  # the local stack's next snapshot keeps the deletion
    stack.pump()
    assert listed() == 0 and open_incidents() == 1
