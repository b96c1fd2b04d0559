"""Screenshots of the public status page as visitors see it: `make screenshots` writes
docs/status-page-desktop.png and docs/status-page-phone.png.

A local stack (`alertbridge local`, port 0) gets a few public services with incidents in every
public phase (investigating, identified, monitoring, resolved), a private service and a Threat Stack
alert that visitors never see; Debian's chromium (/usr/bin/chromium, headless, driven by Playwright:
the browser the browser tests use, never `playwright install`) loads /status at desktop and phone
width. The browser tests use the same browser launch and the same scenario.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alertbridge_tools.apigw import load_event, webhook_event
from alertbridge_tools.client import Client
from alertbridge_tools.demo import post_webhook

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1100, "height": 900}
PHONE = {"width": 390, "height": 844}
DOCS = Path(__file__).resolve().parents[2] / "docs"


class NoChromium(RuntimeError):
    pass


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless, under Playwright."""
    if not CHROMIUM.exists():
        raise NoChromium(
            f"{CHROMIUM} is missing: install Debian's chromium "
            "(`apt-get update && apt-get install -y --no-install-recommends chromium`; .ci/run does); "
            "never `playwright install`"
        )
    from playwright.sync_api import sync_playwright  # noqa: PLC0415  (a dev dependency)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def eventually(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def kapacitor_alert(url: str, key: str, message: str, level: str) -> None:
    """A Kapacitor alert posted to a real webhook URL."""
    body = {"id": key, "message": message, "level": level, "time": datetime.now(UTC).isoformat()}
    if level == "OK":
        body["previousLevel"] = "CRITICAL"
    _accepted(post_webhook(url, webhook_event("kapacitor", "unused", json.dumps(body).encode()))[0])


def _accepted(status: int) -> None:
    if status != 202:
        raise RuntimeError(f"the webhook answered {status}, not 202")


def open_incidents(api: Client, service_id: str, want: int) -> list[dict[str, Any]]:
    def found() -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = api.request(
            "GET", "/api/incidents", query={"service": service_id, "status": "open"}
        )["incidents"]
        return got if len(got) >= want else []

    return list(eventually(found, f"{want} open incident(s) of {service_id}"))


def populate(api: Client) -> dict[str, Any]:
    """The scenario: every public phase, and what visitors never see. Returns what was made."""

    def service(name: str, **public: Any) -> str:
        made: str = api.request("POST", "/api/services", {"name": name})["id"]
        if public:
            api.request("PATCH", f"/api/services/{made}", public)
        return made

    def source(service_id: str, kind: str, **settings: Any) -> str:
        made = api.request("POST", f"/api/services/{service_id}/sources", {"source": kind, **settings})
        return str(made["webhook_url"])

    api.request(
        "PATCH", "/api/status-page", {"title": "Acme status", "logo_text": "Acme", "history_hours": 24}
    )
    web = service("web-frontend", public=True, public_name="Website", order=1,
                  public_description="acme.example and the shop")  # fmt: skip
    apis = service("api-prod", public=True, public_name="Public API", order=2,
                   public_description="REST and webhooks for integrators")  # fmt: skip
    pay = service("payments", public=True, public_name="Payments", order=3)
    mail = service("mailer", public=True, public_name="Email delivery", order=4)
    private = service("back-office")

    web_url = source(web, "kapacitor", recovery_policy="monitor")
    kapacitor_alert(web_url, "web-7f3a/http-5xx", "Heroku dyno web.1 crashed: acme-api-prod", "CRITICAL")
    api_url = source(apis, "kapacitor")
    kapacitor_alert(api_url, "api-prod/10.0.4.17/latency", "p99 latency 4.2s on 10.0.4.17", "WARNING")
    pay_url = source(pay, "kapacitor")
    kapacitor_alert(pay_url, "pay-db-2/disk", "Disk full on pay-db-2", "CRITICAL")
    mail_url = source(mail, "kapacitor")
    kapacitor_alert(mail_url, "smtp-relay-3/queue", "Mail queue at 90%", "WARNING")
    threat_url = source(web, "threatstack")
    _accepted(post_webhook(threat_url, load_event("threatstack", "mixed-severities", "unused"))[0])
    private_url = source(private, "kapacitor")
    kapacitor_alert(private_url, "bo-1/cron", "Cron failed on bo-1", "CRITICAL")

    [website] = [i for i in open_incidents(api, web, 2) if i["source"] == "kapacitor"]
    [payments] = open_incidents(api, pay, 1)
    [mailer] = open_incidents(api, mail, 1)
    open_incidents(api, apis, 1)

    def update(incident_id: str, message: str, phase: str | None = None) -> None:
        body = {"message": message} | ({"phase": phase} if phase else {})
        api.request("POST", f"/api/incidents/{incident_id}/updates", body)

    # Website: recovered, monitoring (the source said so); Payments: identified, two updates;
    # Email: resolved by a person, its updates kept; Public API: investigating, nothing said yet.
    update(website["id"], "Some visitors see errors; we are looking into it.")
    kapacitor_alert(web_url, "web-7f3a/http-5xx", "recovered", "OK")
    eventually(
        lambda: api.request("GET", f"/api/incidents/{website['id']}")["status"] == "monitoring",
        "the website incident to be monitoring",
    )
    update(payments["id"], "Card payments fail for some customers.")
    update(payments["id"], "A full database disk; we are moving data to a larger one.", "identified")
    update(mailer["id"], "Emails are delayed by up to 20 minutes.")
    update(mailer["id"], "The queue has drained; all emails are delivered.", "resolved")
    return {"services": {"website": web, "api": apis, "payments": pay, "mail": mail, "private": private}}


def take(browser: Any, base_url: str, out: Path = DOCS) -> list[Path]:
    """Desktop and phone screenshots of /status (full page)."""
    written = []
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = browser.new_page(viewport=viewport, device_scale_factor=1)
        answer = page.goto(f"{base_url}/status")
        if answer is None or answer.status != 200:
            raise RuntimeError(f"GET /status answered {answer and answer.status}")
        path = out / f"status-page-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        page.close()
        written.append(path)
    return written


def main() -> int:
    from alertbridge_tools.local import LocalStack  # noqa: PLC0415

    os.environ["STATUS_CACHE_SECONDS"] = "0"
    stack = LocalStack(port=0, quiet=True).start()
    try:
        populate(Client(stack.base_url))
        with chromium() as browser:
            for path in take(browser, stack.base_url):
                print(f"wrote {path}")
    except NoChromium as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        return 2
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
