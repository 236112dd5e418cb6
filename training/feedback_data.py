"""Feedback as training data: the feedback store's served lists and events become interactions for the next retrain.

Events are taken as they are (they already come in the interactions contract). A served service that got no
event at all becomes an ``impression`` at the time its list was served, so impressions without clicks enter the
data: a recommender counts an impression with weight 0 and the ranker labels such a candidate 0 (a weak
negative: shown and passed over). Rows dated at or after the stated "now" (default: the clock plus a small skew) or
before 1990 are dropped, counted and warned about (:mod:`features.time_bounds`): one platform call dated 2099
must not move the next retrain's windows. Rows naming a resident or service the dataset does not know are dropped and
counted; rows already present in the dataset (same resident, service, timestamp and event) are not added twice.

Residents' free-text requests (``FeedbackStore.requests()``) join as intent events
(:func:`training.request_data.request_interactions`): one :data:`features.event_weights.REQUEST_EVENT` per request of
a named resident on the service offered first.

``training`` never imports ``serving``: callers pass the frames of ``FeedbackStore.served()``,
``FeedbackStore.events()`` and ``FeedbackStore.requests()`` (see :class:`FeedbackLog`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final

import pandas as pd

from features.columns import Columns as C
from features.dataset import Dataset
from features.time_bounds import in_time, warn_out_of_time
from training.online_metrics import REQUEST_ID, SERVED_AT, require_columns
from training.request_data import request_interactions

#: The interactions contract columns a feedback row keeps.
CONTRACT: Final = (C.RESIDENT, C.SERVICE, C.TIMESTAMP, C.EVENT, C.RATING, C.CHANNEL, C.COMMENT)
_KEY: Final = [C.RESIDENT, C.SERVICE, C.TIMESTAMP, C.EVENT]
_SERVED_NEEDS: Final = (REQUEST_ID, C.RESIDENT, SERVED_AT, C.SERVICE)
_EVENT_NEEDS: Final = (REQUEST_ID, *CONTRACT)


@dataclass(frozen=True)
class FeedbackLog:
    """What the feedback store holds: ``served`` (one row per served item), ``events`` (feedback events) and
    ``requests`` (free-text requests; ``None`` when not read).

    Build it from a store with ``FeedbackLog(store.served(), store.events(), store.requests())``.
    """

    served: pd.DataFrame
    events: pd.DataFrame
    requests: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        require_columns(self.served, _SERVED_NEEDS, "served")
        require_columns(self.events, _EVENT_NEEDS, "events")

    @property
    def empty(self) -> bool:
        """Whether nothing was served, no event arrived and no request was made."""
        return self.served.empty and self.events.empty and (self.requests is None or self.requests.empty)


@dataclass(frozen=True)
class FeedbackMerge:
    """Counts of one merge of feedback into a dataset (all logged on the training run)."""

    events: int
    impressions_added: int
    out_of_time_rows: int
    unknown_resident_rows: int
    unknown_service_rows: int
    duplicate_rows: int
    added: int
    request_events: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def feedback_interactions(log: FeedbackLog) -> tuple[pd.DataFrame, int]:
    """Feedback as interactions: every event, an intent event per request of a named resident that offered a
    service, and an ``impression`` for every served item without any event.

    Returns
    -------
    tuple of (pandas.DataFrame, int)
        The interactions (contract columns, sorted by timestamp) and how many impressions were added.
    """
    events = log.events[list(CONTRACT)].copy()
    for name in (C.RESIDENT, C.SERVICE):
        events[name] = events[name].astype("string")
    served = log.served.drop_duplicates([REQUEST_ID, C.SERVICE])
    reacted = pd.MultiIndex.from_arrays([log.events[REQUEST_ID].astype("string"),
                                         log.events[C.SERVICE].astype("string")])
    keys = pd.MultiIndex.from_arrays([served[REQUEST_ID].astype("string"), served[C.SERVICE].astype("string")])
    silent = served[~keys.isin(reacted)]
    impressions = pd.DataFrame({
        C.RESIDENT: silent[C.RESIDENT].astype("string").to_numpy(), C.SERVICE: silent[C.SERVICE].astype("string")
        .to_numpy(), C.TIMESTAMP: pd.to_datetime(silent[SERVED_AT]).to_numpy(), C.EVENT: "impression",
        C.RATING: float("nan"), C.CHANNEL: "online", C.COMMENT: None})
    asked = (request_interactions(log.requests)[list(CONTRACT)] if log.requests is not None
             else pd.DataFrame(columns=list(CONTRACT)))
    parts = [frame for frame in (events, asked, impressions) if len(frame)]
    if not parts:
        return pd.DataFrame(columns=list(CONTRACT)), 0
    frame = pd.concat([p.astype({C.EVENT: "string", C.CHANNEL: "string"}) for p in parts], ignore_index=True)
    return frame.sort_values(C.TIMESTAMP, kind="stable").reset_index(drop=True), len(impressions)


def merge_feedback(dataset: Dataset, log: FeedbackLog,
                   now: pd.Timestamp | datetime | str | None = None) -> tuple[Dataset, FeedbackMerge]:
    """A new validated dataset: ``dataset`` plus the feedback of ``log`` as interactions.

    Parameters
    ----------
    dataset : Dataset
        The history (residents, services and interactions from the platform's sources).
    log : FeedbackLog
        Served lists and feedback events from the feedback store.
    now : timestamp, optional
        End of the history (exclusive, local time); default the clock plus a small skew. Rows at or after it,
        or before 1990, are dropped and counted (``out_of_time_rows``).

    Returns
    -------
    tuple of (Dataset, FeedbackMerge)
        The merged dataset (validated like any source; a bad feedback row raises
        :class:`features.errors.DataValidationError` naming it) and the counts of what was added or dropped.
    """
    rows, impressions = feedback_interactions(log)
    timely = in_time(rows[C.TIMESTAMP], now)
    warn_out_of_time(int((~timely).sum()), "feedback row", now)
    rows = rows[timely]
    known_resident = rows[C.RESIDENT].isin(dataset.resident_ids.external).to_numpy(dtype=bool)
    known_service = rows[C.SERVICE].isin(dataset.service_ids.external).to_numpy(dtype=bool)
    rows = rows[known_resident & known_service]
    history = _as_raw(dataset.interactions)  # once: it is the whole history
    new, duplicates = _new_rows(history, _as_raw(rows))
    asked = 0 if log.requests is None else len(request_interactions(log.requests))
    counts = FeedbackMerge(events=len(log.events), impressions_added=impressions, request_events=asked,
                           out_of_time_rows=int((~timely).sum()),
                           unknown_resident_rows=int((~known_resident).sum()),
                           unknown_service_rows=int((known_resident & ~known_service).sum()),
                           duplicate_rows=duplicates, added=len(new))
    if new.empty:
        return dataset, counts
    combined = pd.concat([history, new], ignore_index=True)
    merged = Dataset.from_frames(dataset.residents, dataset.communities, dataset.services, combined,
                                 sources={"interactions": "interactions + feedback store"})
    return merged, counts


def _new_rows(history: pd.DataFrame, rows: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``rows`` not already in ``history`` (nor repeated among themselves), and how many were dropped so; both
    frames as :func:`_as_raw` makes them."""
    if rows.empty:
        return rows, 0
    unique = rows.drop_duplicates(_KEY)
    present = pd.MultiIndex.from_frame(history[_KEY])
    keys = pd.MultiIndex.from_frame(unique[_KEY])
    new = unique[~keys.isin(present)]
    return new.reset_index(drop=True), len(rows) - len(new)


def _as_raw(frame: pd.DataFrame) -> pd.DataFrame:
    """Contract columns with plain dtypes (strings, datetimes, floats), so history and feedback concatenate."""
    out = pd.DataFrame({name: frame[name] for name in CONTRACT})
    for name in (C.RESIDENT, C.SERVICE, C.EVENT, C.CHANNEL, C.COMMENT):
        out[name] = out[name].astype("object").where(out[name].notna(), None)
    out[C.TIMESTAMP] = pd.to_datetime(out[C.TIMESTAMP]).astype("datetime64[ns]")
    out[C.RATING] = pd.to_numeric(out[C.RATING]).astype("float64")
    return out


__all__ = ["FeedbackLog", "FeedbackMerge", "feedback_interactions", "merge_feedback"]
