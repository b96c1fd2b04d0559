"""Every vendor README's "Severity and lifecycle" section is what ``vendor_docs.table`` generates from
the mapping's data: edit the mapping, then ``make vendor-docs``; never edit the section by hand."""

from __future__ import annotations

import pytest
from alertbridge import vendors
from alertbridge_tools import vendor_docs


@pytest.mark.parametrize("name", vendors.SOURCES)
def test_the_generated_section_matches_the_mapping(name: str) -> None:
    assert vendor_docs.section(name) == vendor_docs.render(name), (
        f"{vendor_docs.readme(name)}: the severity section differs from the mapping; run `make vendor-docs`"
    )


def test_the_table_names_every_severity_key() -> None:
    from alertbridge.vendors.registry import MAPPINGS

    for name in vendors.SOURCES:
        table = vendor_docs.table(name)
        for key in MAPPINGS[name].SEVERITY:  # type: ignore[attr-defined]
            assert f"| `{key}` |" in table, (name, key)
