"""What every request body model shares, and the query parameters more than one route takes."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, ConfigDict


class Body(BaseModel):
    """A JSON request body: unknown fields are refused (a typo never passes silently)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


Limit = Annotated[int, Query(ge=1, le=500)]
