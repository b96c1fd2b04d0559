"""The status board as HTML: a banner, one row per public service, its incidents with their phase
and the operators' public updates (newest first), and the resolved ones of the history window.

Server-rendered, no scripts (the handler's Content-Security-Policy allows only the inline
stylesheet). Every operator-supplied string (and a vendor title, where a service shows them) is
HTML-escaped. It fits a 390 px phone without horizontal scrolling (long words wrap). The stylesheet lives in
``status.css`` beside this module, so it can be read and edited as CSS; it is read once, at import,
and inlined so that the page is one response.
"""

from __future__ import annotations

import html
from datetime import datetime
from importlib import resources

from alertbridge.models.records import PublicPhase
from alertbridge.status.board import SUMMARY, Board, PublicIncident, ServiceStatus
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
_STYLE = "</title><style>" + _CSS.replace("\n", "") + "</style></head><body>"
PHASE_LABEL: dict[PublicPhase, str] = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
}

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


def _incident(item: PublicIncident, at: datetime) -> str:
    if item.resolved_at is not None:
        when = f"resolved {_when(item.resolved_at)}"
    else:
        when = f"for {duration((at - item.started_at).total_seconds())} · since {_when(item.started_at)}"
    updates = "".join(
        f'<li class="update"><p class="said">{_e(u.message)}</p><p class="meta">{_when(u.at)}</p></li>'
        for u in item.updates
    )
    return (
        f'<li class="incident" data-phase="{item.phase}" data-id="{item.id}"><div class="what">'
        f'<p class="title">{_e(item.title)}</p>'
        f'<p class="meta"><span class="tag {item.phase}">{PHASE_LABEL[item.phase]}</span>{when}</p>'
        + (f'<ul class="updates">{updates}</ul>' if updates else "")
        + "</div></li>"
    )


def render_html(board: Board) -> str:
    """The page: a banner, one row per public service, its incidents, recently resolved. No scripts."""
    at = board.generated_at
    settings = board.settings
    total = len(board.services)
    if not total:
        detail = "No services are shown yet."
    elif board.status is ServiceStatus.OPERATIONAL:
        detail = (
            f"All {total} services are running normally." if total > 1 else "The service is running normally."
        )
    else:
        detail = f"{board.affected} of {total} service{'s' if total > 1 else ''} affected."
    logo = f'<p class="logo">{_e(settings.logo_text)}</p>' if settings.logo_text else ""
    out: list[str] = [
        _HEAD,
        f"{SUMMARY[board.status]} · {_e(settings.title)}",
        _STYLE,
        '<main class="page">',
        f'<header class="top"><div>{logo}<h1>{_e(settings.title)}</h1></div>',
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
        about = f'<p class="about">{_e(row.description)}</p>' if row.description else ""
        out.append(
            f'<li class="service" data-status="{state}"><div class="row">'
            f'<div class="what"><span class="name">{_e(row.name)}</span>{about}</div>'
            f'<span class="pill s-{state}"><span class="dot"></span>{LABEL[row.status]}</span></div>'
        )
        if row.open:
            out.append('<ul class="incidents">')
            out.extend(_incident(item, at) for item in row.open)
            out.append("</ul>")
        out.append("</li>")
    out.append("</ul></section>")
    hours = settings.history_hours
    if hours:
        span = f"last {hours} hours" if hours != 1 else "last hour"
        out.append(
            f'<section class="card history"><h2>Recently resolved <span class="sub">{span}</span></h2>'
        )
        resolved = board.recently_resolved
        if resolved:
            out.append('<ul class="resolved">')
            out.extend(_incident(item, at) for _, item in resolved)
            out.append("</ul>")
        else:
            out.append(f'<p class="none">No incidents were resolved in the {span}.</p>')
        out.append("</section>")
    out.append(
        '<footer>This page refreshes every minute · <a href="status.json">status.json</a>'
        " · powered by alertbridge</footer></main></body></html>\n"
    )
    return "".join(out)
