"""The one optimistic-concurrency loop: read, decide, write on condition; on a conflict, again.

Incident writes are conditional on the version that was read (see ``store.incidents``). A writer
that loses (``Conflict``) must read again and decide again, never write what it decided from the
stale read. The incident function and a person's acknowledge or resolve both do this, so both go
through :func:`until_written`. The pause before each retry is jittered so that writers who lost
together do not collide again together.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from alertbridge.store.incidents import Conflict


def until_written[T](
    attempt: Callable[[], T],
    *,
    tries: int,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``attempt()`` (read, decide, conditional write) until it raises no ``Conflict``, at most
    ``tries`` times; then ``Conflict`` is raised for the caller to report."""
    for n in range(tries):
        if n:
            sleep(random.uniform(0, min(0.5, 0.01 * 2**n)))  # noqa: S311  (jitter, not crypto)
        try:
            return attempt()
        except Conflict:
            continue
    raise Conflict(f"gave up after {tries} conflicting writes")
