"""`alertbridge invoke FUNCTION -e EVENT`: one real handler on one event, Docker-free (subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from alertbridge_tools.apigw import proxy_event
from alertbridge_tools.template import ROOT

CLI = [sys.executable, "-m", "alertbridge_tools.cli"]


def _invoke(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ALERTBRIDGE_"))}
    return subprocess.run(
        [*CLI, "invoke", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False
    )


def test_a_webhook_event_file_answers_202_with_its_logs() -> None:
    done = _invoke("KapacitorIngestFunction", "-e", "events/kapacitor/critical.json", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["response"]["statusCode"] == 202
    body = json.loads(out["response"]["body"])
    assert body["outcome"] == "accepted"
    [answered] = [line for line in out["logs"] if line["message"] == "delivery answered"]
    assert answered["function_name"] == "KapacitorIngestFunction"
    assert answered["delivery_id"] == body["delivery_id"]
    assert "EXAMPLE_TOKEN" not in done.stdout.replace('"path": "/hooks/kapacitor/EXAMPLE_TOKEN"', "")


def test_a_signed_heroku_event_authenticates_and_human_output_is_the_response() -> None:
    done = _invoke("HerokuIngestFunction", "-e", "events/heroku/dyno-crashed.json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["statusCode"] == 202
    assert "delivery answered" in done.stderr  # the function's logs


def test_a_management_event(tmp_path: Path) -> None:
    event = proxy_event("GET", "/api/services", resource="/api/services", binary=False)
    path = tmp_path / "services.json"
    path.write_text(json.dumps(event))
    done = _invoke("ManagementFunction", "-e", str(path), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["response"]["statusCode"] == 200
    assert [s["name"] for s in json.loads(out["response"]["body"])] == []
    assert all(line["function_name"] == "ManagementFunction" for line in out["logs"])


def test_unknown_function_or_file_is_one_line() -> None:
    done = _invoke("NoSuchFunction", "-e", "events/kapacitor/critical.json")
    assert done.returncode == 2 and "KapacitorIngestFunction" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    done = _invoke("KapacitorIngestFunction", "-e", "events/none.json")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
