"""The public status page in a real browser: Debian's chromium, headless, driven by Playwright, against
`alertbridge local` over HTTP (alertbridge_tools.screenshots launches it, as `make screenshots` does).

What visitors see is what the operator chose (issue 18): no vendor title, dedup key, token or id
reaches the page for any vendor sample or security alert unless the service shows titles; a Threat
Stack alert never changes the banner by default; public updates read newest first; a phone (390 px)
needs no horizontal scroll; hostile text is shown as text and runs nothing. Leaves a screenshot in
artifacts/status-page.png.

Needs /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it). Never `playwright
install`: it downloads a browser build, which this project does not use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alertbridge.status.board import public_id
from alertbridge_tools.apigw import load_event, webhook_event
from alertbridge_tools.client import Client
from alertbridge_tools.demo import post_webhook
from alertbridge_tools.local import LocalStack
from alertbridge_tools.screenshots import (
    DESKTOP,
    PHONE,
    NoChromium,
    chromium,
    eventually,
    open_incidents,
    populate,
)
from alertbridge_tools.template import ROOT

from tests.conftest import SAMPLES

SCREENSHOT = ROOT / "artifacts" / "status-page.png"
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"
SECURITY_TITLES = (
    "Suspicious Process Started: nc -lvp 4444 by root",
    "User Added To Sudoers: deploy",
    "Heroku dyno web.1 crashed: acme-api-prod",
)


@pytest.fixture
def local() -> Iterator[LocalStack]:
    """A fresh stack per test: each one's banner depends on every public service there."""
    # Every page load reads the table: the function's few-second cache would only slow the test.
    previous = os.environ.get("STATUS_CACHE_SECONDS")
    os.environ["STATUS_CACHE_SECONDS"] = "0"
    stack = LocalStack(port=0, quiet=True).start()
    yield stack
    stack.stop()
    if previous is None:
        os.environ.pop("STATUS_CACHE_SECONDS", None)
    else:
        os.environ["STATUS_CACHE_SECONDS"] = previous


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        with chromium() as launched:
            yield launched
    except NoChromium as exc:
        pytest.fail(str(exc), pytrace=False)


def watch_dialogs(page: Any) -> list[str]:
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return dialogs


def kapacitor(message: str, level: str, key: str = "web-1/http-5xx") -> bytes:
    return json.dumps(
        {"id": key, "message": message, "level": level, "time": datetime.now(UTC).isoformat()}
    ).encode()


def test_status_page_in_a_real_browser(local: LocalStack, browser: Any) -> None:
    api = Client(local.base_url)
    service = api.request("POST", "/api/services", {"name": "checkout"})
    api.request("PATCH", f"/api/services/{service['id']}", {"public": True, "show_titles": True})
    for name in ("search", "payments"):
        made = api.request("POST", "/api/services", {"name": name})
        api.request("PATCH", f"/api/services/{made['id']}", {"public": True})
    source = api.request("POST", f"/api/services/{service['id']}/sources", {"source": "kapacitor"})
    url = source["webhook_url"]

    page = browser.new_page(viewport=DESKTOP)
    dialogs = watch_dialogs(page)
    response = page.goto(f"{local.base_url}/status")
    assert response is not None and response.status == 200
    assert response.headers["cache-control"] == "public, max-age=30"
    assert response.headers["content-type"] == "text/html; charset=utf-8"

    row = page.locator("li.service").filter(has=page.locator(".name", has_text="checkout"))

    def shown() -> tuple[str, str, str]:
        return (
            row.get_attribute("data-status") or "",
            row.locator(".pill").inner_text().strip().lower(),
            page.locator(".banner .headline").inner_text().strip(),
        )

    def after_reload(want: str) -> Callable[[], bool]:
        def check() -> bool:
            page.reload()
            return shown()[0] == want

        return check

    assert shown() == ("operational", "operational", "All systems operational")

    status, _ = post_webhook(url, load_event("kapacitor", "critical", source["token"]))
    assert status == 202
    eventually(after_reload("disruption"), "the page to show a disruption")
    assert shown() == ("disruption", "disruption", "Major outage")
    assert "kapacitor/cpu/serverA is CRITICAL" in row.inner_text()  # this service shows titles
    assert row.locator(".incident").get_attribute("data-phase") == "investigating"
    assert "for less than a minute" in row.locator(".incident .meta").inner_text()

    status, _ = post_webhook(url, load_event("kapacitor", "ok", source["token"]))
    assert status == 202
    eventually(after_reload("operational"), "the page to show operational again")
    assert shown() == ("operational", "operational", "All systems operational")
    assert "kapacitor/cpu/serverA is CRITICAL" in page.locator("ul.resolved").inner_text()

    event = webhook_event("kapacitor", source["token"], kapacitor(XSS, "WARNING"))
    assert post_webhook(url, event)[0] == 202
    eventually(after_reload("degraded"), "the page to show a degraded service")
    assert shown() == ("degraded", "degraded", "Partial outage")
    assert row.locator(".incident .title").inner_text() == XSS  # the text itself, as text
    [incident] = [i for i in open_incidents(api, service["id"], 1) if i["status"] != "resolved"]
    api.request("POST", f"/api/incidents/{incident['id']}/updates", {"message": XSS})
    api.request("PATCH", f"/api/services/{service['id']}", {"public_name": XSS, "public_description": XSS})
    page.reload()
    assert page.locator("body").inner_text().count(XSS) >= 4  # name, description, title, update
    assert page.locator("script").count() == 0
    assert page.locator("img").count() == 0
    page.wait_for_timeout(300)  # give anything that could fire the time to do so
    assert dialogs == []
    others = page.locator("li.service").filter(has_not=page.locator(".incident"))
    assert others.count() == 2 and all(
        s == "operational" for s in others.evaluate_all("els => els.map(e => e.dataset.status)")
    )

    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    answer = page.goto(f"{local.base_url}/status.json")
    assert answer is not None and answer.headers["content-type"] == "application/json; charset=utf-8"
    data = json.loads(page.locator("body").inner_text())
    assert data["status"] == "degraded" and data["summary"] == "Partial outage"
    page.close()


def fire_every_sample(api: Client) -> tuple[str, list[str]]:
    """A public service with a source of every kind (Threat Stack's counting, so that its alerts are
    listed), every vendor sample and the security alerts fired at it. The service id, and the
    secrets the page must never show (tokens, source ids, delivery and event ids)."""
    service = api.request("POST", "/api/services", {"name": "acme-prod-internal"})
    api.request("PATCH", f"/api/services/{service['id']}", {"public": True, "public_name": "Acme"})
    secrets: list[str] = []
    made: dict[str, dict[str, Any]] = {}
    for kind in ("kapacitor", "threatstack", "heroku", "uptrends", "stathat"):
        made[kind] = api.request("POST", f"/api/services/{service['id']}/sources", {"source": kind})
        secrets += [made[kind]["token"], made[kind]["id"]]
    api.request("PATCH", f"/api/sources/{made['threatstack']['id']}", {"affects_status": True})

    def fire(url: str, event: dict[str, Any]) -> None:
        status, answer = post_webhook(url, event)
        assert status in (200, 202), (status, answer)
        secrets.append(answer["delivery_id"])
        secrets.extend(a["event_id"] for a in answer.get("alerts", []) if a.get("event_id"))

    for path in sorted(SAMPLES.glob("*.json")):
        kind = path.name.split("-")[0]
        fire(made[kind]["webhook_url"], webhook_event(kind, made[kind]["token"], path.read_bytes()))
    kap = made["kapacitor"]
    # Heroku's own crash sample is older than its dyno-up sample (same key): that one stays closed.
    crashed = kapacitor(SECURITY_TITLES[2], "CRITICAL", "acme-api-prod/web.1")
    fire(kap["webhook_url"], webhook_event("kapacitor", kap["token"], crashed))
    fire(
        kap["webhook_url"],
        webhook_event("kapacitor", kap["token"], kapacitor("", "CRITICAL", "db-7.internal/untitled")),
    )
    return service["id"], secrets


def test_no_vendor_text_reaches_the_page_unless_the_service_shows_titles(
    local: LocalStack, browser: Any
) -> None:
    api = Client(local.base_url)
    service_id, secrets = fire_every_sample(api)

    def everything() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = api.request(
            "GET", "/api/incidents", query={"service": service_id, "status": "all", "limit": "500"}
        )["incidents"]
        titles, kinds = {i["title"] for i in found}, {i["source"] for i in found}
        whole = set(SECURITY_TITLES) <= titles and "db-7.internal/untitled" in titles and len(kinds) == 5
        return found if whole else []  # (the incident function's pollers run concurrently)

    incidents = eventually(everything, "every sample's incident")
    assert len({i["source"] for i in incidents}) == 5  # every vendor made incidents
    vendor_text = [t for i in incidents for t in (i["title"], i["dedup_key"])]
    ids = [t for i in incidents for t in (i["id"], i["id"].rpartition("-")[0])] + [service_id]

    page = browser.new_page(viewport=DESKTOP)
    dialogs = watch_dialogs(page)

    def rendered() -> tuple[str, str, str]:
        """The page and the JSON as they are now (reloaded: both are cacheable for 30 s)."""
        page.goto(f"{local.base_url}/status")
        page.reload()
        html, text = page.content(), page.locator("body").inner_text()
        page.goto(f"{local.base_url}/status.json")
        page.reload()
        return html, text, page.locator("body").inner_text()

    html, text, data = rendered()
    assert "Acme: investigating an issue" in text
    assert page.url.endswith("/status.json") and json.loads(data)["services"][0]["name"] == "Acme"
    for secret in [*vendor_text, *ids, *secrets, "acme-prod-internal", "ip-10-0-1-23", "acme-api-prod"]:
        for where, body in (("HTML", html), ("text", text), ("JSON", data)):
            assert secret not in body, f"{secret!r} reached the public page ({where})"
    public_ids = [
        i["id"] for s in json.loads(data)["services"] for i in s["incidents"] + s["recently_resolved"]
    ]
    assert public_ids and all(p.startswith("pi_") for p in public_ids)
    assert {public_id(i["id"]) for i in incidents} >= set(public_ids)

    # Opted in: real titles (never the key an untitled alert fell back to); still no key, token or id.
    api.request("PATCH", f"/api/services/{service_id}", {"show_titles": True})
    html, text, data = rendered()
    for title in SECURITY_TITLES:
        assert title in text and title in data
    assert "db-7.internal" not in html + data and "Acme: investigating an issue" in text
    for secret in [*ids, *secrets]:
        assert secret not in html + data, f"{secret!r} reached the public page"
    assert dialogs == []
    page.close()


def test_a_threat_stack_alert_never_changes_the_public_banner_by_default(
    local: LocalStack, browser: Any
) -> None:
    api = Client(local.base_url)
    service = api.request("POST", "/api/services", {"name": "api"})
    api.request("PATCH", f"/api/services/{service['id']}", {"public": True, "public_name": "API"})
    threat = api.request("POST", f"/api/services/{service['id']}/sources", {"source": "threatstack"})
    body = (SAMPLES / "threatstack-batch.json").read_bytes()
    assert post_webhook(threat["webhook_url"], webhook_event("threatstack", threat["token"], body))[0] == 202
    open_incidents(api, service["id"], 3)
    [state] = api.request("GET", "/api/status")
    assert state["status"] == "disruption" and state["public_status"] == "operational"  # operators see it

    page = browser.new_page(viewport=DESKTOP)
    page.goto(f"{local.base_url}/status")
    assert page.locator(".banner").get_attribute("data-status") == "operational"
    assert page.locator(".banner .headline").inner_text() == "All systems operational"
    assert page.locator("li.service").get_attribute("data-status") == "operational"
    assert page.locator(".incident").count() == 0
    assert "Suspicious" not in page.locator("body").inner_text()
    page.close()


def test_public_updates_newest_first_every_phase_and_a_phone_without_horizontal_scroll(
    local: LocalStack, browser: Any
) -> None:
    api = Client(local.base_url)
    made = populate(api)
    long_word = "Unbroken" * 40
    [payments] = open_incidents(api, made["services"]["payments"], 1)
    api.request("POST", f"/api/incidents/{payments['id']}/updates", {"message": f"Still on it: {long_word}"})
    api.request("PATCH", f"/api/services/{made['services']['api']}", {"public_name": "API" + "x" * 90})

    page = browser.new_page(viewport=DESKTOP)
    page.goto(f"{local.base_url}/status")
    phases = page.locator(".incident").evaluate_all("els => els.map(e => e.dataset.phase)")
    assert set(phases) == {"investigating", "identified", "monitoring", "resolved"}
    said = page.locator('.incident[data-phase="identified"] .update .said').all_inner_texts()
    assert said == [
        f"Still on it: {long_word}",
        "A full database disk; we are moving data to a larger one.",
        "Card payments fail for some customers.",
    ]  # newest first
    times = page.locator('.incident[data-phase="identified"] .update time').evaluate_all(
        "els => els.map(e => e.getAttribute('datetime'))"
    )
    assert times == sorted(times, reverse=True)
    assert "back-office" not in page.locator("body").inner_text()  # not public
    page.close()

    phone = browser.new_page(viewport=PHONE)
    phone.goto(f"{local.base_url}/status")
    width = phone.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"
    # Nothing is cut off either (the cards clip what overflows them): every text fits its box.
    cut = phone.evaluate(
        """[...document.querySelectorAll('h1, .logo, .name, .about, .title, .said, .meta, .pill')]
           .filter(e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > 390)
           .map(e => e.className || e.tagName)"""
    )
    assert cut == [], f"cut off on a phone: {cut}"
    assert phone.locator(".incident").count() == 4
    phone.close()
