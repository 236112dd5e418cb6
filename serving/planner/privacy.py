"""Which differential-privacy release the planner endpoints serve (see :mod:`privacy.dp`, docs/privacy.md).

The bundle's planner tables carry their release (``SegmentReport.privacy``: ε, per-table ε and scale). A server
with ``LINLI_PLANNER_EPSILON`` set serves only tables built under differential privacy: a bundle built without it
gets 503 rather than exact counts (fail closed), whatever ε the bundle's tables were built at.
"""

from __future__ import annotations

from fastapi import HTTPException, status

from privacy.dp import EPSILON_SETTING, PlannerPrivacyError, configured_epsilon
from profiling.reports import SegmentReport

#: What the page says under a release, Chinese first.
NOTE = (
    "差分隐私：每个数都加了拉普拉斯随机噪声，任何一位居民在或不在数据里，结果几乎不变；街道、区的数是其社区之和。"
    " · Differential privacy: every count carries Laplace noise, so whether any one resident is in the data "
    "barely changes what is shown; street and district counts are the sums of their communities."
)
#: Why residents' requests are not shown under a release.
REQUESTS_WITHHELD = (
    "差分隐私模式下不显示居民诉求：一位居民可提出任意多条诉求，无法为其加噪设定敏感度 · "
    "Residents' requests are not shown in differential-privacy mode: a resident may file any "
    "number of requests, so their counts have no sensitivity bound to calibrate noise to"
)


def served_epsilon(report: SegmentReport) -> float | None:
    """ε of the tables served (``None``: exact counts, differential privacy off).

    Raises
    ------
    fastapi.HTTPException
        503 when this server asks for differential privacy (or its setting is invalid) and the bundle's tables
        were built without it.
    """
    release = getattr(report, "privacy", None)
    try:
        wanted = configured_epsilon()
    except PlannerPrivacyError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    if release is None:
        if wanted is not None:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"{EPSILON_SETTING} is set, but the serving model's planner tables were built "
                f"without differential privacy; retrain with {EPSILON_SETTING} set",
            )
        return None
    return float(release["epsilon"])


def segment_totals(report: SegmentReport) -> dict[str, int] | None:
    """Noisy residents per segment over the whole dataset (the districts' sums), or ``None`` without a release."""
    release = getattr(report, "privacy", None)
    return None if release is None else {str(k): int(v) for k, v in release["segment_totals"].items()}
