"""Alert rules end to end over real HTTP on loopback: `alertbridge local`, rules managed with the CLI
(files, --json and the human tables), Threat Stack and Kapacitor webhooks POSTed to the URLs it
hands out (PRODUCT.md §9, issue 14)."""

from __future__ import annotations

import io
import json
import urllib.request
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from alertbridge_tools import cli
from alertbridge_tools.local import LocalStack

from tests.conftest import sample, sample_json
from tests.e2e.test_local_stack import ab, wait_for


@pytest.fixture(scope="module")
def local() -> Iterator[LocalStack]:
    stack = LocalStack(port=0, quiet=True).start()
    yield stack
    stack.stop()


def human(local: LocalStack, *args: str) -> str:
    """The CLI's human output (no --json)."""
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(["--url", local.base_url, *args])
    assert code == 0, out.getvalue()
    return out.getvalue()


def post(url: str, body: bytes) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, json.loads(resp.read())


def rule_file(tmp_path: Path, name: str, rule: dict[str, Any]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(rule))
    return str(path)


def test_route_a_threatstack_batch_to_two_services_and_suppress_staging(
    local: LocalStack, tmp_path: Path
) -> None:
    security = ab(local, "services", "create", "security")["id"]
    hosts = ab(local, "services", "create", "hosts team")["id"]
    cloud = ab(local, "services", "create", "cloud team")["id"]
    threatstack = ab(local, "sources", "add", security, "threatstack")
    kapacitor = ab(local, "sources", "add", security, "kapacitor")

    to_hosts = rule_file(
        tmp_path,
        "hosts",
        {"name": "hosts team", "kind": "route", "when": "vendor.source == 'Host'", "route_to": hosts},
    )
    to_cloud = rule_file(
        tmp_path,
        "cloud",
        {"name": "cloud team", "kind": "route", "when": "tags.source == 'CloudTrail'", "route_to": cloud},
    )
    staging = rule_file(
        tmp_path,
        "staging",
        {"name": "staging noise", "kind": "suppress", "when": "contains(title, 'staging')"},
    )
    # dry run first: what the hosts rule would do to nothing yet, then after a delivery
    assert ab(local, "rules", "test", security, "--rule", to_hosts)["matched"] == 0
    r_hosts = ab(local, "rules", "add", security, "--rule", to_hosts)["rule"]
    r_cloud = ab(local, "rules", "add", security, "--rule", to_cloud)["rule"]
    r_staging = ab(local, "rules", "add", security, "--rule", staging, "--position", "1")["rule"]
    listed = ab(local, "rules", "list", security)
    assert [r["id"] for r in listed["rules"]] == [r_staging["id"], r_hosts["id"], r_cloud["id"]]
    assert listed["version"] == 3
    table = human(local, "rules", "list", security)
    assert "staging noise" in table and f"route to {hosts}" in table

    status, answer = post(threatstack["webhook_url"], sample("threatstack-batch.json"))
    assert status == 202
    assert [a.get("service_id") for a in answer["alerts"]] == [hosts, hosts, cloud]
    assert answer["alerts"][0]["rules"] == [{"id": r_hosts["id"], "name": "hosts team", "kind": "route"}]

    staging_alert = {
        **sample_json("kapacitor-critical.json"),
        "id": "cpu:staging-1",
        "message": "staging cpu high",
    }
    status, suppressed = post(kapacitor["webhook_url"], json.dumps(staging_alert).encode())
    assert (status, suppressed["outcome"]) == (202, "suppressed")
    assert suppressed["alerts"][0]["reason"] == f"suppressed by rule {r_staging['id']} 'staging noise'"

    host_incidents = wait_for(
        lambda: (
            len(ab(local, "incidents", "list", "--service", hosts)) == 2
            and ab(local, "incidents", "list", "--service", hosts)
        )
    )
    assert len(host_incidents) == 2
    [cloud_incident] = wait_for(lambda: ab(local, "incidents", "list", "--service", cloud))
    shown = ab(local, "incidents", "show", cloud_incident["id"])
    assert f"routed by rule {r_cloud['id']} 'cloud team'" in shown["timeline"][0]["message"]
    assert ab(local, "incidents", "list", "--service", security) == []  # nothing stayed, nothing opened

    delivery = human(local, "deliveries", "show", suppressed["delivery_id"])
    assert f"suppress {r_staging['id']} 'staging noise'" in delivery
    routed = ab(local, "deliveries", "show", answer["delivery_id"])
    assert [a["rules"][0]["name"] for a in routed["alerts"]] == ["hosts team", "hosts team", "cloud team"]
    only = ab(local, "deliveries", "list", "--service", security, "--suppressed")
    assert [d["id"] for d in only] == [suppressed["delivery_id"]]

    # the dry run now sees the kept deliveries, through today's mapping and rules, and changes nothing
    dry = ab(local, "rules", "test", security, "--rule", to_hosts, "--last", "10")
    assert (dry["deliveries"], dry["matched"]) == (2, 0)  # the hosts alerts are routed already by r_hosts
    all_hosts = rule_file(
        tmp_path, "tag", {"name": "all", "kind": "tag", "when": "`true`", "tags": {"seen": "yes"}}
    )
    dry = ab(local, "rules", "test", security, "--rule", all_hosts)
    assert (dry["alerts"], dry["matched"]) == (3, 3)
    assert "would match (nothing was changed)" in human(local, "rules", "test", security, "--rule", all_hosts)
    assert ab(local, "rules", "list", security)["version"] == 3

    # A window in progress (maintenance, issue 14): added here by the maintenance branch.

    moved = ab(local, "rules", "move", security, r_staging["id"], "3", "--expected-version", "3")
    assert [r["id"] for r in moved["rules"]][-1] == r_staging["id"]
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(
            ["--url", local.base_url, "rules", "remove", security, r_hosts["id"], "--expected-version", "3"]
        )
    assert code == 1  # the version moved on: refused
    assert ab(local, "rules", "remove", security, r_hosts["id"])["version"] == 5


def test_an_invalid_rule_is_refused_naming_where(
    local: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = ab(local, "services", "create", "bad rules")["id"]
    bad = rule_file(tmp_path, "bad", {"name": "bad", "kind": "suppress", "when": "title == 'x"})
    assert cli.main(["--url", local.base_url, "rules", "add", service, "--rule", bad]) == 1
    err = capsys.readouterr().err
    assert "invalid rule: when: Unclosed ' delimiter at position 9" in err and "(HTTP 400)" in err


def test_the_readme_rules_work_as_written(local: LocalStack, tmp_path: Path) -> None:
    """The README's rule files (the `cat > NAME.json <<'JSON'` blocks of its Rules section), with
    its placeholder service ids filled in, added with the README's commands."""
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    files = dict(re.findall(r"cat > (\S+)\.json <<'JSON'\n(.*?)\nJSON\n", readme, re.S))
    assert set(files) == {"hosts", "staging", "by-server"}
    security = ab(local, "services", "create", "security")["id"]
    hosts = ab(local, "services", "create", "hosts")["id"]
    source = ab(local, "sources", "add", security, "threatstack")
    paths = {}
    for name, text in files.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(text.replace("svc_HOSTS", hosts))
    assert (
        ab(local, "rules", "test", security, "--rule", str(paths["hosts"]), "--last", "500")["matched"] == 0
    )
    ab(local, "rules", "add", security, "--rule", str(paths["hosts"]))
    ab(local, "rules", "add", security, "--rule", str(paths["staging"]), "--position", "1")
    ab(local, "rules", "add", security, "--rule", str(paths["by-server"]))
    assert [r["name"] for r in ab(local, "rules", "list", security)["rules"]] == [
        "staging noise",
        "hosts team",
        "title and server",
    ]
    batch = sample_json("threatstack-batch.json")
    batch["alerts"][2]["title"] = "staging: root login"
    status, answer = post(source["webhook_url"], json.dumps(batch).encode())
    assert status == 202
    assert [a["outcome"] for a in answer["alerts"]] == ["accepted", "accepted", "suppressed"]
    assert answer["alerts"][0]["dedup_key"] == "Suspicious Process Started: nc -lvp 4444 by root:ip-10-0-1-23"
    assert answer["alerts"][0]["service_id"] == hosts
    shown = human(local, "rules", "show", security, "r_3")
    assert (
        "title and server" in shown
        and "key join(':', [title, vendor.server_or_region]) (window 86400 s)" in shown
    )
    assert "moved r_2 to 3 (rules version 4)" in human(
        local, "rules", "move", security, "r_2", "3", "--expected-version", "3"
    )
    assert "removed r_1 (rules version 5)" in human(local, "rules", "remove", security, "r_1")
