"""Short explanations of recommended services, in English and Chinese.

Each explanation names up to two reasons a resident can check (their own past use, residents of the
same persona, residents with similar habits, their community) and the ranker features that pushed
the service up most (LightGBM contributions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommenders.ranker import LambdaRanker
from recommenders.ranker_bag import RankerBag

#: Readable names of ranker features (English, Chinese), by exact name.
FEATURE_LABELS: dict[str, tuple[str, str]] = {
    "x.category_affinity": ("your interest in this category", "您对该类服务的兴趣"),
    "x.community_popularity": ("use in your community", "本社区的使用情况"),
    "x.channel_match": ("your preferred channel", "您偏好的办理渠道"),
    "x.age_match": ("your age group", "您的年龄段"),
    "svc.service_mean_rating": ("residents' ratings", "居民评价"),
}
#: Labels of the candidate generators' features (``{name}_score``, ``_rank``, ``_gap``, ``_relative``).
GENERATOR_LABELS: dict[str, tuple[str, str]] = {
    "popular": ("overall popularity", "整体热度"),
    "persona_popular": ("residents like you", "与您情况相似的居民"),
    "als": ("residents with similar habits", "习惯相似的居民"),
    "bpr": ("residents with similar habits", "习惯相似的居民"),
    "item_knn": ("services you already use", "您常用的相关服务"),
    "ease": ("services you already use", "您常用的相关服务"),
    "personal_frequency": ("services you already use", "您常用的相关服务"),
    "adoption": ("what residents like you started using lately", "与您情况相似的居民最近开始使用"),
}


def feature_label(name: str) -> tuple[str, str]:
    """A readable (English, Chinese) label for any ranker feature name."""
    if name in FEATURE_LABELS:
        return FEATURE_LABELS[name]
    for suffix in ("_score", "_rank", "_gap", "_relative"):
        if name.endswith(suffix) and name.removesuffix(suffix) in GENERATOR_LABELS:
            return GENERATOR_LABELS[name.removesuffix(suffix)]
    if name.startswith(("x.pair_", "x.repeat_")):
        return ("your past use", "您的使用记录")
    if name.startswith("svc.service_popularity") or name in ("svc.service_reach", "svc.service_n_events"):
        return ("overall popularity", "整体热度")
    if name.startswith("svc."):
        return ("what the service offers", "服务本身的特点")
    if name.startswith("x."):
        return ("how well the service fits you", "服务与您的匹配程度")
    return ("your profile", "您的个人情况")


class Explainer:
    """Turn ranker feature rows of recommended pairs into explanations.

    Parameters
    ----------
    ranker : LambdaRanker or RankerBag
        The fitted ranker (for feature contributions).
    """

    def __init__(self, ranker: LambdaRanker | RankerBag) -> None:
        self.ranker = ranker

    def explain(self, features: pd.DataFrame, services: np.ndarray, factors: np.ndarray | None = None
                ) -> pd.DataFrame:
        """One explanation per row of ``features`` (the ranker rows of the recommended pairs).

        Parameters
        ----------
        features : pandas.DataFrame
        services : ndarray of int
        factors : ndarray of bool, optional
            Rows that also name the ranker's key factors (feature contributions, the costly part); the others
            get the checkable reasons only. ``None``: every row.

        Returns
        -------
        pandas.DataFrame
            Columns ``en`` and ``zh``, aligned with ``features``.
        """
        factors = np.ones(len(features), dtype=bool) if factors is None else np.asarray(factors, dtype=bool)
        contributions = np.zeros((len(features), len(self.ranker.feature_names_)))
        if factors.any():
            contributions[factors] = self.ranker.contributions(features[factors]).to_numpy()
        labels = [feature_label(str(name)) for name in self.ranker.feature_names_]
        top = np.argsort(-contributions, axis=1, kind="stable")[:, :4]
        positive = (np.take_along_axis(contributions, top, axis=1) > 0) & factors[:, None]
        reasons = _reasons(features)
        en: list[str] = []
        zh: list[str] = []
        for i, row_reasons in enumerate(reasons):
            key_factors: list[tuple[str, str]] = []
            for j, is_positive in zip(top[i], positive[i], strict=True):
                if is_positive and labels[j] not in key_factors:
                    key_factors.append(labels[j])
            key_factors = key_factors[:2]
            en.append("; ".join([r[0] for r in row_reasons] + ([f"key factors: {', '.join(f[0] for f in key_factors)}"]
                                                                if key_factors else [])))
            zh.append("；".join([r[1] for r in row_reasons] + ([f"主要依据：{'、'.join(f[1] for f in key_factors)}"]
                                                              if key_factors else [])))
        return pd.DataFrame({"en": en, "zh": zh}, index=features.index)


def _column(features: pd.DataFrame, name: str, default: float) -> np.ndarray:
    if name not in features.columns:
        return np.full(len(features), default)
    return np.nan_to_num(features[name].to_numpy(dtype=np.float64), nan=default)


def _reasons(features: pd.DataFrame) -> list[list[tuple[str, str]]]:
    """Up to two checkable reasons per row: past use, same persona or similar habits, the community."""
    used = _column(features, "x.pair_n_events", 0.0)
    persona = _column(features, "persona_popular_rank", 99.0) <= 3
    similar = ~persona & (np.minimum.reduce([_column(features, f"{g}_rank", 99.0)
                                             for g in ("als", "item_knn", "ease")]) <= 3)
    community = (used <= 0) & ~persona & ~similar & (_column(features, "x.community_popularity", 0.0) >= 0.1)
    out: list[list[tuple[str, str]]] = []
    for i in range(len(features)):
        row: list[tuple[str, str]] = []
        if used[i] > 0:
            row.append((f"you have used it before ({int(used[i])} events)", f"您曾使用过（{int(used[i])}次记录）"))
        if persona[i]:
            row.append(("popular with residents like you", "与您情况相似的居民常用"))
        elif similar[i]:
            row.append(("residents with similar habits use it", "习惯相似的居民也在使用"))
        if community[i]:
            row.append(("widely used in your community", "本社区居民广泛使用"))
        out.append(row[:2])
    return out
