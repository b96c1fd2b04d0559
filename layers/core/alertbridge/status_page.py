"""The public status page: ``GET /status`` (server-rendered HTML, no JavaScript) and ``/status.json``.

Both are rendered from one :class:`Board`, which holds only what the public may see: service
names, their status, their open incidents' title, severity, state and start time, and the
incidents resolved in the last 24 hours (title and time). Never tokens, payloads, descriptions,
dedup keys, tags, links or ids. Test incidents are left out. Every vendor- or operator-supplied
string is HTML-escaped.

Reads: services (Query GSI1 + BatchGetItem), then per service, in parallel, one Query of the
index's projection that yields its open incidents and those opened in the last week and closed.
A warm Lambda keeps the board for a few seconds, so a burst of visitors costs one read of it.
"""

from __future__ import annotations

import html
import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from alertbridge.models.alert import Severity
from alertbridge.models.incident import IncidentSummary, Status
from alertbridge.models.records import Service
from alertbridge.observability import logger
from alertbridge.status import ServiceStatus, counts, service_status, worst
from alertbridge.timestamps import iso, now

if TYPE_CHECKING:
    from alertbridge.store.incidents import IncidentStore
    from alertbridge.store.sources import SourceStore

RECENT = timedelta(hours=24)  # "recently resolved"
RESOLVED_LOOKBACK = timedelta(days=7)  # recently resolved: among the incidents opened in the last week
MAX_RESOLVED_PER_SERVICE = 10
WORKERS = 16  # services read at a time (below runtime's pool of 20 connections)
CACHE_SECONDS = 5.0
MAX_AGE = 30
PATHS = ("/status", "/status.json")

SUMMARY = {
    ServiceStatus.OPERATIONAL: "All systems operational",
    ServiceStatus.DEGRADED: "Partial outage",
    ServiceStatus.DISRUPTION: "Major outage",
}
LABEL = {
    ServiceStatus.OPERATIONAL: "Operational",
    ServiceStatus.DEGRADED: "Degraded",
    ServiceStatus.DISRUPTION: "Disruption",
}


# --- reading -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    """A service with its open incidents and the ones resolved in the last 24 hours (as indexed)."""

    service: Service
    open: list[IncidentSummary]
    resolved: list[IncidentSummary]


def per_service[T](
    sources: SourceStore, read: Callable[[Service], T], *, workers: int = WORKERS
) -> list[tuple[Service, T]]:
    """Every service, in name order, with what ``read`` gives for it (services read in parallel)."""
    services = sources.list_services()
    if workers <= 1 or len(services) <= 1:
        return [(s, read(s)) for s in services]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="status") as pool:
        return list(zip(services, pool.map(read, services), strict=True))


def collect(
    sources: SourceStore, incidents: IncidentStore, at: datetime, *, workers: int = WORKERS
) -> list[Snapshot]:
    """Every service with its open and recently resolved incidents: one index Query per service.
    Recently resolved ones are looked for among the incidents opened in the last week."""
    closed_since = iso(at - RESOLVED_LOOKBACK)

    def split(service: Service) -> Snapshot:
        found = incidents.summaries(service.id, closed_since)
        resolved = [
            i for i in found if not i.is_open and i.resolved_at is not None and at - i.resolved_at <= RECENT
        ]
        return Snapshot(service, [i for i in found if i.is_open], resolved)

    return [snap for _, snap in per_service(sources, split, workers=workers)]


# --- what the public sees ------------------------------------------------------------------------
@dataclass(frozen=True)
class OpenItem:
    title: str
    severity: Severity
    status: Status
    started_at: datetime


@dataclass(frozen=True)
class ResolvedItem:
    service: str
    title: str
    resolved_at: datetime


@dataclass(frozen=True)
class Row:
    name: str
    status: ServiceStatus
    open: tuple[OpenItem, ...]
    resolved: tuple[ResolvedItem, ...]


@dataclass(frozen=True)
class Board:
    generated_at: datetime
    status: ServiceStatus
    services: tuple[Row, ...]

    @property
    def recently_resolved(self) -> list[ResolvedItem]:
        items = [item for row in self.services for item in row.resolved]
        return sorted(items, key=lambda i: i.resolved_at, reverse=True)

    @property
    def affected(self) -> int:
        return sum(1 for row in self.services if row.status is not ServiceStatus.OPERATIONAL)


def build_board(snapshots: Sequence[Snapshot], at: datetime) -> Board:
    rows = []
    for snap in snapshots:
        shown = [i for i in snap.open if i.is_open and not i.test]
        # What drives the status first (worst severity first), then the rest; oldest first.
        shown.sort(key=lambda i: (not counts(i), -i.severity.rank, i.opened_at))
        resolved = sorted(
            (i for i in snap.resolved if not i.test and i.resolved_at is not None),
            key=lambda i: i.resolved_at or at,
            reverse=True,
        )[:MAX_RESOLVED_PER_SERVICE]
        rows.append(
            Row(
                name=snap.service.name,
                status=service_status(snap.open),
                open=tuple(OpenItem(i.title, i.severity, i.status, i.opened_at) for i in shown),
                resolved=tuple(
                    ResolvedItem(snap.service.name, i.title, i.resolved_at)
                    for i in resolved
                    if i.resolved_at is not None
                ),
            )
        )
    return Board(generated_at=at, status=worst(r.status for r in rows), services=tuple(rows))


def as_json(page: Board) -> dict[str, Any]:
    return {
        "status": page.status.value,
        "summary": SUMMARY[page.status],
        "generated_at": iso(page.generated_at),
        "services": [
            {
                "name": row.name,
                "status": row.status.value,
                "open_incidents": [
                    {
                        "title": i.title,
                        "severity": i.severity.value,
                        "status": i.status.value,
                        "started_at": iso(i.started_at),
                    }
                    for i in row.open
                ],
                "recently_resolved": [
                    {"title": i.title, "resolved_at": iso(i.resolved_at)} for i in row.resolved
                ],
            }
            for row in page.services
        ],
    }


def duration(seconds: float) -> str:
    """'less than a minute', '42 min', '2 h 5 min', '3 d 4 h'."""
    minutes = max(0, int(seconds)) // 60
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _when(moment: datetime) -> str:
    return f'<time datetime="{iso(moment)}">{moment:%d %b %Y, %H:%M} UTC</time>'


_e = html.escape  # quote=True: safe in text and in attribute values


def render_html(page: Board) -> str:
    """The page: a banner, one row per service, open incidents, recently resolved. No scripts."""
    at = page.generated_at
    total = len(page.services)
    if not total:
        detail = "No services are monitored yet."
    elif page.status is ServiceStatus.OPERATIONAL:
        detail = (
            f"All {total} services are running normally." if total > 1 else "The service is running normally."
        )
    else:
        detail = f"{page.affected} of {total} service{'s' if total > 1 else ''} affected."
    out: list[str] = [
        _HEAD,
        SUMMARY[page.status],
        _HEAD_END,
        '<main class="page">',
        '<header class="top"><h1>System status</h1>',
        f'<p class="updated">Updated {_when(at)}</p></header>',
        f'<section class="banner s-{page.status.value}" role="status" data-status="{page.status.value}">',
        f'<span class="icon" aria-hidden="true">{_ICON[page.status]}</span>',
        f'<div><p class="headline">{SUMMARY[page.status]}</p><p class="detail">{detail}</p></div>',
        "</section>",
        '<section class="card"><h2>Services</h2><ul class="services">',
    ]
    if not total:
        out.append('<li class="service empty">No services yet.</li>')
    for row in page.services:
        state = row.status.value
        out.append(
            f'<li class="service" data-status="{state}"><div class="row">'
            f'<span class="name">{_e(row.name)}</span>'
            f'<span class="pill s-{state}"><span class="dot"></span>{LABEL[row.status]}</span></div>'
        )
        if row.open:
            out.append('<ul class="incidents">')
            for item in row.open:
                if item.status is Status.MONITORING:
                    tag = '<span class="tag monitoring">recovered, monitoring</span>'
                elif item.status is Status.ACKNOWLEDGED:
                    tag = '<span class="tag ack">investigating</span>'
                else:
                    tag = ""
                out.append(
                    f'<li class="incident"><span class="sev sev-{item.severity.value}">'
                    f"{item.severity.value}</span>"
                    f'<div class="what"><p class="title">{_e(item.title)}</p>'
                    f'<p class="meta">{tag}open for {duration((at - item.started_at).total_seconds())}'
                    f" · since {_when(item.started_at)}</p></div></li>"
                )
            out.append("</ul>")
        out.append("</li>")
    out.append("</ul></section>")
    out.append('<section class="card"><h2>Recently resolved <span class="sub">last 24 hours</span></h2>')
    resolved = page.recently_resolved
    if resolved:
        out.append('<ul class="resolved">')
        for done in resolved:
            out.append(
                '<li><span class="check" aria-hidden="true">✓</span><div class="what">'
                f'<p class="title">{_e(done.title)}</p>'
                f'<p class="meta">{_e(done.service)} · resolved {_when(done.resolved_at)}</p></div></li>'
            )
        out.append("</ul>")
    else:
        out.append('<p class="none">No incidents were resolved in the last 24 hours.</p>')
    out.append("</section>")
    out.append(
        '<footer>This page refreshes every minute · <a href="status.json">status.json</a>'
        " · powered by alertbridge</footer></main></body></html>\n"
    )
    return "".join(out)


_ICON = {
    ServiceStatus.OPERATIONAL: "✓",
    ServiceStatus.DEGRADED: "!",
    ServiceStatus.DISRUPTION: "✕",
}

_CSS = """
:root{--ok:#16a34a;--ok-bg:#dcfce7;--warn:#d97706;--warn-bg:#fef3c7;--bad:#dc2626;--bad-bg:#fee2e2;
--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.page{max-width:760px;margin:0 auto;padding:40px 20px 56px}
.top{display:flex;align-items:baseline;justify-content:space-between;flex-wrap:wrap;gap:8px;margin-bottom:20px}
h1{font-size:26px;margin:0;letter-spacing:-.02em}
.updated{margin:0;color:var(--muted);font-size:13px}
.banner{display:flex;align-items:center;gap:16px;padding:20px 24px;border-radius:12px;color:#fff;
margin-bottom:28px;box-shadow:0 1px 2px rgba(15,23,42,.08),0 4px 14px rgba(15,23,42,.06)}
.banner.s-operational{background:var(--ok)}.banner.s-degraded{background:var(--warn)}
.banner.s-disruption{background:var(--bad)}
.banner .icon{flex:none;width:40px;height:40px;border-radius:50%;background:rgba(255,255,255,.22);
display:flex;align-items:center;justify-content:center;font-weight:700;font-size:20px}
.headline{margin:0;font-size:20px;font-weight:650}.detail{margin:2px 0 0;opacity:.92;font-size:14px}
.card{background:#fff;border:1px solid var(--line);border-radius:12px;margin-bottom:24px;overflow:hidden}
h2{font-size:15px;margin:0;padding:14px 20px;border-bottom:1px solid var(--line);font-weight:650}
h2 .sub{color:var(--muted);font-weight:400;font-size:13px;margin-left:6px}
ul{list-style:none;margin:0;padding:0}
.service{padding:14px 20px;border-top:1px solid var(--line)}.service:first-child{border-top:0}
.service.empty{color:var(--muted)}
.row{display:flex;align-items:center;justify-content:space-between;gap:12px}
.name{font-weight:600;overflow-wrap:anywhere}
.pill{flex:none;display:inline-flex;align-items:center;gap:7px;padding:3px 12px 3px 10px;border-radius:999px;
font-size:13px;font-weight:600}
.pill .dot{width:8px;height:8px;border-radius:50%;background:currentColor}
.pill.s-operational{color:#15803d;background:var(--ok-bg)}.pill.s-degraded{color:#b45309;background:var(--warn-bg)}
.pill.s-disruption{color:#b91c1c;background:var(--bad-bg)}
.incidents{margin-top:10px}
.incident,.resolved li{display:flex;gap:12px;align-items:flex-start}
.incident{padding:10px 12px;margin-top:8px;border-radius:8px;background:var(--bg);
border:1px solid var(--line)}
.sev{flex:none;text-transform:uppercase;font-size:11px;font-weight:700;letter-spacing:.04em;padding:2px 8px;
border-radius:6px;margin-top:2px;color:#fff;background:var(--muted)}
.sev-critical{background:var(--bad)}.sev-high{background:#ea580c}.sev-medium{background:var(--warn)}
.sev-low{background:#ca8a04}.sev-info{background:#2563eb}
.what{min-width:0}.title{margin:0;font-weight:500;overflow-wrap:anywhere;white-space:pre-wrap}
.meta{margin:2px 0 0;color:var(--muted);font-size:13px}
.tag{display:inline-block;font-size:12px;font-weight:600;padding:0 7px;border-radius:5px;margin-right:8px}
.tag.monitoring{color:#1d4ed8;background:#dbeafe}.tag.ack{color:#7c2d12;background:#ffedd5}
.resolved li{padding:12px 20px;border-top:1px solid var(--line)}.resolved li:first-child{border-top:0}
.check{flex:none;color:var(--ok);font-weight:700;margin-top:1px}
.none{margin:0;padding:16px 20px;color:var(--muted)}
footer{text-align:center;color:var(--muted);font-size:13px}
footer a{color:inherit}
"""

_HEAD = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    '<meta http-equiv="refresh" content="60">'
    '<meta name="robots" content="noindex">'
    "<title>"
)
_HEAD_END = " · System status</title><style>" + _CSS.replace("\n", "") + "</style></head><body>"


# --- the Lambda's answer -------------------------------------------------------------------------
_COMMON = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
_HTML_HEADERS = {
    **_COMMON,
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": f"public, max-age={MAX_AGE}",
    # Nothing on the page runs: no script source at all, only the inline stylesheet.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
}
_JSON_HEADERS = {
    **_COMMON,
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": f"public, max-age={MAX_AGE}",
    "Access-Control-Allow-Origin": "*",
}


class StatusPage:
    """Answers API Gateway proxy events for the two routes, from a briefly cached board."""

    def __init__(
        self,
        sources: SourceStore,
        incidents: IncidentStore,
        *,
        cache_seconds: float = CACHE_SECONDS,
        workers: int = WORKERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sources = sources
        self._incidents = incidents
        self._cache_seconds = cache_seconds
        self._workers = workers
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, Board] | None = None

    def board(self) -> Board:
        with self._lock:
            if self._cached and self._cached[0] > self._clock():
                return self._cached[1]
            at = now()
            page = build_board(collect(self._sources, self._incidents, at, workers=self._workers), at)
            if self._cache_seconds > 0:
                self._cached = (self._clock() + self._cache_seconds, page)
            return page

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        path = event.get("resource") or event.get("path") or ""
        if path not in PATHS:
            return _answer(404, {**_JSON_HEADERS, "Cache-Control": "no-store"}, '{"error":"not found"}')
        try:
            page = self.board()
        except (BotoCoreError, ClientError):
            logger.exception("status page: storage unavailable")
            headers = {**_COMMON, "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
            return _answer(503, {**headers, "Retry-After": "30"}, "Status temporarily unavailable.\n")
        if path == "/status.json":
            return _answer(200, _JSON_HEADERS, json.dumps(as_json(page), separators=(",", ":")))
        return _answer(200, _HTML_HEADERS, render_html(page))


def _answer(status: int, headers: dict[str, str], body: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": dict(headers), "body": body, "isBase64Encoded": False}
