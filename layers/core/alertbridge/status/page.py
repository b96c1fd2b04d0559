"""The status function's HTTP answers: ``GET /status`` (HTML) and ``GET /status.json``.

A warm Lambda keeps the board for a few seconds, so a burst of visitors costs one read of it.
Both are public and cacheable for ``MAX_AGE`` seconds; a storage failure is a 503 nobody caches.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from alertbridge.observability import logger
from alertbridge.status.board import Board, build_board, to_json
from alertbridge.status.html import render_html
from alertbridge.status.reads import WORKERS, collect
from alertbridge.timestamps import now

if TYPE_CHECKING:
    from alertbridge.store.incidents import IncidentStore
    from alertbridge.store.sources import SourceStore
    from alertbridge.store.status_page import StatusPageStore

CACHE_SECONDS = 5.0
MAX_AGE = 30
PATHS = ("/status", "/status.json")

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
        page: StatusPageStore,
        *,
        cache_seconds: float = CACHE_SECONDS,
        workers: int = WORKERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sources = sources
        self._incidents = incidents
        self._page = page
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
            settings, snapshots = collect(
                self._sources, self._incidents, self._page, at, workers=self._workers
            )
            board = build_board(snapshots, at, settings)
            if self._cache_seconds > 0:
                self._cached = (self._clock() + self._cache_seconds, board)
            return board

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        path = event.get("resource") or event.get("path") or ""
        if path not in PATHS:
            return _answer(404, {**_JSON_HEADERS, "Cache-Control": "no-store"}, '{"error":"not found"}')
        try:
            board = self.board()
        except (BotoCoreError, ClientError):
            logger.exception("status page: storage unavailable")
            headers = {**_COMMON, "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
            return _answer(503, {**headers, "Retry-After": "30"}, "Status temporarily unavailable.\n")
        if path == "/status.json":
            return _answer(200, _JSON_HEADERS, json.dumps(to_json(board), separators=(",", ":")))
        return _answer(200, _HTML_HEADERS, render_html(board))


def _answer(status: int, headers: dict[str, str], body: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": dict(headers), "body": body, "isBase64Encoded": False}
