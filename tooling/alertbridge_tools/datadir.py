"""The local stack's data directory: what ``alertbridge local`` keeps across restarts.

moto keeps everything in memory and has no persistence of its own, so the emulator's state (every
backend the stack used: DynamoDB tables and their streams, S3 objects, SQS messages, SNS
subscriptions, KMS keys with their key material, EventBridge rules) is pickled, with the stack's
physical resource names and the stream pollers' checkpoints, as one snapshot taken while the
emulator runs no call (a consistent cut: every AWS call is in it whole or not at all):

- every ``SNAPSHOT_SECONDS`` (or ``SPACING`` times what the last one took to write, when longer)
  while functions ran since the last one, and once more at a clean stop
  (SIGINT/SIGTERM), after the API stopped taking requests and the poll loops finished their batch;
- written atomically: a temporary file, fsync, rename over ``state.bin`` (the one it replaces is
  kept as ``state.prev.bin``), fsync of the directory. A ``kill -9`` leaves the last complete
  snapshot; a file that does not verify (its SHA-256 is in its header) is reported in one line and
  the previous one is used.

On restart the backends are put back before the emulator serves, the template's resources are
reused by their saved names (resources a newer template adds are created), messages that were in
flight are visible again at once (their consumer is gone), and each stream poller resumes after its
last checkpointed record, so no incident event already published is published again.

``manifest.json`` says what wrote the directory (format, alertbridge and moto versions). A newer
alertbridge reads an older format through ``MIGRATIONS``; a newer format, or a moto of another
major version (its pickled classes differ), is refused in one line. A lock file keeps a second
stack off a directory in use. See docs/decisions.md for why a snapshot and not a request journal.
"""

from __future__ import annotations

import _thread
import contextlib
import copyreg
import fcntl
import functools
import hashlib
import io
import json
import os
import pickle
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any

FORMAT = 1  # the snapshot's format; bump it with a migration from the one before
SNAPSHOT_SECONDS = float(os.environ.get("ALERTBRIDGE_SNAPSHOT_SECONDS", "1"))
# A snapshot costs a core for as long as it is written (seconds, for the state of 10,000 alerts):
# the next one waits that long times this, so snapshots take at most 1/(1+SPACING) of a core
# (the stack itself, one Python process, uses about one: a second core takes the snapshots).
SPACING = 1.0
FORK = hasattr(os, "fork")  # periodic snapshots in a forked child (else in the stack's process)
STATE, PREVIOUS, MANIFEST, LOCK = "state.bin", "state.prev.bin", "manifest.json", "lock"
_MAGIC = b"alertbridge-state\n"

# Migrations of an older snapshot, by the format they read: MIGRATIONS[n] turns a format-n snapshot
# (the unpickled dict) into a format n+1 one. Format 1 is the first: nothing to migrate yet.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


class DataDirError(Exception):
    """Why a data directory cannot be used, in one line."""


def choose(data: str | None, ephemeral: bool, environ: dict[str, str] | os._Environ[str]) -> Path | None:
    """The directory ``alertbridge local`` keeps its state in (None: ephemeral): ``--data``, else
    ``ALERTBRIDGE_DATA``, else ``$XDG_DATA_HOME/alertbridge``, else ``~/.local/share/alertbridge``."""
    if ephemeral:
        return None
    if data or environ.get("ALERTBRIDGE_DATA"):
        return Path(data or environ["ALERTBRIDGE_DATA"]).expanduser().resolve()
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser().resolve() / "alertbridge"


def versions() -> dict[str, Any]:
    return {"format": FORMAT, **_packages()}


@functools.cache
def _packages() -> dict[str, str]:
    return {"alertbridge": version("alertbridge"), "moto": version("moto")}


@dataclass
class Snapshot:
    """What a restart needs: moto's backends, the stack's names, the stream pollers' checkpoints."""

    backends: dict[str, Any]  # service -> account -> region -> moto backend
    physical: dict[str, str]  # the template's logical ids -> physical names (Stack.physical)
    attributes: dict[tuple[str, str], str]  # (logical id, attribute) -> value (Stack.attributes)
    streams: dict[str, dict[str, dict[str, str]]]  # function -> shard -> {"at"|"after": sequence number}
    saved_at: float = field(default_factory=time.time)


# --- pickling moto -------------------------------------------------------------------------------
def _reduce_lock(_obj: Any) -> tuple[Any, tuple[()]]:
    return (threading.Lock, ())


def _reduce_rlock(_obj: Any) -> tuple[Any, tuple[()]]:
    return (threading.RLock, ())


def _reduce_condition(_obj: Any) -> tuple[Any, tuple[()]]:
    return (threading.Condition, ())


def _private_key(key: Any) -> tuple[Any, tuple[Any, ...]]:
    """moto's KMS key wrappers hold a ``cryptography`` private key, which does not pickle: its DER."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    state = dict(vars(key))
    der = state.pop("private_key").private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return (_load_private_key, (type(key), state, der))


def _load_private_key(cls: Any, state: dict[str, Any], der: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    key = object.__new__(cls)
    key.__dict__.update(state, private_key=serialization.load_der_private_key(der, None))
    return key


def _dispatch() -> dict[type, Callable[[Any], Any]]:
    from moto.kms import utils as kms  # noqa: PLC0415

    return {
        **copyreg.dispatch_table,  # what pickle does by default (compiled patterns, ...)
        _thread.LockType: _reduce_lock,
        _thread.RLock: _reduce_rlock,
        threading.Condition: _reduce_condition,  # an SQS queue's, for long polls
        kms.RSAPrivateKey: _private_key,
        kms.ECDSAPrivateKey: _private_key,
    }


def dump(snapshot: Snapshot) -> bytes:
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _dispatch()
    pickler.dump(
        {
            "backends": snapshot.backends,
            "physical": snapshot.physical,
            "attributes": snapshot.attributes,
            "streams": snapshot.streams,
            "saved_at": snapshot.saved_at,
        }
    )
    return out.getvalue()


def backends() -> dict[str, Any]:
    """Every moto backend in use (what the emulator holds), by service, account and region."""
    from moto.core.base_backend import BackendDict  # noqa: PLC0415

    found: dict[str, Any] = {}
    registries: list[Any] = BackendDict._instances  # type: ignore[misc]  # the services that were called
    for backend in registries:
        accounts = {account: dict(regions) for account, regions in backend.items() if regions}
        if accounts:
            found[backend.service_name] = accounts
    return found


def put_back(saved: dict[str, Any]) -> None:
    """Put saved backends in moto's live registries (the objects moto's modules import)."""
    from moto import backends as moto_backends  # noqa: PLC0415

    get_backend: Any = moto_backends.get_backend  # typed per service name literal
    for service, accounts in saved.items():
        registry: Any = get_backend(service)
        for account, regions in accounts.items():
            for region, backend in regions.items():
                dict.__setitem__(registry[account], region, backend)
    sqs = saved.get("sqs", {})
    for regions in sqs.values():  # messages in flight: their consumer is gone, they come back now
        for backend in regions.values():
            for queue in backend.queues.values():
                for message in queue.pending_messages:
                    message.visible_at = 0.0
                queue.pending_messages.clear()


# --- the directory -------------------------------------------------------------------------------
class DataDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock: IO[str] | None = None
        self.notes: list[str] = []  # one line each, for the banner (a snapshot that did not verify)

    def acquire(self) -> DataDir:
        """Create and lock the directory; refuse it when another stack holds it or its format is
        not one this alertbridge reads."""
        try:
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
            _only_yours(self.path)
            fh = (self.path / LOCK).open("a+")
        except OSError as exc:
            raise DataDirError(f"cannot use {self.path}: {exc.strerror}") from exc
        if not _lock(fh):
            fh.seek(0)
            holder = fh.read().strip() or "?"
            fh.close()
            raise DataDirError(
                f"{self.path} is in use by another alertbridge local (pid {holder}): "
                "stop it, or choose another --data (or --ephemeral)"
            )
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._lock = fh
        try:
            self._check_manifest()
        except DataDirError:
            self.release()
            raise
        return self

    def lock_fd(self) -> int:
        """The lock file's descriptor (a forked snapshot writer keeps it: the lock is held until the
        last snapshot begun is written)."""
        assert self._lock is not None
        return self._lock.fileno()

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock (as a kill does)
            self._lock = None

    def _check_manifest(self) -> None:
        path = self.path / MANIFEST
        if not path.exists():
            return
        try:
            found = json.loads(path.read_text())
            fmt, moto = int(found["format"]), str(found["moto"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataDirError(
                f"{path} is unreadable ({exc}): move it away, or choose another --data"
            ) from exc
        mine = versions()
        if fmt > FORMAT:
            raise DataDirError(
                f"{self.path} holds state of format {fmt} (alertbridge {found.get('alertbridge', '?')}); "
                f"this alertbridge {mine['alertbridge']} reads formats up to {FORMAT}: upgrade alertbridge, "
                "or choose another --data"
            )
        if moto.split(".", maxsplit=1)[0] != str(mine["moto"]).split(".", maxsplit=1)[0]:
            raise DataDirError(
                f"{self.path} was written with moto {moto}, this alertbridge runs moto {mine['moto']} "
                "(another major version: its saved state does not load): use the alertbridge that wrote "
                "it, or choose another --data"
            )

    # --- reading ---------------------------------------------------------------------------------
    def load(self) -> Snapshot | None:
        """The newest snapshot that verifies (None: a new directory). One that does not verify is
        named in ``notes`` and the previous one is used; when none does, nothing is overwritten."""
        state, previous = self.path / STATE, self.path / PREVIOUS
        if not state.exists() and not previous.exists():
            return None
        failures: list[str] = []
        for path in (state, previous):
            if not path.exists():
                continue
            _only_yours(path)
            try:
                snapshot = _read(path)
            except Exception as exc:  # any failure to read it back (damage, classes that moved): unreadable
                failures.append(f"{path.name}: {exc}")
                continue
            if failures:
                self.notes.append(
                    f"{failures[0]} (not a complete snapshot); started from {path.name}, saved "
                    f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(snapshot.saved_at))}"
                )
            return snapshot
        raise DataDirError(
            f"no readable snapshot in {self.path} ({'; '.join(failures)}): move it away, or choose "
            "another --data (or --ephemeral)"
        )

    # --- writing ---------------------------------------------------------------------------------
    def save(self, payload: bytes) -> None:
        """Write a dumped snapshot atomically; the one it replaces becomes ``state.prev.bin``."""
        digest = hashlib.sha256(payload).hexdigest()
        header = json.dumps({**versions(), "sha256": digest, "size": len(payload)}).encode()
        state = self.path / STATE
        _atomic_write(state, [_MAGIC, header, b"\n", payload], keep=self.path / PREVIOUS)
        _atomic_write(self.path / MANIFEST, [json.dumps(versions(), indent=2).encode(), b"\n"])


def _only_yours(path: Path) -> None:
    """A snapshot is a pickle, which runs code as it loads: only one that nobody but this user can
    have written (the directory and the file theirs, neither writable by group or others) is read."""
    info = path.stat()
    if info.st_uid != os.geteuid():
        raise DataDirError(
            f"{path} belongs to another user (uid {info.st_uid}); a snapshot runs code as it loads, "
            "so only yours are read: choose another --data (or --ephemeral)"
        )
    if info.st_mode & 0o022:
        raise DataDirError(
            f"{path} is writable by others (mode {info.st_mode & 0o777:o}); a snapshot runs code as it "
            f"loads, so only one nobody else can have written is read: `chmod go-w {path}` if you "
            "trust its contents, or choose another --data"
        )


def _lock(fh: IO[str], patience: float = 60.0) -> bool:
    """Lock the directory's lock file. When the stack that wrote its pid is gone (killed) but the
    lock is held, a snapshot it forked is still being written: wait for it (it holds the lock so
    that no newer snapshot is written under it)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip()
            if not holder.isdigit() or _alive(int(holder)) or time.monotonic() > deadline:
                return False
            time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(path: Path) -> Snapshot:
    with path.open("rb") as fh:
        if fh.readline() != _MAGIC:
            raise ValueError("not an alertbridge state file")
        header = json.loads(fh.readline())
        payload = fh.read()
    if len(payload) != header["size"] or hashlib.sha256(payload).hexdigest() != header["sha256"]:
        raise ValueError(
            f"truncated or damaged ({len(payload)} of {header['size']} bytes, checksum mismatch)"
        )
    data: dict[str, Any] = pickle.loads(payload)  # noqa: S301  (a file only this user can have written: _only_yours)
    fmt = int(header["format"])
    while fmt < FORMAT:
        data = MIGRATIONS[fmt](data)
        fmt += 1
    return Snapshot(
        backends=data["backends"],
        physical=data["physical"],
        attributes=data["attributes"],
        streams=data["streams"],
        saved_at=data["saved_at"],
    )


def _atomic_write(path: Path, chunks: list[bytes], *, keep: Path | None = None) -> None:
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"  # a kill leaves at most this (ignored)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        if keep is not None and path.exists():
            os.replace(path, keep)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# --- keeping a running stack -------------------------------------------------------------------
class Keeper:
    """Snapshots a running local stack: every ``SNAPSHOT_SECONDS`` after activity, and at stop.

    ``exclusive`` holds every emulated AWS call off while the state is pickled; ``capture`` gives
    the stack's names and the pollers' checkpoints (read then, so never ahead of the emulator's
    state); ``activity`` grows with every function invocation and every item Time to Live deleted
    (nothing changed: nothing to save)."""

    def __init__(
        self,
        datadir: DataDir,
        exclusive: Callable[[], contextlib.AbstractContextManager[None]],
        capture: Callable[[], tuple[dict[str, str], dict[tuple[str, str], str], dict[str, Any]]],
        activity: Callable[[], int],
    ) -> None:
        self.datadir = datadir
        self._exclusive = exclusive
        self._capture = capture
        self._activity = activity
        self._saved_activity = -1
        self._stopping = threading.Event()
        self._write = threading.Lock()  # one writer at a time (the timer, the final save)
        self._thread = threading.Thread(target=self._run, name="snapshots", daemon=True)
        self.saves = 0
        self.last_seconds = 0.0  # how long the last snapshot held the emulator
        self.write_seconds = 0.0  # how long the last one took to write (pickle, write, fsync)
        self.failure: str | None = None  # why the last snapshot failed, when it did

    def start(self) -> Keeper:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stopping.wait(max(SNAPSHOT_SECONDS, SPACING * self.write_seconds)):
            if self._activity() != self._saved_activity:
                self._save_or_say(background=FORK)

    def _save_or_say(self, *, background: bool = False) -> None:
        try:
            self.save(background=background)
        except Exception as exc:  # say so in one line; the previous snapshot stays
            self.failure = f"{type(exc).__name__}: {exc}"
            print(
                f"alertbridge local: a snapshot to {self.datadir.path} failed ({self.failure}); "
                "the one before it is kept",
                file=sys.stderr,
                flush=True,
            )

    def save(self, *, background: bool = False) -> None:
        """One snapshot. ``background``: the emulator is held only for a fork; the child process,
        a copy of the state at that instant, pickles and writes it while the stack goes on (the
        state of 10,000 alerts takes seconds to pickle: the emulator would stop that long)."""
        with self._write:
            activity = self._activity()
            started = time.perf_counter()
            child = None
            with self._exclusive():
                physical, attributes, streams = self._capture()
                snapshot = Snapshot(backends(), physical, attributes, streams)
                if background:
                    child = _fork(self.datadir, snapshot)
                else:
                    payload = dump(snapshot)
            self.last_seconds = time.perf_counter() - started
            began = time.perf_counter()
            if child is None:
                self.datadir.save(payload)
            else:
                _wait(*child)
            self.write_seconds = time.perf_counter() - began
            self._saved_activity = activity
            self.saves += 1

    def stop(self, final: Callable[[], contextlib.AbstractContextManager[None]] | None = None) -> None:
        """The last snapshot (``final``, when given, replaces ``exclusive`` for it: the emulator is
        closed inside it, so no call can change what was saved), then the lock is let go."""
        self._stopping.set()
        self._thread.join(timeout=30)
        if final is not None:
            self._exclusive = final
        try:
            self._save_or_say()
        finally:
            self.datadir.release()


def _fork(datadir: DataDir, snapshot: Snapshot) -> tuple[int, int]:
    """A child process that writes ``snapshot`` and exits; (its pid, the read end of a pipe that
    carries its error). Forked with the emulator held: no other thread is inside moto, so none
    holds a lock the child's pickling could need."""
    _packages()  # read before the fork (the child does nothing it need not)
    read, write = os.pipe()
    with warnings.catch_warnings():  # "multi-threaded, use of fork() may lead to deadlocks": see above
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        _close_inherited(keep={write, datadir.lock_fd()})
        code = 0
        try:
            datadir.save(dump(snapshot))
        except BaseException as exc:
            os.write(write, f"{type(exc).__name__}: {exc}".encode()[:500])
            code = 1
        os._exit(code)  # no atexit, no thread joins: this process is a copy for one write
    os.close(write)
    return pid, read


def _close_inherited(keep: set[int]) -> None:
    """In the child: every descriptor but ``keep`` closed (the servers' sockets and connections are
    the parent's: a connection the parent closes must not stay open here until the write ends)."""
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def _wait(pid: int, read: int) -> None:
    with os.fdopen(read, "rb") as pipe:
        error = pipe.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(error or f"the snapshot process ended with status {status}")


# --- the local stack's hooks -------------------------------------------------------------------
def restore(datadir: DataDir) -> Snapshot | None:
    """The directory's newest snapshot put back into moto (call before the emulator serves)."""
    snapshot = datadir.load()
    if snapshot is not None:
        put_back(snapshot.backends)
    return snapshot


def existing(snapshot: Snapshot | None) -> Any:
    """The restored stack's resource names, for ``create_stack(existing=...)``."""
    from alertbridge_tools.template import Stack  # noqa: PLC0415

    if snapshot is None:
        return None
    return Stack(parameters={}, physical=dict(snapshot.physical), attributes=dict(snapshot.attributes))


def keep(datadir: DataDir, emulator: Any, harness: Any, snapshot: Snapshot | None) -> Keeper:
    """A Keeper for a local stack (its stream pollers resumed from ``snapshot`` first)."""
    for poller in harness.stream_pollers:
        poller.resume(snapshot.streams.get(poller.function, {}) if snapshot else {})

    def capture() -> tuple[dict[str, str], dict[tuple[str, str], str], dict[str, Any]]:
        streams = {poller.function: poller.checkpoints() for poller in harness.stream_pollers}
        return dict(harness.stack.physical), dict(harness.stack.attributes), streams

    return Keeper(datadir, emulator.exclusive, capture, lambda: harness.activity)


def banner(datadir: DataDir | None, snapshot: Snapshot | None) -> list[str]:
    """The startup banner's lines about the data: what failed to load, then where it lives and what
    was restored (the banner's last line)."""
    if datadir is None:
        return ["  data            ephemeral: nothing is kept (--data DIR keeps it)"]
    if snapshot is None:
        kept = "new: kept across restarts"
    else:
        saved = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(snapshot.saved_at))
        kept = f"restored the snapshot saved {saved}"
    return [*(f"  data: {note}" for note in datadir.notes), f"  data            {datadir.path}  ({kept})"]
