"""What every request body model shares, and the query parameters more than one route takes."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, ConfigDict, Field

from alertbridge.models.alert import RuleKind, Severity
from alertbridge.models.rule import MAX_EXPRESSION


class Body(BaseModel):
    """A JSON request body: unknown fields are refused (a typo never passes silently)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


Limit = Annotated[int, Query(ge=1, le=500)]


class RuleFields(Body):
    """A rule as written (``alertbridge rules add --rule FILE``): its types; what they do not say
    (expressions that compile, a route to an existing service) is checked by ``operations.new_rule``."""

    name: str = Field(min_length=1, max_length=80)
    kind: RuleKind
    when: str = Field(min_length=1, max_length=MAX_EXPRESSION)
    source_id: str | None = None
    tags: dict[str, str] | None = None
    severity: Severity | None = None
    route_to: str | None = None
    dedup_key: str | None = Field(default=None, min_length=1, max_length=MAX_EXPRESSION)
    window_s: int | None = None

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class NewRule(RuleFields):
    position: int | None = Field(default=None, ge=1, description="1 is evaluated first; default: last")
    expected_version: int | None = Field(default=None, ge=0, description="refused (409) unless current")

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, exclude={"position", "expected_version"})


class RuleMove(Body):
    position: int = Field(ge=1)
    expected_version: int | None = Field(default=None, ge=0)


class RuleTest(Body):
    rule: RuleFields
    last: int = Field(default=500, ge=1, le=500)
