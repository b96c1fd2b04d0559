"""The public status page in a real browser: Debian's chromium, headless, driven by Playwright, against
`alertbridge local` over HTTP. Vendor alerts change what the page shows; a hostile alert title is
shown as text and runs nothing. Leaves a screenshot in artifacts/status-page.png.

Needs /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it). Never `playwright
install`: it downloads a browser build, which this project does not use.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alertbridge_tools.apigw import load_event, webhook_event
from alertbridge_tools.client import Client
from alertbridge_tools.demo import post_webhook
from alertbridge_tools.local import LocalStack
from alertbridge_tools.template import ROOT

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
SCREENSHOT = ROOT / "artifacts" / "status-page.png"
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture(scope="module")
def local() -> Iterator[LocalStack]:
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
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: this test drives Debian's chromium. Install it with "
            "`apt-get update && apt-get install -y --no-install-recommends chromium` (.ci/run does); "
            "do not run `playwright install`.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def eventually(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def test_status_page_in_a_real_browser(local: LocalStack, browser: Any) -> None:
    api = Client(local.base_url)
    service = api.request("POST", "/api/services", {"name": "checkout"})
    for name in ("search", "payments"):
        api.request("POST", "/api/services", {"name": name})
    source = api.request("POST", f"/api/services/{service['id']}/sources", {"source": "kapacitor"})
    url = source["webhook_url"]

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
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
    assert "kapacitor/cpu/serverA is CRITICAL" in row.inner_text()
    assert "open for" in row.locator(".incident .meta").inner_text()

    status, _ = post_webhook(url, load_event("kapacitor", "ok", source["token"]))
    assert status == 202
    eventually(after_reload("operational"), "the page to show operational again")
    assert shown() == ("operational", "operational", "All systems operational")
    assert "kapacitor/cpu/serverA is CRITICAL" in page.locator("ul.resolved").inner_text()

    hostile = {
        "id": "web-1/http-5xx",
        "message": XSS,
        "level": "WARNING",
        "time": datetime.now(UTC).isoformat(),
    }
    event = webhook_event("kapacitor", source["token"], json.dumps(hostile).encode())
    assert post_webhook(url, event)[0] == 202
    eventually(after_reload("degraded"), "the page to show a degraded service")
    assert shown() == ("degraded", "degraded", "Partial outage")
    assert row.locator(".incident .title").inner_text() == XSS  # the text itself, as text
    assert XSS in page.locator("body").inner_text()
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
