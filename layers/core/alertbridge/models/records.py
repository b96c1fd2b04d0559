"""What alertbridge keeps in DynamoDB of services and alert sources (deliveries are in
``models.delivery``; the incidents in ``models.incident``, which the ingest functions never import).

These are plain pydantic models; ``alertbridge.store`` maps them to items and keys. A model the
ingest functions do not use builds its validator on first use (``defer_build``), not at import.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from alertbridge.models.parts import Severity

RecoveryPolicy = Literal["resolve", "monitor"]
# Source kinds whose incidents do not affect the public status unless an operator says so: an
# intrusion alert is not an outage (PRODUCT §5; issue 18).
STATUS_SILENT_KINDS = frozenset({"threatstack"})
MIN_EXPECT_EVERY = 30  # seconds; the checker runs every minute on AWS, every 5 s locally
MAX_EXPECT_EVERY = 7 * 24 * 3600
MIN_RESOLVE_AFTER_QUIET = 60
MAX_RESOLVE_AFTER_QUIET = 30 * 24 * 3600


class SourceSettings(BaseModel):
    """Per-source settings an operator can change (``alertbridge sources ...``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    recovery_policy: RecoveryPolicy = "resolve"
    severity_filter: tuple[int, ...] | None = None  # Threat Stack: severities that open incidents
    secret: str | None = Field(default=None, repr=False)  # Heroku HMAC secret: never logged nor returned
    # Silence: when nothing (no delivery, no heartbeat) arrived for this many seconds, one incident
    # of source ``alertbridge`` opens at this severity; off when None (``heartbeats``).
    expect_every: int | None = Field(default=None, ge=MIN_EXPECT_EVERY, le=MAX_EXPECT_EVERY)
    silence_severity: Severity = Severity.HIGH
    # An open incident of this source with no new alert for this many seconds is resolved by
    # timeout; off when None.
    resolve_after_quiet: int | None = Field(
        default=None, ge=MIN_RESOLVE_AFTER_QUIET, le=MAX_RESOLVE_AFTER_QUIET
    )


class Service(BaseModel):
    """A service. What the public status page shows of it is the operator's choice: nothing until
    ``public`` is set; then ``public_name`` (else ``name``), ``public_description``, in ``order``,
    and its incidents' vendor titles only with ``show_titles``."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str
    name: str
    created_at: datetime
    public: bool = False
    public_name: str | None = None
    public_description: str | None = None
    order: int = 0
    show_titles: bool = False

    @property
    def shown_name(self) -> str:
        return self.public_name or self.name


class Source(BaseModel):
    """An alert source: one vendor integration of one service, with its own webhook token."""

    model_config = ConfigDict(frozen=True)

    id: str
    service_id: str
    source: str
    settings: SourceSettings = Field(default_factory=SourceSettings)
    token_hash: str  # sha256 of the token; the token itself is never stored
    created_at: datetime
    token_rotated_at: datetime | None = None
    # Whether its incidents affect the public status; None: the kind's default (STATUS_SILENT_KINDS).
    # A top-level attribute so that the status page reads it, and nothing else of the source.
    affects_status: bool | None = None

    @property
    def counts_on_status(self) -> bool:
        return counts_on_status(self.source, self.affects_status)


def counts_on_status(kind: str, affects_status: bool | None) -> bool:
    """Whether a source's incidents affect the public status: its setting, else its kind's default."""
    return kind not in STATUS_SILENT_KINDS if affects_status is None else affects_status


# --- the public status page ------------------------------------------------------------------------
PublicPhase = Literal["investigating", "identified", "monitoring", "resolved"]
HISTORY_HOURS_MAX = 720  # resolved incidents shown for at most 30 days


class StatusPageSettings(BaseModel):
    """The status page's own settings (``alertbridge status-page set``): one item."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    title: str = "System status"
    logo_text: str | None = None
    history_hours: int = Field(default=24, ge=0, le=HISTORY_HOURS_MAX)  # 0: no resolved history


class PublicUpdate(BaseModel):
    """What an operator told visitors about an incident (``alertbridge incidents update``)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    message: str
    at: datetime
    phase: PublicPhase | None = None  # the phase it set, if any
    by: str  # who posted it (operators see it; visitors never do)
