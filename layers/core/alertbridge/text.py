"""Small text helpers every module shares: cutting vendor text to a limit, summarising a pydantic
error for a 4xx body."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

ELLIPSIS = "…"


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, an ellipsis marking a cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def validation_message(exc: ValidationError | Sequence[Mapping[str, Any]], prefix: str = "") -> str:
    """A short, readable summary of a pydantic error (or of its ``errors()``, as Powertools'
    request validation hands them over): which fields, what is wrong."""
    errors = exc.errors(include_url=False, include_input=False) if isinstance(exc, ValidationError) else exc
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{prefix}{where}: {str(error['msg']).removeprefix('Value error, ')}")
    more = len(errors) - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
