"""The demo: a service with every source, the vendor samples fired at its webhook URLs over HTTP,
the incidents printed as they open and resolve. Runs against a running local stack (or any
alertbridge API), or starts a local stack of its own for the duration."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from alertbridge_tools.apigw import event_body, load_event
from alertbridge_tools.client import Client
from alertbridge_tools.local import LocalStack

HEROKU_SECRET = "test-webhook-secret"  # noqa: S105  (the events/heroku files are signed with it)

# (source, event case) in the order fired; then the recoveries.
PROBLEMS = [
    ("kapacitor", "critical"),
    ("threatstack", "mixed-severities"),
    ("heroku", "build-failed"),
    ("heroku", "dyno-crashed"),
    ("uptrends", "alert"),
    ("stathat", "json"),
]
RECOVERIES = [("kapacitor", "ok"), ("heroku", "build-succeeded"), ("heroku", "dyno-up"), ("uptrends", "ok")]


def post_webhook(url: str, event: dict[str, Any]) -> tuple[int, Any]:
    """POST an events/ file's body and headers to a real webhook URL."""
    headers = {k: v for k, v in event["headers"].items() if k.lower() not in ("host", "content-length")}
    req = urllib.request.Request(url, data=event_body(event), method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310  (http(s) only)
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def against(api: Client, out: Any = sys.stdout) -> int:
    def say(text: str) -> None:
        print(text, file=out, flush=True)

    service = api.request("POST", "/api/services", {"name": "demo"})
    # Shown on the status page (services are private until an operator says otherwise).
    api.request("PATCH", f"/api/services/{service['id']}", {"public": True, "public_name": "Demo"})
    say(f"service demo: {service['id']} (public on the status page as Demo)")
    urls: dict[str, str] = {}
    for source in ("kapacitor", "threatstack", "heroku", "uptrends", "stathat"):
        body: dict[str, Any] = {"source": source}
        if source == "heroku":
            body["secret"] = HEROKU_SECRET
        made = api.request("POST", f"/api/services/{service['id']}/sources", body)
        urls[source] = made["webhook_url"]
        say(f"  {source:<12} {made['webhook_url']}")

    def fire(steps: list[tuple[str, str]], title: str) -> None:
        say(f"\n{title}")
        for n, (source, case) in enumerate(steps, 1):
            status, answer = post_webhook(urls[source], load_event(source, case, "unused"))
            outcome = answer.get("outcome") if isinstance(answer, dict) else answer
            say(f"  [{n}/{len(steps)}] {source:<12} {case:<18} -> {status} {outcome}")

    def settle(expect_open: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 30
        while True:
            query = {"service": service["id"], "status": "all"}
            found: list[dict[str, Any]] = api.request("GET", "/api/incidents", query=query)["incidents"]
            if (
                sum(1 for i in found if i["status"] != "resolved") == expect_open
                or time.monotonic() > deadline
            ):
                return found
            time.sleep(0.3)

    def show(found: list[dict[str, Any]]) -> None:
        for i in sorted(found, key=lambda x: (x["source"], x["title"])):
            count = f"x{i['alert_count']}"
            say(f"  {i['status']:<13} {i['severity']:<9} {i['source']:<12} {count:<4} {i['title'][:70]}")

    fire(PROBLEMS, "Problems:")
    show(settle(expect_open=8))  # Kapacitor, 3 Threat Stack, 2 Heroku, Uptrends, StatHat
    fire(RECOVERIES, "Recoveries:")
    found = settle(expect_open=4)  # the 3 Threat Stack alerts and StatHat: no recovery exists
    say("\nIncidents (Threat Stack and StatHat send no recovery: `alertbridge incidents resolve ID`):")
    show(found)
    return 0


def on_ready(stack: LocalStack) -> None:
    against(Client(stack.base_url))
    print(f"\nThe local stack keeps running: export ALERTBRIDGE_URL={stack.base_url}", flush=True)


def standalone(port: int = 0) -> int:
    stack = LocalStack(port, quiet=True).start()
    try:
        print(f"local stack on {stack.base_url} (stops when the demo ends)", flush=True)
        return against(Client(stack.base_url))
    finally:
        stack.stop()
