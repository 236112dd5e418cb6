"""``GET /segments?level=community|street|district&id=...``: the suppressed segment reports.

Aggregates only: every count below the report's k (default 10) reads ``"<k"``, with complementary
suppression (see :mod:`profiling.reports`); with differential privacy, noisy counts and their ε
(:mod:`serving.planner.privacy`). Planner and admin keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from features.columns import Columns as C
from serving.deps import PlannerAccess, ServedModelDep
from serving.feedback_models import MAX_ID
from serving.planner.privacy import served_epsilon
from serving.schemas import QueryText, SegmentListPublic, SegmentUnitPublic

router = APIRouter(prefix="/segments", tags=["segments"], dependencies=[PlannerAccess])
Level = Literal["community", "street", "district"]
#: Per level: its id and name columns, and its parent's.
_COLUMNS: dict[str, tuple[str, str, str | None, str | None]] = {
    "community": (C.COMMUNITY, C.COMMUNITY_NAME, C.STREET, C.STREET_NAME),
    "street": (C.STREET, C.STREET_NAME, C.DISTRICT, C.DISTRICT_NAME),
    "district": (C.DISTRICT, C.DISTRICT_NAME, None, None),
}


@router.get("", response_model=SegmentListPublic, summary="Segment reports (aggregates, small cells suppressed)",
            responses={401: {"description": "missing or unknown API key"},
                       403: {"description": "the key's role may not read reports"},
                       404: {"description": "no unit with that id at that level"},
                       503: {"description": "no model loaded yet"}})
def segments(
    served: ServedModelDep,
    level: Annotated[Level, Query(description="community, street or district")] = "district",
    unit_id: Annotated[QueryText | None, Query(alias="id", min_length=1, max_length=MAX_ID,
                                         description="only this unit of the level")] = None,
) -> SegmentListPublic:
    """Personas, segments and top service categories per unit, as of the serving model's cut-off."""
    report = served.bundle.profile.reports
    epsilon = served_epsilon(report)
    marker = f"<{report.k}"
    rows = [_unit(record, level, marker) for record in report.to_records(level)]
    if unit_id is not None:
        rows = [r for r in rows if r.id == unit_id]
        if not rows:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {level} with id {unit_id!r} in the segment report")
    return SegmentListPublic(level=level, k=report.k, model_version=served.version, data=rows, count=len(rows),
                             dp_epsilon=epsilon)


def _iterable(value: object) -> Iterable[object]:
    """``value`` as an iterable (a list column of the report); anything else is a broken report."""
    if not isinstance(value, Iterable):
        raise TypeError(f"top_categories is not a list: {value!r}")
    return value


def _unit(record: dict[str, object], level: str, marker: str) -> SegmentUnitPublic:
    unit, name, parent, parent_name = _COLUMNS[level]
    cells = {key: _cell(value) for key, value in record.items()}
    return SegmentUnitPublic(
        id=str(cells[unit]), name=_text(cells.get(name)), parent_id=_text(cells.get(parent)) if parent else None,
        parent_name=_text(cells.get(parent_name)) if parent_name else None, residents=cells["residents"],
        personas={k.removeprefix("persona_"): v for k, v in cells.items() if k.startswith("persona_")},
        persona_shares={k.removeprefix("share_"): v for k, v in cells.items() if k.startswith("share_")},
        segments={k.removeprefix("segment_"): v for k, v in cells.items() if k.startswith("segment_")},
        top_categories=[str(c) for c in _iterable(record.get("top_categories") or [])],
        suppressed=[k for k, v in cells.items() if v == marker])


def _cell(value: object) -> object:
    """Plain JSON values: numpy numbers become Python numbers, NaN becomes None."""
    if hasattr(value, "item") and not isinstance(value, list | tuple | str):
        value = value.item()  # type: ignore[union-attr]
    if isinstance(value, float) and value != value:
        return None
    return value


def _text(value: object) -> str | None:
    return None if value is None else str(value)
