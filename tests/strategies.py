"""Hypothesis strategies for webhook bodies, shared by the fuzz and the differential tests, and the
settings they run under: seeded (the same bodies every run), no deadline, bounded in number."""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("ALERTBRIDGE_FUZZ_EXAMPLES", "2000"))  # per source; raise it for more


def seeded(max_examples: int = EXAMPLES) -> settings:
    return settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


def _same_type(value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.integers()
    if isinstance(value, float):
        return st.floats(allow_nan=False, allow_infinity=False)
    if isinstance(value, str):
        return st.text(max_size=40)
    return json_values


def _objects(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """``doc`` and every object nested in it."""
    found = [doc]
    for value in doc.values():
        if isinstance(value, dict):
            found += _objects(value)
        elif isinstance(value, list):
            found += [o for item in value if isinstance(item, dict) for o in _objects(item)]
    return found


def _mutations(sample: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """The source's own sample with fields (of any of its objects) deleted, retyped, given another
    value of the same type, blown up or duplicated."""

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        doc = json.loads(json.dumps(sample))
        target = draw(st.sampled_from(_objects(doc["alerts"][0] if doc.get("alerts") else doc)))
        for _ in range(draw(st.integers(1, 4))):
            keys = list(target) or ["x"]
            key = draw(st.sampled_from(keys))
            how = draw(st.sampled_from(["delete", "retype", "revalue", "huge", "nest", "null"]))
            if how == "delete":
                target.pop(key, None)
            elif how == "retype":
                target[key] = draw(json_values)
            elif how == "revalue":  # the same JSON type, another value
                target[key] = draw(_same_type(target.get(key)))
            elif how == "huge":
                target[key] = "A" * draw(st.sampled_from([5_000, 100_000, 400_000]))
            elif how == "nest":
                target[key] = json.loads("[" * 200 + "]" * 200)
            else:
                target[key] = None
        text = json.dumps(doc)
        if draw(st.booleans()) and text.startswith("{") and len(text) > 2:  # a duplicated key
            first = next(iter(doc), "id")
            text = "{" + json.dumps(first) + ": 12345, " + text[1:]
        return text.encode()

    return mutate()


def bodies(sample: dict[str, Any]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        json_values.map(lambda v: json.dumps(v).encode()),
        _mutations(sample),
        _mutations(sample),
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.sampled_from(
            [
                b"",
                b" ",
                b"null",
                b"[]",
                b"{}",
                b"{",
                b"[" * 1000 + b"]" * 1000,
                b'{"a":' * 1000 + b"1" + b"}" * 1000,
                b"\xff\xfe\xfd",
                b"\x00" * 64,
                json.dumps(sample).encode()[:-3],
                b"a=1&b=2&" * 50,
            ]
        ),
    )
