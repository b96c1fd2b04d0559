"""The canonical alert's parts that other records share: severity, action, link, applied rule.

In their own module so that what uses them without the alert itself (incidents, their events,
channels, the records) builds no ``CanonicalAlert`` validator: the incident events function, the
notifier and the checker never validate an alert. They are still the alert's contract:
``schema/canonical-alert.v1.json`` includes them.
"""

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints


class Action(StrEnum):
    TRIGGER = "trigger"
    RESOLVE = "resolve"
    REMINDER = "reminder"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: info 0 ... critical 4."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class Link(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    href: Annotated[str, StringConstraints(max_length=2048)]
    text: Annotated[str, StringConstraints(max_length=256)] = ""


RuleKind = Literal["tag", "severity", "route", "suppress", "dedup"]
MAX_APPLIED_RULES = 100  # a service holds at most this many rules (alertbridge.rules.MAX_RULES)


class AppliedRule(BaseModel):
    """A rule that changed (or suppressed) an alert: named on the alert, its delivery outcome and
    its incident's timeline, so every decision is explained."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    kind: RuleKind


_VERBS = {
    "tag": "tagged",
    "severity": "re-rated",
    "route": "routed",
    "dedup": "re-keyed",
    "suppress": "suppressed",
}


def explain(applied: list[AppliedRule]) -> str:
    """ "routed by rule r_3 'db team'; tagged by rule r_1 'env'": for timelines and reasons."""
    return "; ".join(f"{_VERBS[r.kind]} by rule {r.id} {r.name!r}" for r in applied)
