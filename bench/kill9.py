"""What a `kill -9` of `alertbridge local` loses: bench/load.py's workload, the stack killed mid-run.

    python bench/kill9.py                          # 10,000 alerts, killed once half the deliveries answered
    python bench/kill9.py --alerts 2000 --at 0.3   # smaller, killed at 30 %

Starts `alertbridge local --data DIR` (a temporary directory) as a subprocess, sends the load
workload (bench/load.py: Threat Stack batches, Kapacitor and Heroku singles, --senders threads),
sends it SIGKILL once the fraction --at of the deliveries was answered, restarts it on the same
directory and counts: deliveries answered 2xx before the kill, how many of them the restarted stack
has (``GET /api/deliveries/ID``), how long before the kill the missing ones were answered (what
the README's bound must cover), and, once the restarted stack has worked off what it restored,
incidents: every alert accepted in a kept delivery must have exactly one, none twice (exit 1
otherwise). Alerts whose delivery record was lost may have an incident: ingest puts the alerts on
the bus before it keeps the delivery. Also: the restart time, the state file's size and what
pickling it (a snapshot's work, done in a forked child) and unpickling it (a restart) cost,
measured here on the file the kill left.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import load  # noqa: E402  (bench/load.py sets up the import path)
from alertbridge_tools.client import ApiError, Client  # noqa: E402


def start(data: Path, log: Path) -> tuple[subprocess.Popen[str], str, str, float]:
    """`alertbridge local --data DATA` on a free port: the process, its URL, its emulator's, the
    seconds until it answered."""
    began = time.monotonic()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "alertbridge_tools.cli", "local", "--port", "0", "--data", str(data)],
        stdout=subprocess.PIPE,
        stderr=log.open("a"),
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    url = emulator = ""
    for line in proc.stdout:
        if line.startswith("alertbridge local is up: "):
            url = line.split(": ", 1)[1].strip()
        if line.strip().startswith("AWS emulator"):
            emulator = line.split()[-1]
        if line.strip().startswith("data "):
            print(line.rstrip(), flush=True)
            break
    if not url:
        raise SystemExit(f"alertbridge local did not start: see {log}")
    threading.Thread(target=lambda: [None for _ in proc.stdout or []], daemon=True).start()  # drain
    return proc, url, emulator, time.monotonic() - began


def queued(emulator: str) -> int:
    """Messages on the stack's working queues (not the dead-letter queues)."""
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=emulator)
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    total = 0
    for url in sqs.list_queues().get("QueueUrls", []):
        if "dlq" in url.lower() or "deadletter" in url.lower():
            continue
        found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        total += sum(int(found.get(n, 0)) for n in names)
    return total


def offline_costs(data: Path) -> dict[str, float]:
    """Unpickling the state file (a restart) and pickling it again (a snapshot), in this process."""
    from alertbridge_tools import datadir

    size = (data / datadir.STATE).stat().st_size
    began = time.perf_counter()
    snapshot = datadir._read(data / datadir.STATE)
    read = time.perf_counter() - began
    began = time.perf_counter()
    datadir.dump(snapshot)
    dumped = time.perf_counter() - began
    return {"state_mb": round(size / 1e6, 1), "unpickle_s": round(read, 2), "pickle_s": round(dumped, 2)}


def count(
    api: Client,
    emulator: str,
    answered: list[load.Delivery],
    workload: list[load.Alert],
    service_id: str,
    killed_at: float,
) -> dict[str, Any]:
    """The restarted stack against what was answered before the kill."""
    kept, missing = [], []
    for d in answered:
        try:
            api.request("GET", f"/api/deliveries/{d.answer['delivery_id']}")
            kept.append(d)
        except ApiError as exc:
            if exc.status != 404:
                raise
            missing.append(d)
    wanted: set[tuple[str, str]] = set()
    gone: set[tuple[str, str]] = set()
    for d in answered:
        outcomes = {o["index"]: o["outcome"] for o in d.answer.get("alerts") or []}
        for number in d.alerts:
            alert = workload[number]
            if outcomes.get(alert.index) == "accepted":
                (wanted if d in kept else gone).add((alert.source, alert.dedup_key))
    waited = load._wait(
        api, service_id, wanted, lambda: queued(emulator), 1800, 300, lambda t: print(t, flush=True)
    )
    found = Counter((i["source"], i["dedup_key"]) for i in waited.incidents)
    return {
        "answered_2xx_before_kill": len(answered),
        "kept_after_restart": len(kept),
        "missing_after_restart": len(missing),
        "missing_answered_within_s_of_kill": round(
            max((killed_at - d.answered_at for d in missing), default=0), 2
        ),
        "kept_answered_within_s_of_kill": round(min((killed_at - d.answered_at for d in kept), default=0), 2),
        "accepted_alerts_in_kept_deliveries": len(wanted),
        "incidents_for_them": sum(1 for k in wanted if found[k]),
        "doubled": sum(1 for k in wanted if found[k] > 1)
        + sum(1 for i in waited.incidents if i["alert_count"] > 1),
        # ingest publishes an alert before it keeps the delivery (bus first, then the record, then
        # the answer): a cut between the two keeps the alert (its incident) without its delivery
        "incidents_whose_delivery_was_lost": sum(1 for k in found if k in gone),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument(
        "--at", type=float, default=0.5, help="kill when this share of deliveries is answered"
    )
    parser.add_argument("--out", help="also write the figures here (JSON)")
    args = parser.parse_args()
    os.environ.update({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"})  # the emulator's

    data = Path(tempfile.mkdtemp(prefix="alertbridge-kill9-"))
    log = data.parent / f"{data.name}.log"
    proc, url, _, first_start = start(data, log)
    api = Client(url, timeout=load.HTTP_TIMEOUT)
    service_id, hooks = load._setup(api, args.alerts)
    deliveries, workload = load.build_workload(args.alerts, args.batch, int(time.time() * 1000))
    killed_at = 0.0

    def killer() -> None:
        nonlocal killed_at
        target = int(len(deliveries) * args.at)
        while sum(1 for d in deliveries if d.answered_at) < target:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        killed_at = time.time()
        print(f"killed -9 after {target} of {len(deliveries)} deliveries were answered", flush=True)

    threading.Thread(target=killer, daemon=True).start()
    load._send(hooks, deliveries, args.senders, lambda _text: None)
    proc.wait()
    answered = [d for d in deliveries if 200 <= d.status < 300]
    costs = offline_costs(data)

    proc, url, emulator, restart = start(data, log)
    try:
        figures = count(
            Client(url, timeout=load.HTTP_TIMEOUT), emulator, answered, workload, service_id, killed_at
        )
        figures.update(
            {
                "alerts": args.alerts,
                "deliveries": len(deliveries),
                "first_start_s": round(first_start, 1),
                "restart_s": round(restart, 1),
                **costs,
            }
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    print(json.dumps(figures, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")
    ok = (
        figures["incidents_for_them"] == figures["accepted_alerts_in_kept_deliveries"]
        and not figures["doubled"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
