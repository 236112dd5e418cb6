"""Learned resident segments: KMeans on standardised behavioural features, described in words.

The number of segments is chosen by silhouette (or the BIC of a spherical Gaussian mixture) over a range
of k, computed on a seeded sample for speed; the final model is fitted on all active residents. Residents
with fewer than ``min_events`` events have no behaviour to cluster and form their own last segment.
Segment ids are renumbered by size (largest first), so a re-run with the same seed gives the same ids.

KMeans runs single-threaded: on small, quick fits OpenMP's thread start-up and synchronisation cost more
than they save (the timings are in ``docs/profiling.md``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.exceptions import NotFittedError
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from features.columns import Vocab
from profiling.config import SegmentConfig

#: Behavioural features clustered when the config names none.
DEFAULT_SEGMENT_FEATURES: tuple[str, ...] = (
    *(f"share_{c}" for c in Vocab.SERVICE_CATEGORIES),
    "weekday_peak_share", "weekend_share", "daytime_share", "evening_share", "offline_event_share",
    "log_events_per_month",
)

_CATEGORY_ZH = {
    "elderly_care": "养老", "health": "健康医疗", "childcare": "托育", "employment": "就业",
    "administration": "政务", "convenience": "便民", "culture_sports": "文体", "volunteering": "志愿",
    "accessibility": "无障碍", "legal_social": "法律社工", "youth_study": "青少年学习",
}
_CATEGORY_EN = {c: c.replace("_", "-") for c in Vocab.SERVICE_CATEGORIES}

#: feature → (high zh, high en, low zh, low en)
PHRASES: dict[str, tuple[str, str, str, str]] = {
    **{f"share_{c}": (f"常用{_CATEGORY_ZH[c]}服务", f"often uses {_CATEGORY_EN[c]} services",
                      f"少用{_CATEGORY_ZH[c]}服务", f"rarely uses {_CATEGORY_EN[c]} services")
       for c in Vocab.SERVICE_CATEGORIES},
    "weekday_peak_share": ("多在工作日早晚高峰活动", "active at weekday peaks",
                           "少在工作日高峰活动", "rarely active at weekday peaks"),
    "weekend_share": ("多在周末活动", "active at weekends", "少在周末活动", "rarely active at weekends"),
    "daytime_share": ("多在白天活动", "active in the daytime",
                      "少在白天活动", "rarely active in the daytime"),
    "evening_share": ("多在晚间活动", "active in the evening",
                      "少在晚间活动", "rarely active in the evening"),
    "offline_event_share": ("偏好线下办理", "prefers offline services",
                            "偏好线上办理", "prefers online services"),
    "log_events_per_month": ("使用频繁", "frequent user", "使用较少", "infrequent user"),
}
INACTIVE_DESCRIPTION = ("几乎没有活动记录", "little or no recorded activity")


class SegmentModel:
    """Cluster residents into behavioural segments and describe each in Chinese and English.

    Parameters
    ----------
    config : SegmentConfig, optional
        Features, k range, criterion, sample size; defaults to the schema defaults.
    seed : int, default 0
        Seed of the sample and of KMeans; the same seed gives the same segments.

    Attributes
    ----------
    n_segments_ : int
        Number of segments, including the inactive one when any resident is inactive.
    scores_ : dict of int to float
        Criterion per candidate k (silhouette: higher is better; BIC: lower is better).
    labels_ : pandas.Series
        Segment id per resident of the frame given to :meth:`fit`.
    descriptions_ : pandas.DataFrame
        One row per segment: ``residents``, ``description_zh``, ``description_en``, ``top_features``.
    """

    def __init__(self, config: SegmentConfig | None = None, seed: int = 0) -> None:
        self.config = config
        self.seed = seed

    def fit(self, features: pd.DataFrame) -> SegmentModel:
        """Choose k, cluster the active residents and describe the segments; return ``self``."""
        with threadpool_limits(limits=1, user_api="openmp"):
            return self._fit(features)

    def _fit(self, features: pd.DataFrame) -> SegmentModel:
        cfg = self.config or SegmentConfig()
        self.feature_names_ = list(cfg.features or DEFAULT_SEGMENT_FEATURES)
        matrix, active = self._matrix(features, cfg)
        values = matrix[active]
        self.mean_ = values.mean(axis=0) if len(values) else np.zeros(matrix.shape[1])
        scale = values.std(axis=0) if len(values) else np.ones(matrix.shape[1])
        self.scale_ = np.where(scale > 1e-9, scale, 1.0)
        z = (values - self.mean_) / self.scale_
        k, self.scores_, init = self._choose_k(z, cfg)
        self._kmeans = None
        if k:  # refine the sample's centres on all active residents
            self._kmeans = KMeans(n_clusters=k, init=init, n_init=1, max_iter=100,
                                  random_state=self.seed).fit(z)
        raw = self._kmeans.labels_ if self._kmeans is not None else np.zeros(0, dtype=int)
        sizes = np.bincount(raw, minlength=k)
        order = np.lexsort((np.arange(k), -sizes))  # largest first; ties by KMeans id (seeded)
        self._relabel = np.empty(k, dtype=int)
        self._relabel[order] = np.arange(k)
        self.inactive_segment_ = k if (~active).any() else None
        labels = np.full(len(features), k, dtype=int)
        labels[active] = self._relabel[raw]
        self.n_segments_ = k + (self.inactive_segment_ is not None)
        self.labels_ = pd.Series(labels, index=features.index, name="segment")
        centres = np.zeros((k, z.shape[1]))
        if self._kmeans is not None:  # k > 0
            centres[self._relabel] = self._kmeans.cluster_centers_
        self.centres_ = centres
        self.descriptions_ = self._describe(centres, np.bincount(labels, minlength=self.n_segments_), cfg)
        return self

    def predict(self, features: pd.DataFrame) -> pd.Series:
        """Segment id of each resident in ``features`` (inactive residents get the inactive segment)."""
        if not hasattr(self, "labels_"):
            raise NotFittedError("SegmentModel is not fitted; call fit(features) first")
        cfg = self.config or SegmentConfig()
        matrix, active = self._matrix(features, cfg)
        k = len(self.centres_)
        labels = np.full(len(features), k, dtype=int)
        if self._kmeans is not None and active.any():  # fitted with k > 0 segments
            with threadpool_limits(limits=1, user_api="openmp"):
                raw = self._kmeans.predict((matrix[active] - self.mean_) / self.scale_)
            labels[active] = self._relabel[raw]
        return pd.Series(labels, index=features.index, name="segment")

    def _matrix(self, features: pd.DataFrame, cfg: SegmentConfig) -> tuple[np.ndarray, np.ndarray]:
        columns = []
        for name in self.feature_names_:
            if name == "log_events_per_month" and name not in features:
                source = features.get("events_per_month", pd.Series(np.nan, index=features.index))
                columns.append(np.log1p(pd.to_numeric(source).to_numpy(dtype=float, na_value=np.nan)))
            elif name in features:
                columns.append(pd.to_numeric(features[name]).to_numpy(dtype=float, na_value=np.nan))
            else:
                columns.append(np.zeros(len(features)))
        matrix = np.column_stack(columns) if columns else np.zeros((len(features), 0))
        events = features["n_events"].to_numpy(dtype=float, na_value=0.0) if "n_events" in features \
            else np.zeros(len(features))
        active = (events >= max(cfg.min_events, 1)) & (len(features) > 0)
        return np.nan_to_num(matrix, nan=0.0), active

    def _choose_k(self, z: np.ndarray, cfg: SegmentConfig) -> tuple[int, dict[int, float], np.ndarray]:
        """Best k on a seeded sample, its score per k, and the sample's centres for that k."""
        n = len(z)
        if n < 2:
            return n, {}, z.copy()
        high = min(cfg.max_segments, n - 1)
        candidates = list(range(min(cfg.min_segments, high), high + 1))
        rng = np.random.default_rng(self.seed)
        sample = z[np.sort(rng.choice(n, size=min(n, cfg.sample_size), replace=False))]
        scores: dict[int, float] = {}
        centres: dict[int, np.ndarray] = {}
        for k in candidates:
            kmeans = KMeans(n_clusters=k, n_init=cfg.n_init, random_state=self.seed).fit(sample)
            centres[k] = kmeans.cluster_centers_
            if len(candidates) == 1:
                break
            if cfg.criterion == "bic":
                mixture = GaussianMixture(k, covariance_type="diag", means_init=centres[k],
                                          random_state=self.seed).fit(sample)
                scores[k] = float(mixture.bic(sample))
            else:
                labels = kmeans.labels_
                scores[k] = float(silhouette_score(sample, labels)) if len(set(labels)) > 1 else -1.0
        if not scores:
            return candidates[0], scores, centres[candidates[0]]
        best = (min if cfg.criterion == "bic" else max)(scores, key=lambda k: scores[k])
        return best, scores, centres[best]

    def _describe(self, centres: np.ndarray, sizes: np.ndarray, cfg: SegmentConfig) -> pd.DataFrame:
        rows = []
        for segment, centre in enumerate(centres):
            picked = _distinctive(centre, cfg.top_features, cfg.min_abs_z)
            zh, en, top = [], [], []
            for j in picked:
                name = self.feature_names_[j]
                high_zh, high_en, low_zh, low_en = PHRASES.get(name, (name + "高", f"high {name}",
                                                                      name + "低", f"low {name}"))
                zh.append(high_zh if centre[j] > 0 else low_zh)
                en.append(high_en if centre[j] > 0 else low_en)
                top.append(f"{name} z={centre[j]:+.1f}")
            rows.append({"segment": segment, "residents": int(sizes[segment]),
                         "description_zh": "；".join(zh), "description_en": "; ".join(en),
                         "top_features": ", ".join(top)})
        if self.inactive_segment_ is not None:
            rows.append({"segment": self.inactive_segment_, "residents": int(sizes[self.inactive_segment_]),
                         "description_zh": INACTIVE_DESCRIPTION[0], "description_en": INACTIVE_DESCRIPTION[1],
                         "top_features": "n_events below minimum"})
        columns = ["segment", "residents", "description_zh", "description_en", "top_features"]
        return pd.DataFrame(rows, columns=columns).set_index("segment")


def _distinctive(centre: np.ndarray, top: int, min_abs_z: float) -> list[int]:
    """Features naming a segment: its highest z-scores of at least ``min_abs_z``, at most ``top``.

    What a segment does more than others names it better than what it does less (many segments "rarely
    use childcare" because families use it so much), so low features name a segment only when it has
    no high one: then its most extreme feature does.
    """
    high = [int(j) for j in np.argsort(-centre, kind="stable") if centre[j] >= min_abs_z][:top]
    return high or [int(np.argmax(np.abs(centre)))]
