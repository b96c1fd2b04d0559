"""Data contracts: the canonical alert (published on the bus) and the records kept in DynamoDB."""

from alertbridge.models.alert import (
    SCHEMA_VERSION,
    Action,
    CanonicalAlert,
    Link,
    Severity,
)

__all__ = ["SCHEMA_VERSION", "Action", "CanonicalAlert", "Link", "Severity"]
