"""`alertbridge local --data DIR` keeps its state: a clean stop (SIGTERM) and a restart keep
services, tokens (old webhook URLs work), incidents, deliveries with their raw bodies, channels
(their sealed secrets still open: the KMS key material is kept), SNS subscriptions and the stream's
checkpoint (no incident event published twice); queued and in-flight alerts are processed once,
after the restart; a `kill -9` leaves the last complete snapshot; a second stack on the directory
and a directory of another format are refused in one line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alertbridge.notify import webhook
from alertbridge_tools import datadir
from alertbridge_tools.apigw import load_event
from alertbridge_tools.demo import post_webhook
from alertbridge_tools.local import LocalStack

from tests.e2e.helpers import ab, wait_for
from tests.flow.receivers import Receiver, receivers

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "datadir-v1"


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    yield from receivers()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Local:
    """`alertbridge local --data DIR` as a subprocess: its banner, its URL."""

    def __init__(self, data: Path, *extra: str) -> None:
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "alertbridge_tools.cli",
                "local",
                "--port",
                str(self.port),
                "--data",
                str(data),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        self.banner: list[str] = []
        for line in self.proc.stdout:
            self.banner.append(line.rstrip("\n"))
            if line.startswith("  data      "):  # the banner's last line
                break
        self.url = f"http://127.0.0.1:{self.port}"
        assert self.banner and self.banner[0] == f"alertbridge local is up: {self.url}", self.banner

    def subscriptions(self) -> list[tuple[str, str]]:
        """The emulator's SNS subscriptions (the local stack's own tap on the notifications topic)."""
        import boto3

        [emulator] = [line.split()[-1] for line in self.banner if line.strip().startswith("AWS emulator")]
        sns = boto3.client("sns", region_name="us-east-1", endpoint_url=emulator)
        return sorted(
            (s["SubscriptionArn"], s["Endpoint"]) for s in sns.list_subscriptions()["Subscriptions"]
        )

    def data_lines(self) -> list[str]:
        return [line for line in self.banner if line.lstrip().startswith("data")]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)


def test_a_clean_stop_and_restart_keeps_everything(tmp_path: Path, receiver: Callable[..., Receiver]) -> None:
    data = tmp_path / "data"
    first = Local(data)
    try:
        assert first.data_lines() == [f"  data            {data}  (new: kept across restarts)"]
        service = ab(first.url, "services", "create", "shop")
        source = ab(first.url, "sources", "add", service["id"], "kapacitor")
        hook = receiver()
        channel = ab(first.url, "channels", "add", service["id"], "webhook", "--url", hook.url)
        status, answer = post_webhook(source["webhook_url"], load_event("kapacitor", "critical", "x"))
        assert status == 202
        incident = wait_for(lambda: ab(first.url, "incidents", "list"))[0]
        wait_for(lambda: len(hook.requests) == 1)  # "opened", published once from the stream
        body = ab(first.url, "deliveries", "show", answer["delivery_id"])["body"]
        subscriptions = first.subscriptions()
        assert len(subscriptions) == 1
        assert first.stop() == 0
    finally:
        if first.proc.poll() is None:
            first.proc.kill()
    assert json.loads((data / datadir.MANIFEST).read_text())["format"] == datadir.FORMAT

    again = Local(data)
    try:
        assert "restored the snapshot saved" in again.data_lines()[0]
        assert again.subscriptions() == subscriptions  # the same one, not a second
        assert [(s["id"], s["name"]) for s in ab(again.url, "services", "list")] == [(service["id"], "shop")]
        assert [i["id"] for i in ab(again.url, "incidents", "list")] == [incident["id"]]
        assert ab(again.url, "deliveries", "show", answer["delivery_id"])["body"] == body  # S3 kept it
        assert [c["id"] for c in ab(again.url, "channels", "list", service["id"])] == [channel["id"]]
        # The channel's URL and secret were sealed with the KMS key: they open after the restart.
        assert ab(again.url, "channels", "test", channel["id"])["outcome"] == "sent"
        test_send = hook.requests[-1]
        assert webhook.verify(channel["secret"], test_send["headers"], test_send["body"], time.time())
        # The old webhook URL works: the recovery resolves the incident opened before the restart.
        old_url = f"{again.url}/hooks/kapacitor/{source['token']}"  # (this run's port)
        status, _ = post_webhook(old_url, load_event("kapacitor", "ok", "x"))
        assert status == 202
        wait_for(lambda: ab(again.url, "incidents", "list", "--status", "resolved"))
        wait_for(lambda: len(hook.requests) == 3)  # the test send and "resolved"
        time.sleep(2)  # a re-read stream would publish "opened" again by now
        assert len(hook.requests) == 3, [r["body"][:120] for r in hook.requests]
        # A second stack on the same directory is refused in one line.
        assert refused(data) == (
            f"alertbridge local: {data} is in use by another alertbridge local (pid {again.proc.pid}): "
            "stop it, or choose another --data (or --ephemeral)"
        )
        assert again.stop() == 0
    finally:
        if again.proc.poll() is None:
            again.proc.kill()


def test_queued_and_in_flight_alerts_are_processed_once_after_a_restart(tmp_path: Path) -> None:
    """Alerts the incident function had not taken (queued) or was holding (in flight) when the
    stack stopped come back after the restart and each opens one incident."""
    data = tmp_path / "data"
    stack = LocalStack(port=0, quiet=True, data=data).start()
    held = threading.Event()
    environments = stack.harness._environments["IncidentFunction"]
    run = environments.run

    def busy(event: dict[str, Any]) -> dict[str, Any]:
        held.wait()  # the incident function is busy: its pollers receive batches and wait
        return run(event)

    environments.run = busy  # type: ignore[method-assign]
    try:
        service = ab(stack.base_url, "services", "create", "queued")
        token = ab(stack.base_url, "sources", "add", service["id"], "kapacitor")["token"]
        url = f"{stack.base_url}/hooks/kapacitor/{token}"
        keys = [f"disk:db-{n}" for n in range(15)]
        for key in keys:
            body = {
                "id": key,
                "message": f"{key} is CRITICAL",
                "level": "CRITICAL",
                "time": "2026-11-23T10:00:00Z",
            }
            status, _ = post_webhook(url, {"headers": {}, "body": json.dumps(body), "isBase64Encoded": False})
            assert status == 202
        queue = stack.harness.stack.event_sources[0].queue_url
        in_flight = wait_for(
            lambda: int(
                stack.harness.sqs.get_queue_attributes(
                    QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
                )["Attributes"]["ApproximateNumberOfMessagesNotVisible"]
            )
        )
        assert in_flight > 0
    finally:
        stopping = threading.Thread(target=stack.stop)
        stopping.start()
        time.sleep(6)  # past the stop's budget for the poll loops: the snapshot is taken meanwhile
        held.set()  # the held batches now meet a closed emulator and fails: nothing changes
        stopping.join(timeout=60)
    saved = datadir._read(data / datadir.STATE)
    [sqs] = saved.backends["sqs"].values()
    [backend] = sqs.values()
    name = queue.rsplit("/", 1)[1]
    messages = backend.queues[name]._messages
    assert len(messages) == len(keys)  # every alert still queued, some of them in flight
    # In flight: at least the batches seen held before the stop (more pollers may have taken one since).
    assert sum(1 for m in messages if m.visible_at > time.time() * 1000) >= in_flight

    again = LocalStack(port=0, quiet=True, data=data).start()
    try:
        found = wait_for(
            lambda: (
                len(ab(again.base_url, "incidents", "list", "--service", service["id"])) == len(keys)
                and ab(again.base_url, "incidents", "list", "--service", service["id"])
            )
        )
        assert sorted(i["dedup_key"] for i in found) == sorted(keys)
        assert all(i["alert_count"] == 1 for i in found)
    finally:
        again.stop()


def test_kill_9_leaves_the_last_snapshot(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Local(data)
    try:
        service = ab(first.url, "services", "create", "before-the-kill")
        created = time.time()
        assert wait_for(lambda: _saved_at(data) > created)  # a snapshot follows activity within ~1 s
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    finally:
        if first.proc.poll() is None:
            first.proc.kill()
    (data / ".state.bin.abc.tmp").write_bytes(b"half a snapshot")  # what a kill mid-write leaves
    again = Local(data)
    try:
        assert "restored the snapshot saved" in again.data_lines()[0]
        assert service["id"] in [s["id"] for s in ab(again.url, "services", "list")]
    finally:
        again.stop()


def _saved_at(data: Path) -> float:
    """When the snapshot on disk was taken (0: none yet)."""
    try:
        return datadir._read(data / datadir.STATE).saved_at
    except (OSError, ValueError):
        return 0.0


def copy_fixture(tmp_path: Path) -> Path:
    """The fixture's data directory, as only its user can write it (whatever the checkout's umask)."""
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    for path in (data, *data.iterdir()):
        path.chmod(path.stat().st_mode & ~0o022)
    return data


def test_a_damaged_snapshot_is_named_and_the_previous_one_used(tmp_path: Path) -> None:
    data = copy_fixture(tmp_path)
    (data / datadir.PREVIOUS).write_bytes((data / datadir.STATE).read_bytes())
    state = data / datadir.STATE
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])  # cut short
    again = Local(data)
    try:
        lines = again.data_lines()
        assert len(lines) == 2 and lines[0].startswith("  data: state.bin: truncated or damaged")
        assert "started from state.prev.bin" in lines[0]
        assert "restored the snapshot saved" in lines[1]
        expected = json.loads((FIXTURE / "expected.json").read_text())
        assert [s["id"] for s in ab(again.url, "services", "list")] == [expected["service_id"]]
    finally:
        again.stop()


def test_a_data_dir_of_the_current_format_is_read(tmp_path: Path) -> None:
    """The checked-in fixture (format 1, written by `tests/fixtures/datadir-v1/make.py`): its
    service, its source's old token and its open incident are there after a start on it."""
    data = copy_fixture(tmp_path)
    expected = json.loads((FIXTURE / "expected.json").read_text())
    stack = LocalStack(port=0, quiet=True, data=data).start()
    try:
        [incident] = ab(stack.base_url, "incidents", "list", "--service", expected["service_id"])
        assert incident["id"] == expected["incident_id"]
        url = f"{stack.base_url}/hooks/kapacitor/{expected['token']}"
        status, _ = post_webhook(url, load_event("kapacitor", "ok", "x"))
        assert status == 202
        assert wait_for(lambda: ab(stack.base_url, "incidents", "list", "--status", "resolved"))
    finally:
        stack.stop()


def test_an_older_format_is_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the format moves on, MIGRATIONS[n] turns a format-n snapshot into format n+1."""
    data = copy_fixture(tmp_path)
    seen: list[int] = []

    def migrate(snapshot: dict[str, Any]) -> dict[str, Any]:
        seen.append(len(snapshot["physical"]))
        return {**snapshot, "streams": {}}

    monkeypatch.setattr(datadir, "FORMAT", 2)
    monkeypatch.setitem(datadir.MIGRATIONS, 1, migrate)
    found = datadir.DataDir(data).acquire()
    try:
        snapshot = found.load()
    finally:
        found.release()
    assert snapshot is not None and seen and snapshot.streams == {}


def refused(data: Path) -> str:
    """The one line ``alertbridge local --data DATA`` is refused with (exit 2)."""
    done = subprocess.run(
        [sys.executable, "-m", "alertbridge_tools.cli", "local", "--port", "0", "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    return line


@pytest.mark.parametrize(
    ("manifest", "says"),
    [
        (
            {"format": 99, "alertbridge": "9.0.0", "moto": "5.2.5"},
            "holds state of format 99 (alertbridge 9.0.0)",
        ),
        ({"format": 1, "alertbridge": "0.1.0", "moto": "4.2.14"}, "was written with moto 4.2.14"),
    ],
)
def test_a_data_dir_it_cannot_read_is_refused_in_one_line(
    tmp_path: Path, manifest: dict[str, Any], says: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / datadir.MANIFEST).write_text(json.dumps(manifest))
    line = refused(data)
    assert line.startswith(f"alertbridge local: {data} ") and says in line, line


@pytest.mark.parametrize("what", ["directory", "snapshot"])
def test_a_snapshot_others_can_have_written_is_not_read(tmp_path: Path, what: str) -> None:
    """A snapshot is a pickle, which runs code as it loads: a data directory or snapshot that
    another user can write is refused in one line, before anything is read."""
    data = copy_fixture(tmp_path)
    target = data if what == "directory" else data / datadir.STATE
    target.chmod(0o777 if what == "directory" else 0o666)
    line = refused(data)
    mode = "777" if what == "directory" else "666"
    assert line.startswith(f"alertbridge local: {target} is writable by others (mode {mode})"), line
    assert "chmod go-w" in line


def test_the_data_dir_is_chosen_in_order() -> None:
    assert datadir.choose(None, True, {"ALERTBRIDGE_DATA": "/x"}) is None
    assert datadir.choose("/a", False, {"ALERTBRIDGE_DATA": "/x"}) == Path("/a")
    assert datadir.choose(None, False, {"ALERTBRIDGE_DATA": "/x", "XDG_DATA_HOME": "/y"}) == Path("/x")
    assert datadir.choose(None, False, {"XDG_DATA_HOME": "/y"}) == Path("/y/alertbridge")
    assert datadir.choose(None, False, {}) == Path.home() / ".local" / "share" / "alertbridge"
