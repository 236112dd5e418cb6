"""Declarative schemas of the four input tables (residents, communities, services, interactions).

A schema is data: each column states its kind, whether it must be present, whether it may be empty,
and its allowed values or range. :mod:`features.validation` checks frames against these specs, and
the README's data-contract section is written from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal

from features.columns import Columns as C
from features.columns import Vocab

#: Longest id (resident, service, community, request...) accepted anywhere: by the loaders and by the API.
MAX_ID_LENGTH: Final = 64
#: Longest free-text comment of an interaction, in characters (loaders and API).
MAX_COMMENT_LENGTH: Final = 500
#: Longest service description, in characters.
MAX_DESCRIPTION_LENGTH: Final = 2000
#: The one event that carries a rating, and always does.
RATED_EVENT: Final = "rate"
#: Earliest event time accepted (local time): older rows are strays (a zero Unix time, a default date).
EARLIEST_EVENT: Final = datetime(1990, 1, 1)
#: How far after the clock an event may be dated: the clock skew allowed between a platform and Linli.
CLOCK_SKEW: Final = timedelta(minutes=10)


def rating_problem(event: str, rating: float | None) -> str | None:
    """Why an interaction's ``rating`` does not fit its ``event``, or ``None`` when it does.

    The rule of the loaders (:mod:`features.validation`) and of the API's feedback events alike: a ``rate``
    event needs a rating, and no other event carries one. A NaN rating counts as missing.

    Parameters
    ----------
    event : str
        The event name.
    rating : float or None
        The rating, if any.

    Returns
    -------
    str or None
        The sentence to show the user, or ``None``.
    """
    missing = rating is None or rating != rating  # NaN is missing
    if event == RATED_EVENT and missing:
        return f"a '{RATED_EVENT}' event needs a rating from 1 to 5"
    if event != RATED_EVENT and not missing:
        return f"only '{RATED_EVENT}' events carry a rating; remove it from this '{event}' event"
    return None


def timestamp_problem(moment: datetime, now: datetime) -> str | None:
    """Why an event time is out of bounds, or ``None``: after ``now`` plus :data:`CLOCK_SKEW`, or before
    :data:`EARLIEST_EVENT`. Both naive local times (Asia/Shanghai), as the data contract stores them."""
    if moment > now + CLOCK_SKEW:
        return f"dated {moment.isoformat(sep=' ')}, after the clock ({now:%Y-%m-%d %H:%M}) plus {CLOCK_SKEW}"
    if moment < EARLIEST_EVENT:
        return f"dated {moment.isoformat(sep=' ')}, before {EARLIEST_EVENT:%Y-%m-%d}"
    return None


Kind = Literal["id", "str", "int", "float", "bool", "category", "datetime"]


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a table contract.

    Parameters
    ----------
    name : str
        Column name (see :class:`features.Columns`).
    kind : {"id", "str", "int", "float", "bool", "category", "datetime"}
        Logical type; ``id`` is a non-empty string key.
    required : bool
        Whether the column must be present in the source. Optional columns are added as empty.
    nullable : bool
        Whether a cell may be empty.
    choices : tuple of str, optional
        Allowed values of a ``category`` column.
    low, high : float, optional
        Inclusive bounds of a numeric column.
    max_length : int, optional
        Longest text allowed; ``id`` columns default to :data:`MAX_ID_LENGTH`.
    description : str
        What the column means, for error messages and the README.
    """

    name: str
    kind: Kind
    required: bool = True
    nullable: bool = False
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    description: str = ""
    max_length: int | None = None

    @property
    def length_limit(self) -> int | None:
        """Longest text allowed in this column (ids: :data:`MAX_ID_LENGTH`), or ``None``."""
        return self.max_length if self.max_length is not None else MAX_ID_LENGTH if self.kind == "id" else None


@dataclass(frozen=True)
class ForeignKey:
    """A column whose values must exist in another table's key column."""

    column: str
    table: str
    target: str


@dataclass(frozen=True)
class TableSpec:
    """The contract of one table: its columns, its unique key and its references."""

    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        """Names of all columns in contract order."""
        return [c.name for c in self.columns]


RESIDENTS = TableSpec(
    name="residents",
    key=(C.RESIDENT,),
    foreign_keys=(ForeignKey(C.COMMUNITY, "communities", C.COMMUNITY),),
    columns=(
        ColumnSpec(C.RESIDENT, "id", description="pseudonymous resident key (no names or ID numbers)"),
        ColumnSpec(C.COMMUNITY, "id", description="community the resident lives in"),
        ColumnSpec(C.BIRTH_YEAR, "int", nullable=True, low=1900, high=2030, description="year of birth"),
        ColumnSpec(C.HOUSEHOLD_SIZE, "int", nullable=True, low=1, high=20, description="people in household"),
        ColumnSpec(C.CHILDREN, "int", nullable=True, low=0, high=15, description="children under 18 at home"),
        ColumnSpec(C.EMPLOYMENT, "category", nullable=True, choices=Vocab.EMPLOYMENT),
        ColumnSpec(C.RESIDENCY, "category", nullable=True, choices=Vocab.RESIDENCY,
                   description="registered (户籍) or floating (流动人口)"),
        ColumnSpec(C.MONTHS_RESIDENT, "int", required=False, nullable=True, low=0, high=1500,
                   description="months living in this community"),
        ColumnSpec(C.ACCESSIBILITY, "category", required=False, nullable=True, choices=Vocab.ACCESSIBILITY),
        ColumnSpec(C.PREFERRED_CHANNEL, "category", required=False, nullable=True, choices=Vocab.CHANNEL),
        ColumnSpec(C.WORK_DISTRICT, "str", required=False, nullable=True,
                   description="district of the workplace, for commuters"),
        ColumnSpec(C.DEPARTURE_HOUR, "int", required=False, nullable=True, low=0, high=23,
                   description="usual hour of leaving for work"),
    ),
)

COMMUNITIES = TableSpec(
    name="communities",
    key=(C.COMMUNITY,),
    columns=(
        ColumnSpec(C.COMMUNITY, "id"),
        ColumnSpec(C.COMMUNITY_NAME, "str", description="community name (Chinese)"),
        ColumnSpec(C.STREET, "id"),
        ColumnSpec(C.STREET_NAME, "str", required=False, nullable=True),
        ColumnSpec(C.DISTRICT, "id"),
        ColumnSpec(C.DISTRICT_NAME, "str", required=False, nullable=True),
        ColumnSpec(C.COMMUNITY_KIND, "category", required=False, nullable=True, choices=Vocab.COMMUNITY_KINDS,
                   description="declared kind, if the source knows it"),
        ColumnSpec(C.LATITUDE, "float", required=False, nullable=True, low=-90, high=90),
        ColumnSpec(C.LONGITUDE, "float", required=False, nullable=True, low=-180, high=180),
    ),
)

SERVICES = TableSpec(
    name="services",
    key=(C.SERVICE,),
    columns=(
        ColumnSpec(C.SERVICE, "id"),
        ColumnSpec(C.CATEGORY, "str", description="service category, e.g. elderly_care"),
        ColumnSpec(C.NAME_ZH, "str", description="Chinese name"),
        ColumnSpec(C.NAME_EN, "str", required=False, nullable=True, description="English name"),
        ColumnSpec(C.PROVIDER, "str", required=False, nullable=True),
        ColumnSpec(C.CHANNEL, "category", choices=Vocab.CHANNEL),
        ColumnSpec(C.MIN_AGE, "int", required=False, nullable=True, low=0, high=120),
        ColumnSpec(C.MAX_AGE, "int", required=False, nullable=True, low=0, high=120),
        ColumnSpec(C.REQUIRES_CHILDREN, "bool", required=False, nullable=True),
        ColumnSpec(C.RESIDENCY_REQUIRED, "category", required=False, nullable=True,
                   choices=Vocab.RESIDENCY_REQUIRED),
        ColumnSpec(C.ACCESSIBLE, "bool", required=False, nullable=True,
                   description="usable by residents with accessibility needs"),
        ColumnSpec(C.OPENING_HOURS, "str", required=False, nullable=True, description="e.g. 08:00-17:00"),
        ColumnSpec(C.COMMUNITY_SCOPE, "str", required=False, nullable=True,
                   description="';'-separated community ids offering it; empty = everywhere"),
        ColumnSpec(C.COST, "float", required=False, nullable=True, low=0, high=100_000),
        ColumnSpec(C.ONE_OFF, "bool", required=False, nullable=True,
                   description="used once (e.g. a permit), so not recommended again after use"),
        ColumnSpec(C.DESCRIPTION, "str", required=False, nullable=True, max_length=MAX_DESCRIPTION_LENGTH,
                   description="what the service offers, in plain words (free-text requests are matched on it)"),
    ),
)

INTERACTIONS = TableSpec(
    name="interactions",
    foreign_keys=(
        ForeignKey(C.RESIDENT, "residents", C.RESIDENT),
        ForeignKey(C.SERVICE, "services", C.SERVICE),
    ),
    columns=(
        ColumnSpec(C.RESIDENT, "id"),
        ColumnSpec(C.SERVICE, "id"),
        ColumnSpec(C.TIMESTAMP, "datetime", description="local time (Asia/Shanghai) of the event"),
        ColumnSpec(C.EVENT, "category", choices=Vocab.EVENTS),
        ColumnSpec(C.RATING, "float", required=False, nullable=True, low=1, high=5),
        ColumnSpec(C.CHANNEL, "category", required=False, nullable=True, choices=Vocab.EVENT_CHANNEL),
        ColumnSpec(C.COMMENT, "str", required=False, nullable=True, max_length=MAX_COMMENT_LENGTH),
    ),
)

#: All table contracts, in the order they are validated (referenced tables first).
TABLES: dict[str, TableSpec] = {t.name: t for t in (COMMUNITIES, RESIDENTS, SERVICES, INTERACTIONS)}
