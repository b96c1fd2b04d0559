"""One structured logger for the whole package (the service name comes from POWERTOOLS_SERVICE_NAME,
set per function in template.yaml), and the metrics namespace."""

from __future__ import annotations

from aws_lambda_powertools import Logger

NAMESPACE = "Alertbridge"

logger = Logger()
