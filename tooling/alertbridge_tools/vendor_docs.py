"""Write the "Severity and lifecycle" table of every ``vendors/<name>/README.md`` from the mapping's
own data: its ``SEVERITY`` (vendor value -> canonical severity), its ``ACTIONS`` when it has one
(Uptrends) and its ``LIFECYCLE`` rules (Heroku: problem and recovery per resource).

    PYTHONPATH=layers/core:tooling python -m alertbridge_tools.vendor_docs

Only the text between ``<!-- generated: severity -->`` and ``<!-- /generated -->`` is rewritten;
``tests/meta/test_vendor_docs.py`` fails when it differs from ``table(name)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from alertbridge import vendors
from alertbridge.vendors.registry import MAPPINGS

VENDORS = Path(vendors.__file__).parent
BEGIN = "<!-- generated: severity -->"
END = "<!-- /generated -->"
SECTION = re.compile(re.escape(BEGIN) + r"\n.*?" + re.escape(END), re.S)

# What the keys of a mapping's SEVERITY are, as the table's first column says it.
KEY_LABELS = {
    "kapacitor": "`level`",
    "threatstack": "`severity` (1 = highest)",
    "heroku": "`resource`",
    "uptrends": "`alert.type` (any case)",
    "stathat": "kind (every delivery is one `alert`)",
}
_KEY_PARTS = {"{app}": "data.app.id", "{dyno}": "data.name", "{event}": "event id"}


def readme(name: str) -> Path:
    return VENDORS / name / "README.md"


def _text(value: Any) -> str:
    return str(value.value if isinstance(value, Enum) else value)


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _key(template: str) -> str:
    for part, field in _KEY_PARTS.items():
        template = template.replace(part, f"<{field}>")
    return f"`{template}`"


def table(name: str) -> str:
    """The markdown table of source ``name``, from its mapping's ``SEVERITY``/``ACTIONS``/``LIFECYCLE``."""
    mapping = MAPPINGS[name]
    severity: Mapping[Any, Any] = getattr(mapping, "SEVERITY")  # noqa: B009  (not in the VendorMapping protocol)
    actions: Mapping[Any, Any] = getattr(mapping, "ACTIONS", {})
    lifecycle: Mapping[str, Any] = getattr(mapping, "LIFECYCLE", {})
    label = KEY_LABELS.get(name, "vendor value")
    if lifecycle:
        lines = [_row(label, "severity", "problem (trigger)", "recovery (resolve)", "dedup key")]
        lines.append("|---|---|---|---|---|")
        for key, level in severity.items():
            rule = lifecycle.get(key)
            if rule is None:
                lines.append(_row(f"`{key}`", _text(level), "every event", "none", _key("{event}")))
                continue
            problem = f"`data.{rule.field}` = `{rule.problem}`"
            recovery = (
                f"`data.{rule.field}` = `{rule.recovery}`" if rule.recovery else "none (resolve by hand)"
            )
            lines.append(_row(f"`{key}`", _text(level), problem, recovery, _key(rule.key)))
        return "\n".join(lines)
    lines = [_row(label, "action", "severity"), "|---|---|---|"]
    for key, level in severity.items():
        action = _text(actions[key]) if key in actions else "trigger"
        lines.append(_row(f"`{key}`", action, _text(level)))
    return "\n".join(lines)


def section(name: str) -> str:
    """The generated section of ``name``'s README as it is now; exits when it has no markers."""
    match = SECTION.search(readme(name).read_text())
    if match is None:
        raise SystemExit(f"{readme(name)}: no {BEGIN} ... {END} section")
    return match.group(0)


def render(name: str) -> str:
    return f"{BEGIN}\n{table(name)}\n{END}"


def main() -> None:
    for name in vendors.SOURCES:
        path = readme(name)
        text = path.read_text()
        match = SECTION.search(text)
        if match is None:
            raise SystemExit(f"{path}: no {BEGIN} ... {END} section")
        start, end = match.span()
        new = text[:start] + render(name) + text[end:]
        if new != text:
            path.write_text(new)
            print(f"wrote {path.relative_to(VENDORS.parents[3])}")


if __name__ == "__main__":
    main()
