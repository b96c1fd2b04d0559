"""alertbridge: operate and develop alertbridge.

Talks to the management API at --url / ALERTBRIDGE_URL (the local stack prints it), or to a
deployed stack with --stack NAME (URL from the stack's outputs, requests SigV4-signed). --sign (or
ALERTBRIDGE_SIGN=1) signs the requests to --url too (`alertbridge local --auth iam` requires it).
Every command that prints data takes --json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, get_args

from alertbridge.models.records import PublicPhase
from alertbridge.text import cut
from alertbridge.vendors import KINDS, SOURCES

from alertbridge_tools.client import ApiError, Client

CHANNEL_KINDS = ("email", "sms", "slack", "teams", "webhook", "pagerduty")
CHANNEL_COLUMNS = ("id", "kind", "name", "url", "events", "min_severity", "rate_per_minute")
STATUSES = ("open", "triggered", "acknowledged", "monitoring", "resolved", "all")
PHASES = get_args(PublicPhase)
SERVICE_COLUMNS = ("id", "name", "public", "public_name", "order", "show_titles")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="alertbridge", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--url", default=os.environ.get("ALERTBRIDGE_URL"), help="management API base URL")
    p.add_argument("--stack", default=os.environ.get("ALERTBRIDGE_STACK"), help="deployed stack name (SigV4)")
    p.add_argument("--region", default=None, help="AWS region of --stack (of --sign: us-east-1)")
    p.add_argument(
        "--sign",
        action="store_true",
        default=os.environ.get("ALERTBRIDGE_SIGN") == "1",
        help="SigV4-sign the requests to --url with your AWS credentials (also ALERTBRIDGE_SIGN=1)",
    )
    p.add_argument(
        "--idempotency-key",
        help="the Idempotency-Key of the command's POSTs (default: a new one each): run again with"
        " the same key, it acts once (24 h)",
    )
    sub = p.add_subparsers(dest="group", required=True)

    def cmd(parent: Any, name: str, help_: str, json_out: bool = True) -> argparse.ArgumentParser:
        c: argparse.ArgumentParser = parent.add_parser(name, help=help_)
        if json_out:
            c.add_argument("--json", action="store_true", help="machine-readable output")
        return c

    services = sub.add_parser("services", help="services").add_subparsers(dest="command", required=True)
    cmd(services, "create", "create a service").add_argument("name")
    cmd(services, "list", "list services")
    cmd(services, "show", "a service with its sources").add_argument("service_id")
    sset = cmd(services, "set", "what the public status page shows of a service (nothing until --public)")
    sset.add_argument("service_id")
    sset.add_argument("--public", action=argparse.BooleanOptionalAction, help="list it on the status page")
    sset.add_argument("--public-name", help="its name there (default: the service's name; '' clears)")
    sset.add_argument("--public-description", help="a line under its name there ('' clears)")
    sset.add_argument("--order", type=int, help="position on the page (lower first; then by name)")
    sset.add_argument(
        "--show-titles",
        action=argparse.BooleanOptionalAction,
        help="show its alerts' vendor titles to visitors (default: a generic line)",
    )

    srcs = sub.add_parser("sources", help="alert sources").add_subparsers(dest="command", required=True)
    add = cmd(srcs, "add", "add an alert source to a service (prints its webhook URL and token once)")
    add.add_argument("service_id")
    add.add_argument("source", choices=KINDS)
    _settings_args(add)
    _quiet_args(add, clearing=False)
    cmd(srcs, "list", "a service's sources with health").add_argument("service_id")
    cmd(srcs, "rotate", "new token for a source (the old one stops working)").add_argument("source_id")
    change = cmd(srcs, "set", "change a source's settings")
    change.add_argument("source_id")
    _settings_args(change)
    change.add_argument("--clear-secret", action="store_true")
    change.add_argument("--clear-severity-filter", action="store_true")
    change.add_argument(
        "--affects-status",
        action=argparse.BooleanOptionalAction,
        help="whether its incidents change the public status (default: yes, Threat Stack: no)",
    )
    _quiet_args(change, clearing=True)

    inc = sub.add_parser("incidents", help="incidents").add_subparsers(dest="command", required=True)
    lst = cmd(inc, "list", "incidents, newest first")
    lst.add_argument("--service")
    lst.add_argument("--status", choices=STATUSES, default="open")
    lst.add_argument("--source", help="source kind or source id")
    lst.add_argument("--limit", type=int, default=50)
    cmd(inc, "show", "an incident with its timeline").add_argument("incident_id")
    for name, what in (("ack", "acknowledge"), ("resolve", "resolve")):
        c = cmd(inc, name, f"{what} an incident (as a person)")
        c.add_argument("incident_id")
        c.add_argument(
            "--note",
            "--by",  # its older name: who acted is the authenticated caller, never this text
            dest="note",
            help="a note for the timeline (e.g. 'on call: bob'); who acted is your IAM principal",
        )

    upd = cmd(inc, "update", "post a public update on the status page (newest shown first)")
    upd.add_argument("incident_id")
    upd.add_argument("--public", required=True, dest="message", metavar="MESSAGE", help="what visitors read")
    upd.add_argument(
        "--phase", choices=PHASES, help="the incident's public phase from now on (resolved also resolves it)"
    )

    dlv = sub.add_parser("deliveries", help="raw webhook deliveries").add_subparsers(
        dest="command", required=True
    )
    dl = cmd(dlv, "list", "deliveries, newest first")
    dl.add_argument("--rejected", action="store_true", help="only rejected ones")
    dl.add_argument("--unpublished", action="store_true", help="only accepted ones not yet on the bus")
    dl.add_argument(
        "--suppressed", action="store_true", help="only ones with alerts held back (rules, maintenance)"
    )
    dl.add_argument("--service")
    dl.add_argument("--source", help="source id")
    dl.add_argument("--limit", type=int, default=50, help="at most this many (per page with --all)")
    pages = dl.add_mutually_exclusive_group()
    pages.add_argument("--cursor", help="the next page: the cursor a cut listing printed")
    pages.add_argument("--all", action="store_true", help="every page")
    cmd(dlv, "show", "a delivery: outcome and raw body").add_argument("delivery_id")
    rp = cmd(dlv, "replay", "run kept deliveries through today's mapping again (idempotent)")
    rp.add_argument("delivery_ids", nargs="*")
    rp.add_argument("--unpublished", action="store_true", help="replay every unpublished delivery")

    cmd(sub, "status", "every service's status (from its open incidents) and what visitors see")
    page = sub.add_parser("status-page", help="the public status page's settings").add_subparsers(
        dest="command", required=True
    )
    cmd(page, "show", "the page's settings")
    pset = cmd(page, "set", "change the page's settings")
    pset.add_argument("--title", help="the page's title (default: System status)")
    pset.add_argument("--logo-text", help="a short text above the title ('' clears)")
    pset.add_argument(
        "--history-hours", type=int, help="how long resolved incidents stay listed (default 24; 0 hides them)"
    )

    rls = sub.add_parser("rules", help="alert rules per service (tag, severity, route, suppress, dedup)")
    rl = rls.add_subparsers(dest="command", required=True)
    ra = cmd(rl, "add", "add a rule (a JSON file: name, kind, when, ...) to a service")
    ra.add_argument("service_id")
    ra.add_argument("--rule", required=True, metavar="FILE", help="the rule as JSON ('-' reads stdin)")
    ra.add_argument("--position", type=int, help="1 is evaluated first (default: last)")
    ra.add_argument("--expected-version", type=int, help="refuse unless the rules are at this version")
    cmd(rl, "list", "a service's rules, in evaluation order").add_argument("service_id")
    rs = cmd(rl, "show", "one rule")
    rs.add_argument("service_id")
    rs.add_argument("rule_id")
    rm = cmd(rl, "move", "move a rule to a position (1 is evaluated first)")
    rm.add_argument("service_id")
    rm.add_argument("rule_id")
    rm.add_argument("position", type=int)
    rm.add_argument("--expected-version", type=int, help="refuse unless the rules are at this version")
    rr = cmd(rl, "remove", "remove a rule")
    rr.add_argument("service_id")
    rr.add_argument("rule_id")
    rr.add_argument("--expected-version", type=int, help="refuse unless the rules are at this version")
    rt = cmd(rl, "test", "dry run: what a rule would have done to the service's recent deliveries")
    rt.add_argument("service_id")
    rt.add_argument("--rule", required=True, metavar="FILE", help="the rule as JSON ('-' reads stdin)")
    rt.add_argument("--last", type=int, default=500, help="how many recent deliveries (at most 500)")

    chs = sub.add_parser("channels", help="notification channels").add_subparsers(
        dest="command", required=True
    )
    cha = cmd(chs, "add", "add a notification channel to a service (targets are masked afterwards)")
    cha.add_argument("service_id")
    cha.add_argument("kind", choices=CHANNEL_KINDS)
    cha.add_argument("--url", dest="channel_url", help="webhook URL (slack, teams, webhook)")  # not the API's
    for flag in ("--secret", "--routing-key", "--address", "--number", "--name"):
        cha.add_argument(flag)
    cha.add_argument("--events", help="event types, e.g. opened,resolved (default: every one)")
    cha.add_argument("--min-severity", choices=("info", "low", "medium", "high", "critical"))
    cha.add_argument("--test-incidents", action="store_true", help="also notify of test incidents")
    cha.add_argument("--rate-per-minute", type=int, help="messages a minute before digests (default 20)")
    cmd(chs, "list", "a service's channels").add_argument("service_id")
    cmd(chs, "show", "a channel (masked)").add_argument("channel_id")
    cmd(chs, "remove", "remove a channel").add_argument("channel_id")
    cmd(chs, "test", "send a clearly marked test notification through the real path").add_argument(
        "channel_id"
    )
    esc = sub.add_parser("escalation", help="escalation per service").add_subparsers(
        dest="command", required=True
    )
    es = cmd(esc, "set", "ordered steps: after AFTER still triggered, notify these channels")
    es.add_argument("service_id")
    es.add_argument(
        "--step", action="append", default=[], metavar="AFTER:CH[,CH]", help="e.g. 0:ch_a or 15m:ch_b,ch_c"
    )
    cmd(esc, "show", "a service's escalation steps").add_argument("service_id")

    mws = sub.add_parser("maintenance", help="maintenance windows per service").add_subparsers(
        dest="command", required=True
    )
    mwa = cmd(mws, "add", "a window in which the service's alerts are kept as suppressed (recoveries pass)")
    mwa.add_argument("service_id")
    mwa.add_argument("--name", default="")
    mwa.add_argument("--start", help="one-off: ISO 8601 with offset, e.g. 2026-12-24T22:00:00+01:00")
    mwa.add_argument("--end", help="one-off: ISO 8601 with offset")
    mwa.add_argument("--every", help="recurring: days, e.g. mon,tue or sat,sun")
    mwa.add_argument("--at", help="recurring: local start time, e.g. 02:00")
    mwa.add_argument("--for", dest="duration", help="recurring: duration, e.g. 2h, 90m, 1d")
    mwa.add_argument("--tz", help="recurring: IANA time zone, e.g. Europe/Berlin")
    cmd(mws, "list", "maintenance windows (of one service, or all)").add_argument("service_id", nargs="?")
    cmd(mws, "remove", "remove a maintenance window").add_argument("window_id")

    ta = cmd(sub, "test-alert", "push a source's sample through the real path, marked test")
    ta.add_argument("service_id")
    ta.add_argument("source", choices=SOURCES)

    local = sub.add_parser("local", help="run the whole stack here (no Docker, no AWS account)")
    local.add_argument("--port", type=int, default=3000)
    kept = local.add_mutually_exclusive_group()
    kept.add_argument(
        "--data",
        metavar="DIR",
        help="keep the state here (default: $ALERTBRIDGE_DATA, else $XDG_DATA_HOME/alertbridge, "
        "else ~/.local/share/alertbridge)",
    )
    kept.add_argument("--ephemeral", action="store_true", help="keep nothing (a throwaway run)")
    local.add_argument(
        "--demo", action="store_true", help="also create a demo service and fire the vendor samples"
    )
    local.add_argument(
        "--auth",
        choices=["iam"],
        help="iam: /api/... requires SigV4-signed requests, as the deployed API (alertbridge --sign)",
    )
    local.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template parameter, e.g. RestrictThreatStackSourceIps=true (repeatable)",
    )

    inv = sub.add_parser(
        "invoke",
        help="run one function's real handler on one event (the Docker-free `sam local invoke`)",
        description="Runs FUNCTION (template.yaml's logical id, e.g. KapacitorIngestFunction) on the "
        "event, with the template's resources on an ephemeral in-process emulator (always a fresh one, "
        "not a running `alertbridge local`). Webhook events name the token EXAMPLE_TOKEN: a source with "
        "that token (and the Heroku test secret) is created first.",
    )
    inv.add_argument("function", help="logical id, e.g. KapacitorIngestFunction")
    inv.add_argument("-e", "--event", required=True, help="event file, e.g. events/kapacitor/critical.json")
    inv.add_argument("--json", action="store_true", help='{"response": ..., "logs": [...]}')

    demo = sub.add_parser("demo", help="a demo service with every source, the vendor samples fired at it")
    demo.add_argument(
        "--port", type=int, default=0, help="port for the local stack it starts (without --url)"
    )
    return p


def _settings_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("--secret", help="Heroku webhook secret (signature checked when set)")
    c.add_argument("--recovery", choices=("resolve", "monitor"), help="what a recovery does")
    c.add_argument("--severity-filter", help="Threat Stack severities that open incidents, e.g. 1,2")


def _quiet_args(c: argparse.ArgumentParser, *, clearing: bool) -> None:
    """Silence and quiet settings (durations like 30s, 15m, 1h); ``sources set`` can turn them off."""
    every = c.add_mutually_exclusive_group() if clearing else c
    every.add_argument("--expect-every", metavar="DURATION", help="open an incident when silent this long")
    quiet = c.add_mutually_exclusive_group() if clearing else c
    quiet.add_argument(
        "--resolve-after-quiet",
        metavar="DURATION",
        help="resolve open incidents after this long without alerts",
    )
    if clearing:
        every.add_argument("--no-expect", action="store_true", help="stop watching for silence")
        quiet.add_argument("--no-resolve-after-quiet", action="store_true", help="never resolve by timeout")
    c.add_argument(
        "--silence-severity",
        choices=("critical", "high", "medium", "low", "info"),
        help="of the silence incident",
    )


def _quiet_body(args: argparse.Namespace) -> dict[str, Any]:
    body = {
        "expect_every": args.expect_every,
        "resolve_after_quiet": args.resolve_after_quiet,
        "silence_severity": args.silence_severity,
    }
    if getattr(args, "no_expect", False):
        body["clear_expect_every"] = True
    if getattr(args, "no_resolve_after_quiet", False):
        body["clear_resolve_after_quiet"] = True
    return {k: v for k, v in body.items() if v is not None}


def _severities(raw: str | None) -> list[int] | None:
    if raw is None:
        return None
    try:
        return [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise SystemExit("alertbridge: --severity-filter takes numbers like 1,2") from None


# --- output --------------------------------------------------------------------------------------
def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    if not rows:
        return "(none)"
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return cut(text, 60)


def emit(args: argparse.Namespace, data: Any, human: Callable[[Any], str]) -> None:
    print(json.dumps(data, indent=2) if getattr(args, "json", False) else human(data))


INCIDENT_COLUMNS = ("id", "status", "severity", "source", "alert_count", "title", "opened_at")


def show_incident(data: dict[str, Any]) -> str:
    head = [
        f"{k:>14}: {_cell(data.get(k))}"
        for k in (
            "id",
            "service_id",
            "source",
            "dedup_key",
            "status",
            "severity",
            "title",
            "alert_count",
            "first_seen_at",
            "last_seen_at",
            "resolved_by",
            "recurrence_of",
        )
    ]
    timeline = [f"  {e['at']}  {e['kind']:<12} {e['message']}" for e in data.get("timeline", [])]
    return "\n".join([*head, "timeline:", *timeline])


# --- commands ------------------------------------------------------------------------------------
def run(args: argparse.Namespace, api: Client) -> int:
    group, command = args.group, getattr(args, "command", None)
    if group == "services" and command == "create":
        made = api.request("POST", "/api/services", {"name": args.name}, once=True)
        emit(
            args,
            {"id": made["id"], "name": made["name"]},
            lambda d: f"created service {d['name']}: {d['id']}",
        )
    elif group == "services" and command == "list":
        emit(args, api.request("GET", "/api/services"), lambda d: table(d, (*SERVICE_COLUMNS, "created_at")))
    elif group == "services" and command == "show":
        data = api.request("GET", f"/api/services/{args.service_id}")
        emit(
            args,
            data,
            lambda d: (
                f"{d['name']} ({d['id']})\n" + table([_durations(s) for s in d["sources"]], SOURCE_COLUMNS)
            ),
        )
    elif group == "services" and command == "set":
        fields = ("public", "public_name", "public_description", "order", "show_titles")
        body = {f: getattr(args, f) for f in fields if getattr(args, f) is not None}
        if not body:
            raise SystemExit("alertbridge: services set: nothing to change (see --help)")
        data = api.request("PATCH", f"/api/services/{args.service_id}", body)
        emit(args, data, lambda d: table([d], (*SERVICE_COLUMNS, "public_description")))
    elif group == "sources" and command == "add":
        body = {
            "source": args.source,
            "secret": args.secret,
            "recovery_policy": args.recovery or "resolve",
            "severity_filter": _severities(args.severity_filter),
            **_quiet_body(args),
        }
        made = api.request("POST", f"/api/services/{args.service_id}/sources", body)
        out = {k: made[k] for k in ("id", "source", "webhook_url", "token")}
        emit(
            args,
            out,
            lambda d: (
                f"added {d['source']} source {d['id']}\nwebhook URL (shown once): {d['webhook_url']}"
                + (
                    ""
                    if d["source"] == "heartbeat"
                    else f"\nheartbeat URL (GET or POST): {made['heartbeat_url']}"
                )
            ),
        )
    elif group == "sources" and command == "list":
        emit(
            args,
            api.request("GET", f"/api/services/{args.service_id}/sources"),
            lambda d: table([_durations(s) for s in d], SOURCE_COLUMNS),
        )
    elif group == "sources" and command == "rotate":
        made = api.request("POST", f"/api/sources/{args.source_id}/rotate")
        out = {k: made[k] for k in ("id", "source", "webhook_url", "token")}
        emit(args, out, lambda d: f"new webhook URL (the old token no longer works): {d['webhook_url']}")
    elif group == "sources" and command == "set":
        body = {
            "secret": args.secret,
            "clear_secret": args.clear_secret,
            "recovery_policy": args.recovery,
            "severity_filter": _severities(args.severity_filter),
            "clear_severity_filter": args.clear_severity_filter,
            "affects_status": args.affects_status,
            **_quiet_body(args),
        }
        data = api.request(
            "PATCH", f"/api/sources/{args.source_id}", {k: v for k, v in body.items() if v is not None}
        )
        emit(
            args,
            data,
            lambda d: table(
                [_durations(d)],
                (
                    "id",
                    "source",
                    "recovery_policy",
                    "severity_filter",
                    "has_secret",
                    "affects_status",
                    *QUIET_COLUMNS,
                ),
            ),
        )
    elif group == "incidents" and command == "list":
        query = {
            "service": args.service,
            "status": args.status,
            "source": args.source,
            "limit": str(args.limit),
        }
        data = api.request("GET", "/api/incidents", query=query)["incidents"]
        emit(args, data, lambda d: table(d, INCIDENT_COLUMNS))
    elif group == "incidents" and command == "show":
        emit(args, api.request("GET", f"/api/incidents/{args.incident_id}"), show_incident)
    elif group == "incidents" and command in ("ack", "resolve"):
        action = "acknowledge" if command == "ack" else "resolve"
        note = {"note": args.note} if args.note else None
        emit(
            args,
            api.request("POST", f"/api/incidents/{args.incident_id}/{action}", note, once=True),
            show_incident,
        )
    elif group == "incidents" and command == "update":
        body = {"message": args.message} | ({"phase": args.phase} if args.phase else {})
        data = api.request("POST", f"/api/incidents/{args.incident_id}/updates", body, once=True)
        emit(args, data, _public_updates_text)
    elif group == "deliveries" and command == "list":
        flags = (
            ("rejected", args.rejected),
            ("suppressed", args.suppressed),
            ("unpublished", args.unpublished),
        )
        only = next((name for name, given in flags if given), None)
        query = {"only": only, "service": args.service, "source": args.source, "limit": str(args.limit)}
        data, cursor = _deliveries(api, query, cursor=args.cursor, every=args.all)
        emit(
            args,
            data,
            lambda d: table(
                d, ("id", "source", "received_at", "outcome", "status_code", "published", "reason")
            ),
        )
        if cursor:
            print(
                f"alertbridge: listing cut at {len(data)}; next page: --cursor {cursor} (or --all)",
                file=sys.stderr,
            )
    elif group == "deliveries" and command == "show":
        emit(
            args,
            api.request("GET", f"/api/deliveries/{args.delivery_id}"),
            lambda d: (
                "\n".join(
                    f"{k:>12}: {_cell(d.get(k))}"
                    for k in (
                        "id",
                        "source",
                        "received_at",
                        "outcome",
                        "reason",
                        "status_code",
                        "published",
                        "replays",
                    )
                )
                + _alert_outcomes(d.get("alerts", []))
                + f"\n\n{d.get('body') or '(binary body: see --json body_base64)'}"
            ),
        )
    elif group == "deliveries" and command == "replay":
        ids = list(args.delivery_ids)
        if args.unpublished:
            found, _ = _deliveries(api, {"only": "unpublished", "limit": "500"}, cursor=None, every=True)
            ids += [d["id"] for d in found]
        if not ids:
            raise SystemExit("alertbridge: name delivery ids, or --unpublished")
        results = []
        for n, delivery_id in enumerate(ids, 1):
            try:
                answer = api.request("POST", f"/api/deliveries/{delivery_id}/replay", once=True)
                results.append({"id": delivery_id, "status": "replayed", **answer})
            except ApiError as exc:
                results.append({"id": delivery_id, "status": "failed", "error": exc.message})
            print(f"[{n}/{len(ids)}] {delivery_id}: {results[-1]['status']}", file=sys.stderr, flush=True)
        emit(args, results, lambda d: table(d, ("id", "status", "outcome", "error")))
        return 0 if all(r["status"] == "replayed" for r in results) else 1
    elif group == "status":
        emit(args, api.request("GET", "/api/status"), status_table)
    elif group == "status-page":
        if command == "set":
            given = {f: getattr(args, f) for f in ("title", "logo_text", "history_hours")}
            data = api.request("PATCH", "/api/status-page", {k: v for k, v in given.items() if v is not None})
        else:
            data = api.request("GET", "/api/status-page")
        emit(args, data, lambda d: "\n".join(f"{k:>13}: {_cell(v)}" for k, v in d.items()))
    elif group in ("channels", "escalation"):
        return _notifications(args, api)
    elif group == "rules":
        _rules(args, api)
    elif group == "maintenance":
        _maintenance(args, api)
    elif group == "test-alert":
        kinds = [
            s
            for s in api.request("GET", f"/api/services/{args.service_id}/sources")
            if s["source"] == args.source
        ]
        if not kinds:
            raise SystemExit(f"alertbridge: service {args.service_id} has no {args.source} source")
        answer = api.request("POST", f"/api/sources/{kinds[0]['id']}/test-alert", once=True)
        emit(args, answer, lambda d: f"test alert sent: delivery {d['delivery_id']}, {d['outcome']}")
    return 0


RULE_COLUMNS = ("position", "id", "name", "kind", "source_id", "when", "does")


def _does(rule: dict[str, Any]) -> str:
    """What a rule does, in a table cell."""
    match rule["kind"]:
        case "tag":
            return ", ".join(f"{k}={v}" for k, v in rule.get("tags", {}).items())
        case "severity":
            return f"severity {rule.get('severity')}"
        case "route":
            return f"route to {rule.get('route_to')}"
        case "dedup":
            window = f" (window {rule['window_s']} s)" if rule.get("window_s") else ""
            return f"key {rule.get('dedup_key')}{window}"
    return "suppress"


def _read_rule(path: str) -> dict[str, Any]:
    try:
        rule = json.loads(sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SystemExit(f"alertbridge: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise SystemExit(f"alertbridge: {path} is not JSON: {exc}") from None
    if not isinstance(rule, dict):
        raise SystemExit(f"alertbridge: {path}: a rule is a JSON object (name, kind, when, ...)")
    return rule


def _rules(args: argparse.Namespace, api: Client) -> None:
    base = f"/api/services/{args.service_id}/rules"
    version = (
        {"expected_version": args.expected_version}
        if getattr(args, "expected_version", None) is not None
        else {}
    )
    if args.command == "add":
        body = {**_read_rule(args.rule), **version}
        if args.position is not None:
            body["position"] = args.position
        made = api.request("POST", base, body, once=True)
        emit(
            args,
            made,
            lambda d: f"added rule {d['rule']['id']} {d['rule']['name']!r} (rules version {d['version']})",
        )
    elif args.command == "list":
        data = api.request("GET", base)
        emit(
            args,
            data,
            lambda d: (
                f"rules of {d['service_id']} (version {d['version']})\n"
                + table([{**r, "does": _does(r)} for r in d["rules"]], RULE_COLUMNS)
            ),
        )
    elif args.command == "show":
        data = api.request("GET", f"{base}/{args.rule_id}")
        emit(
            args,
            data,
            lambda d: "\n".join(  # whole: an expression is read here, not cut as in a table
                f"{k:>10}: {json.dumps(v) if isinstance(v, dict) else v}"
                for k, v in {**d, "does": _does(d)}.items()
            ),
        )
    elif args.command == "move":
        data = api.request(
            "POST", f"{base}/{args.rule_id}/move", {"position": args.position, **version}, once=True
        )
        emit(args, data, lambda d: f"moved {args.rule_id} to {args.position} (rules version {d['version']})")
    elif args.command == "remove":
        query = {k: str(v) for k, v in version.items()}
        data = api.request("DELETE", f"{base}/{args.rule_id}", query=query)
        emit(args, data, lambda d: f"removed {args.rule_id} (rules version {d['version']})")
    elif args.command == "test":
        data = api.request("POST", f"{base}/test", {"rule": _read_rule(args.rule), "last": args.last})
        emit(
            args,
            data,
            lambda d: (
                f"{d['matched']} of {d['alerts']} alerts in the last {d['deliveries']} deliveries "
                "would match (nothing was changed)\n"
                + table(d["matches"], ("delivery_id", "index", "action", "title", "would"))
            ),
        )


def _alert_outcomes(alerts: list[dict[str, Any]]) -> str:
    """Per alert of a delivery: its outcome, and the rules that changed or suppressed it."""
    lines = []
    for alert in alerts:
        rules = "; ".join(f"{r['kind']} {r['id']} {r['name']!r}" for r in alert.get("rules") or [])
        lines.append(
            f"  [{alert['index']}] {alert['outcome']}"
            + (f" key {alert['dedup_key']}" if alert.get("dedup_key") else "")
            + (f" -> {alert['service_id']}" if alert.get("service_id") else "")
            + (f": {alert['reason']}" if alert.get("reason") else "")
            + (f"; rules: {rules}" if rules else "")
        )
    return "\n\nalerts:\n" + "\n".join(lines) if lines else ""


def _deliveries(
    api: Client, query: dict[str, str | None], *, cursor: str | None, every: bool
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of deliveries (or every page): the deliveries and the cursor of the next page."""
    found: list[dict[str, Any]] = []
    while True:
        page = api.request("GET", "/api/deliveries", query={**query, "cursor": cursor})
        found += page["deliveries"]
        cursor = page.get("cursor")
        if not every or not cursor:
            return found, cursor


def _notifications(args: argparse.Namespace, api: Client) -> int:
    """The channels and escalation commands."""
    group, command = args.group, args.command
    if group == "channels" and command == "add":
        fields = ("secret", "routing_key", "address", "number", "name", "min_severity")
        body: dict[str, Any] = {"kind": args.kind} | {
            f: getattr(args, f) for f in fields if getattr(args, f) is not None
        }
        if args.channel_url:
            body["url"] = args.channel_url
        if args.events:
            body["events"] = [e.strip() for e in args.events.split(",") if e.strip()]
        if args.test_incidents:
            body["test_incidents"] = True
        if args.rate_per_minute is not None:
            body["rate_per_minute"] = args.rate_per_minute
        made = api.request("POST", f"/api/services/{args.service_id}/channels", body)
        note = "\nwebhook secret (shown once): {}".format(made["secret"]) if "secret" in made else ""
        emit(args, made, lambda d: f"added {d['kind']} channel {d['id']}{note}")
    elif group == "channels" and command == "list":
        data = api.request("GET", f"/api/services/{args.service_id}/channels")
        emit(args, data, lambda d: table(d, CHANNEL_COLUMNS))
    elif group == "channels" and command == "show":
        data = api.request("GET", f"/api/channels/{args.channel_id}")
        emit(args, data, lambda d: "\n".join(f"{k:>16}: {_cell(v)}" for k, v in d.items()))
    elif group == "channels" and command == "remove":
        data = api.request("DELETE", f"/api/channels/{args.channel_id}")
        emit(args, data, lambda d: f"removed channel {d['id']}")
    elif group == "channels" and command == "test":
        data = api.request("POST", f"/api/channels/{args.channel_id}/test", once=True)
        emit(
            args,
            data,
            lambda d: (
                f"test notification: {d['outcome']} (HTTP {d['status_code'] or '-'})"
                + (f": {d['error']}" if d.get("error") else "")
            ),
        )
        return 0 if data["outcome"] == "sent" else 1
    elif command == "set":
        steps = []
        for raw in args.step:
            after, sep, channels = raw.partition(":")
            if not sep or not channels:
                raise SystemExit(f"alertbridge: --step takes AFTER:CHANNEL_ID[,CHANNEL_ID] (got {raw!r})")
            steps.append(
                {"after": after, "channel_ids": [c.strip() for c in channels.split(",") if c.strip()]}
            )
        data = api.request("PUT", f"/api/services/{args.service_id}/escalation", {"steps": steps})
        emit(args, data, _escalation_text)
    else:
        emit(args, api.request("GET", f"/api/services/{args.service_id}/escalation"), _escalation_text)
    return 0


WINDOW_COLUMNS = ("id", "service_id", "name", "when", "active", "active_until", "next_start")


def _maintenance(args: argparse.Namespace, api: Client) -> None:
    """The maintenance commands."""
    if args.command == "add":
        one_off = {"start": args.start, "end": args.end}
        recurring = {"days": args.every, "at": args.at, "duration": args.duration, "tz": args.tz}
        if any(one_off.values()) == any(recurring.values()):
            raise SystemExit(
                "alertbridge: give --start and --end, or --every, --at, --for and --tz (not both)"
            )
        body: dict[str, Any] = {"name": args.name} if args.name else {}
        if recurring["days"]:
            recurring["days"] = [d.strip() for d in str(recurring["days"]).split(",") if d.strip()]
        body |= {k: v for k, v in (one_off | recurring).items() if v is not None}
        made = api.request("POST", f"/api/services/{args.service_id}/maintenance", body, once=True)
        emit(args, made, lambda d: f"added maintenance window {d['id']}: {_when(d)}")
    elif args.command == "list":
        query = {"service": args.service_id} if args.service_id else None
        data = api.request("GET", "/api/maintenance", query=query)
        emit(args, data, lambda d: table([{**w, "when": _when(w)} for w in d], WINDOW_COLUMNS))
    else:
        data = api.request("DELETE", f"/api/maintenance/{args.window_id}")
        emit(args, data, lambda d: f"removed maintenance window {d['id']}")


def _when(window: dict[str, Any]) -> str:
    """'2026-12-24T21:00:00Z..2026-12-25T03:00:00Z' or 'mon,tue 02:00 for 7200s Europe/Berlin'."""
    if window.get("start"):
        return f"{window['start']}..{window['end']}"
    minutes = window["duration_s"] // 60
    length = f"{minutes // 60}h{minutes % 60:02d}m" if minutes % 60 else f"{minutes // 60}h"
    if minutes < 60:
        length = f"{minutes}m"
    return f"{','.join(window['days'])} {window['at']} for {length} {window['tz']}"


def _escalation_text(data: dict[str, Any]) -> str:
    rows = [{"after_seconds": s["after_seconds"], "channels": s["channel_ids"]} for s in data["steps"]]
    return table(rows, ("after_seconds", "channels"))


QUIET_COLUMNS = ("expect_every", "resolve_after_quiet")
SOURCE_COLUMNS = (
    "id",
    "source",
    "recovery_policy",
    "severity_filter",
    "affects_status",
    "last_delivery_at",
    "last_heartbeat_at",
    "expect_every",
    "silent",
    "active",
)


def _durations(source: dict[str, Any]) -> dict[str, Any]:
    """A source as the tables show it: its durations as 15m, 1h (the JSON keeps seconds)."""
    return {**source, **{k: _duration(source.get(k)) for k in QUIET_COLUMNS}}


def _duration(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def status_table(services: list[dict[str, Any]]) -> str:
    """Every service, its status, and what visitors see of it ("-" when it is not public)."""
    rows = [
        {
            "service": s["name"],
            "status": s["status"],
            "open": len(s["open_incidents"]),
            "public": s["public_name"] if s["public"] else None,
            "public_status": s["public_status"] if s["public"] else None,
        }
        for s in services
    ]
    return table(rows, ("service", "status", "open", "public", "public_status"))


def _public_updates_text(data: dict[str, Any]) -> str:
    """An incident's public updates, newest first, as visitors read them."""
    lines = [f"{data['id']} ({data['status']}), public id {data['public_id']}; public updates, newest first:"]
    for u in sorted(data["public_updates"], key=lambda u: u["at"], reverse=True):
        phase = f" [{u['phase']}]" if u.get("phase") else ""
        lines.append(f"  {u['at']}{phase} {u['message']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _main(args)
    except ModuleNotFoundError as exc:  # an extra not installed: say which, in one line
        extra = "aws" if exc.name and exc.name.split(".")[0] in ("boto3", "botocore") else "local"
        if args.group in ("local", "demo", "invoke"):
            extra = "local"
        print(
            f"alertbridge {args.group}: needs {exc.name}: pip install 'alertbridge[{extra}]'"
            + (
                " (the AWS emulator and its tools)"
                if extra == "local"
                else " (SigV4 with your AWS credentials)"
            ),
            file=sys.stderr,
        )
        return 2


def _main(args: argparse.Namespace) -> int:
    if args.group == "local":
        from alertbridge_tools import datadir, demo, local  # noqa: PLC0415

        data = datadir.choose(args.data, args.ephemeral, os.environ)
        try:
            parameters = _template_parameters(args.parameter)
        except ValueError as exc:
            print(f"alertbridge local: {exc}", file=sys.stderr)
            return 2
        return local.run(
            args.port,
            on_ready=demo.on_ready if args.demo else None,
            data=data,
            auth=args.auth,
            parameters=parameters,
        )
    if args.group == "invoke":
        from alertbridge_tools import invoke  # noqa: PLC0415

        try:
            return invoke.run(args.function, args.event, as_json=args.json)
        except invoke.InvokeError as exc:
            print(f"alertbridge invoke: {exc}", file=sys.stderr)
            return 2
    if args.group == "demo" and not args.url and not args.stack:
        from alertbridge_tools import demo  # noqa: PLC0415

        return demo.standalone(args.port)
    try:
        sign_region = (args.region or "us-east-1") if args.sign else None
        api = (
            Client.for_stack(args.stack, args.region, idempotency_key=args.idempotency_key)
            if args.stack
            else Client(args.url or _no_url(), sign_region=sign_region, idempotency_key=args.idempotency_key)
        )
        if args.group == "demo":
            from alertbridge_tools import demo  # noqa: PLC0415

            return demo.against(api)
        return run(args, api)
    except ApiError as exc:
        print(
            f"alertbridge: {exc.message} (HTTP {exc.status})"
            if exc.status
            else f"alertbridge: {exc.message}",
            file=sys.stderr,
        )
        return 1
    except BrokenPipeError:  # `alertbridge ... | head`: the reader left; nothing to report
        sys.stderr.close()
        return 1
    except Exception as exc:  # AWS configuration missing, unreachable API: one line, never a traceback
        if type(exc).__module__.split(".")[0] not in ("botocore", "boto3", "urllib", "http", "socket"):
            raise
        print(f"alertbridge: {_aws_hint(exc)}", file=sys.stderr)
        return 1


def _aws_hint(exc: Exception) -> str:
    name = type(exc).__name__
    if name == "NoRegionError":
        return "no AWS region: pass --region or set AWS_REGION (needed for --stack)"
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return "no AWS credentials: configure them (aws configure, AWS_PROFILE) to use --stack or --sign"
    return f"{name}: {exc}"


def _template_parameters(pairs: list[str]) -> dict[str, str]:
    """``NAME=VALUE`` pairs, each a parameter of template.yaml with a value it allows."""
    from alertbridge_tools.template import load_template  # noqa: PLC0415

    declared = load_template().get("Parameters", {})
    chosen: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in declared:
            raise ValueError(f"--parameter {pair}: want NAME=VALUE, NAME one of {', '.join(declared)}")
        allowed = [str(v) for v in declared[name].get("AllowedValues", [])]
        if allowed and value not in allowed:
            raise ValueError(f"--parameter {name}: {value!r} is not one of {', '.join(allowed)}")
        chosen[name] = value
    return chosen


def _no_url() -> str:
    raise SystemExit(
        "alertbridge: no API: pass --url (or set ALERTBRIDGE_URL; `alertbridge local` prints it) or --stack"
    )


if __name__ == "__main__":
    sys.exit(main())
