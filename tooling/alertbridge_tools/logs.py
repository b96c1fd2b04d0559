"""Per-invocation log keys for functions sharing one process (the harness, the local stack).

On Lambda each execution environment is its own process, so the package's one Powertools logger
keeps its keys (function name, request id, a delivery's id) globally: one invocation at a time.
Here several functions run at once on threads, and those keys would leak from one invocation into
another's lines. ``per_invocation`` keeps the logger formatter's keys in a context variable instead;
the harness runs each invocation in a copy of the context with fresh keys, and the worker pools the
functions start run their tasks in the submitting invocation's context.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
from collections.abc import Callable
from typing import Any

_KEYS: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "alertbridge_log_keys", default=None
)
_applied = False


class _ContextPool(concurrent.futures.ThreadPoolExecutor):
    """A pool whose tasks see the submitter's context (log keys), as one process on Lambda would."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


def per_invocation() -> None:
    global _applied  # noqa: PLW0603
    if _applied:
        return
    from alertbridge import consumer, notifier  # noqa: PLC0415
    from alertbridge.observability import logger  # noqa: PLC0415
    from alertbridge.status import reads  # noqa: PLC0415

    formatter: Any = logger.registered_formatter
    base_class = type(formatter)
    shared: dict[str, Any] = formatter.log_format

    def get(self: Any) -> dict[str, Any]:
        keys = _KEYS.get()
        return shared if keys is None else keys

    def set_(self: Any, value: dict[str, Any]) -> None:
        if _KEYS.get() is None:
            shared.clear()
            shared.update(value)
        else:
            _KEYS.set(value)

    formatter.__dict__.pop("log_format", None)
    formatter.__class__ = type(
        f"PerInvocation{base_class.__name__}", (base_class,), {"log_format": property(get, set_)}
    )
    for module in (consumer, notifier, reads):
        setattr(module, "ThreadPoolExecutor", _ContextPool)  # noqa: B010
    _applied = True


def invoke(handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any], context: Any) -> Any:
    """Call a handler with keys of its own (start from the logger's keys outside any invocation)."""
    from alertbridge.observability import logger  # noqa: PLC0415

    outside = _KEYS.get()
    formatter: Any = logger.registered_formatter
    _KEYS.set(dict(formatter.log_format if outside is None else outside))
    logger.registered_formatter.thread_safe_clear_keys()
    return handler(event, context)
