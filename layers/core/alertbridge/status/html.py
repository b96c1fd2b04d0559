"""The status board as HTML: a banner, one row per service, open incidents, recently resolved.

Server-rendered, no scripts (the handler's Content-Security-Policy allows only the inline
stylesheet). Every vendor- or operator-supplied string is HTML-escaped. The stylesheet lives in
``status.css`` beside this module, so it can be read and edited as CSS; it is read once, at import,
and inlined so that the page is one response.
"""

from __future__ import annotations

import html
from datetime import datetime
from importlib import resources

from alertbridge.models.incident import Status
from alertbridge.status.board import SUMMARY, Board, ServiceStatus
from alertbridge.timestamps import iso

LABEL = {
    ServiceStatus.OPERATIONAL: "Operational",
    ServiceStatus.MAINTENANCE: "Maintenance",
    ServiceStatus.DEGRADED: "Degraded",
    ServiceStatus.DISRUPTION: "Disruption",
}
_ICON = {
    ServiceStatus.OPERATIONAL: "✓",
    ServiceStatus.MAINTENANCE: "~",
    ServiceStatus.DEGRADED: "!",
    ServiceStatus.DISRUPTION: "✕",
}

_CSS = resources.files(__package__).joinpath("status.css").read_text(encoding="utf-8")
_HEAD = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    '<meta http-equiv="refresh" content="60">'
    '<meta name="robots" content="noindex">'
    "<title>"
)
_HEAD_END = " · System status</title><style>" + _CSS.replace("\n", "") + "</style></head><body>"

_e = html.escape  # quote=True: safe in text and in attribute values


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


def render_html(board: Board) -> str:
    """The page: a banner, one row per service, open incidents, recently resolved. No scripts."""
    at = board.generated_at
    total = len(board.services)
    if not total:
        detail = "No services are monitored yet."
    elif board.status is ServiceStatus.OPERATIONAL:
        detail = (
            f"All {total} services are running normally." if total > 1 else "The service is running normally."
        )
    else:
        detail = f"{board.affected} of {total} service{'s' if total > 1 else ''} affected."
    out: list[str] = [
        _HEAD,
        SUMMARY[board.status],
        _HEAD_END,
        '<main class="page">',
        '<header class="top"><h1>System status</h1>',
        f'<p class="updated">Updated {_when(at)}</p></header>',
        f'<section class="banner s-{board.status.value}" role="status" data-status="{board.status.value}">',
        f'<span class="icon" aria-hidden="true">{_ICON[board.status]}</span>',
        f'<div><p class="headline">{SUMMARY[board.status]}</p><p class="detail">{detail}</p></div>',
        "</section>",
        '<section class="card"><h2>Services</h2><ul class="services">',
    ]
    if not total:
        out.append('<li class="service empty">No services yet.</li>')
    for row in board.services:
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
    resolved = board.recently_resolved
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
