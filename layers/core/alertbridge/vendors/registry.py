"""Every mapping by source name, for the management function (test alerts, replays of any source).

Imported only through ``vendors.module``: an ingest function imports its own mapping and never this.
"""

from __future__ import annotations

from alertbridge.vendors import heroku, kapacitor, stathat, threatstack, uptrends
from alertbridge.vendors.base import VendorMapping

MAPPINGS: dict[str, VendorMapping] = {m.NAME: m for m in (kapacitor, threatstack, heroku, uptrends, stathat)}
