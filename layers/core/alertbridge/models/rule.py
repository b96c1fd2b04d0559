"""Alert rules: data per service, in order, versioned as one set (``alertbridge.rules`` evaluates
them; ``store.rules`` keeps them). What a rule's fields may hold beyond their types (an expression
that compiles, a route to another existing service) is checked by ``alertbridge.rules.check`` and
``operations.add_rule``."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from alertbridge.models.parts import AppliedRule, RuleKind, Severity

MAX_EXPRESSION = 1024  # characters of a condition or a dedup key template
MAX_RULES = 100  # rules per service: the whole set is one DynamoDB item, read once per minute
MAX_WINDOW_S = 90 * 86400

Expression = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_EXPRESSION)]
TagKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:/-]{1,64}$")]
TagValue = Annotated[str, StringConstraints(max_length=256)]


class Rule(BaseModel):
    """One rule: when ``when`` (JMESPath over the alert's document) is truthy, do ``kind``."""

    # Built on first use, not at import: an ingest function whose services have no rules never
    # builds these validators (bench/rules.py: 24 M instructions of its cold start otherwise).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    id: str
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    kind: RuleKind
    when: Expression
    source_id: str | None = None  # only alerts of this source of the service
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, max_length=20)  # tag
    severity: Severity | None = None  # severity
    route_to: str | None = None  # route: another service of this deployment
    dedup_key: Expression | None = None  # dedup: JMESPath giving the new key (a string)
    window_s: Annotated[int, Field(ge=1, le=MAX_WINDOW_S)] | None = None  # dedup
    created_at: datetime

    @property
    def applied(self) -> AppliedRule:
        return AppliedRule(id=self.id, name=self.name, kind=self.kind)

    @property
    def label(self) -> str:
        return f"{self.id} {self.name!r}"


class RuleSet(BaseModel):
    """A service's rules, in evaluation order. ``version`` goes up by one with every change (a
    change made against an older version is refused); ``next_id`` numbers the rules r_1, r_2, ..."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    service_id: str
    version: int = 0
    next_id: int = 1
    rules: tuple[Rule, ...] = ()
    updated_at: datetime | None = None
