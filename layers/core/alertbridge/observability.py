"""One structured logger for the whole package. Powertools reads its own settings from the
environment template.yaml gives each function: the service name (POWERTOOLS_SERVICE_NAME) and the
metrics namespace (POWERTOOLS_METRICS_NAMESPACE, written once, in the template's Globals)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

if TYPE_CHECKING:
    from aws_lambda_powertools.metrics import EphemeralMetrics

logger = Logger()

# Lambda context keys that every line would repeat for nothing (CloudWatch Logs bills per byte):
# the log group names the function's ARN, its configuration the memory. The function name, request
# id and cold-start flag stay.
_REDUNDANT_KEYS = ["function_arn", "function_memory_size"]

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def lambda_logging(correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """Powertools' ``inject_lambda_context`` (fresh keys per invocation), less the redundant keys."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def lean(event: dict[str, Any], context: Any) -> dict[str, Any]:
            logger.remove_keys(_REDUNDANT_KEYS)
            return handler(event, context)

        injected: Handler = logger.inject_lambda_context(
            lean, clear_state=True, correlation_id_path=correlation_id_path
        )
        return injected

    return decorate


def flush(metrics: EphemeralMetrics) -> None:
    """Publish the metrics added since the last flush, and forget them. Powertools' flush keeps them
    when metrics are off (POWERTOOLS_METRICS_DISABLED: the local stack), so they pile up across
    invocations and are printed anyway when one metric reaches 100 values."""
    metrics.flush_metrics()
    metrics.clear_metrics()
