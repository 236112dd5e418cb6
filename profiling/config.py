"""Profiling configuration: persona rule thresholds, segments, community typing and reports.

The defaults live in ``profiling/personas.toml``; :func:`load_config` reads that file (or another one)
into a :class:`ProfilingConfig`. Every model forbids unknown keys, so a typo in a TOML file is an error
that names the key instead of a silently ignored threshold.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from features.columns import Vocab
from features.toml_files import read_toml


class ProfilingConfigError(ValueError):
    """A profiling configuration file cannot be read or breaks the schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _employment_statuses(values: tuple[str, ...]) -> tuple[str, ...]:
    unknown = sorted(set(values) - set(Vocab.EMPLOYMENT))
    if unknown:
        raise ValueError(f"unknown employment status(es) {unknown}; valid: {list(Vocab.EMPLOYMENT)}")
    return values



class ElderlyRule(_Strict):
    """Elderly: age at least ``min_age``; when age is unknown, retired; else an elderly-care-heavy history."""

    min_age: int = Field(60, ge=0, le=120)
    retired_when_age_unknown: bool = True
    min_share_elderly_care: float = Field(0.2, ge=0, le=1)


class FamilyRule(_Strict):
    """Family with children: at least ``min_children`` children under 18; when unknown, a childcare share."""

    min_children: int = Field(1, ge=1)
    min_share_childcare: float = Field(0.15, ge=0, le=1)


class CommuterRule(_Strict):
    """Commuter: employment plus commute evidence, never a single field.

    Employed residents need one of: a share of weekday-peak events of at least ``min_weekday_peak_share``
    (only when the departure hour is missing or in ``departure_hours``: an off-peak departure says
    shift work), a departure hour in ``departure_hours``, or work in another district. Residents whose
    employment is unknown or one of ``recorded_commute_statuses`` need a recorded commute (peak departure or
    other-district work), or, with no departure hour, a weekday-peak share of at least
    ``peak_share_alone``. Retired residents and students are never commuters.

    Where commuting is not on record, peak evidence may also need a share of weekday-morning (06–09) events
    of at least ``min_weekday_morning_share`` and a share of weekday working-hours (09–17) events of at most
    ``max_weekday_work_hours_share`` (residents who work locally share the evening peak, not the day), and
    ``inactive_employed`` tags employed residents with too few events to tell (when most employed residents
    commute).
    """

    min_weekday_peak_share: float = Field(0.4, ge=0, le=1)
    min_weekday_morning_share: float = Field(0.0, ge=0, le=1)
    max_weekday_work_hours_share: float = Field(1.0, ge=0, le=1)
    inactive_employed: bool = False
    departure_hours: tuple[int, int] = (6, 9)
    recorded_commute_statuses: tuple[str, ...] = ("other", "unemployed")
    peak_share_alone: float = Field(0.85, ge=0, le=1)

    _statuses = field_validator("recorded_commute_statuses")(_employment_statuses)

    @model_validator(mode="after")
    def _ordered_hours(self) -> CommuterRule:
        low, high = self.departure_hours
        if not 0 <= low <= high <= 23:
            raise ValueError("departure_hours must be [first, last] with 0 <= first <= last <= 23")
        return self


class MigrantRule(_Strict):
    """Migrant: floating residency, or a short stay (at most ``max_months_resident`` months here).

    The short-stay rule applies when residency is unknown, and also to registered residents when
    ``short_stay_when_registered`` (recent arrivals who registered).
    """

    max_months_resident: int = Field(36, ge=0)
    short_stay_when_registered: bool = True


class AccessibilityRule(_Strict):
    """Accessibility needs: a recorded need; when unknown, an accessibility-service share."""

    min_share_accessibility: float = Field(0.25, ge=0, le=1)


class StudentRule(_Strict):
    """Student: employment ``student``; employment unknown: age in range (or unknown) and a youth/study share."""

    ages: tuple[int, int] = (15, 25)
    min_share_youth_study: float = Field(0.3, ge=0, le=1)


class JobSeekerRule(_Strict):
    """Job seeker: unemployed and younger than ``max_age``; employment unknown: an employment share.

    Where not every unemployed resident looks for work, an unemployed resident also needs at least
    ``min_share_employment_when_unemployed`` of their events in employment services; with
    ``inactive_unemployed``, those with too few events to tell and none in employment services keep the tag.
    """

    max_age: int = Field(60, ge=0, le=120)
    min_share_employment_when_unemployed: float = Field(0.0, ge=0, le=1)
    inactive_unemployed: bool = True
    min_share_employment: float = Field(0.45, ge=0, le=1)


class PersonaRulesConfig(_Strict):
    """Thresholds of all persona rules.

    Behavioural fallbacks need at least ``min_events`` events. Employment statuses in
    ``uninformative_employment`` are treated like an unknown status by the fallbacks.
    """

    min_events: int = Field(5, ge=1)
    uninformative_employment: tuple[str, ...] = ("other",)
    elderly: ElderlyRule = ElderlyRule()
    family_with_children: FamilyRule = FamilyRule()
    commuter: CommuterRule = CommuterRule()
    migrant: MigrantRule = MigrantRule()
    accessibility_needs: AccessibilityRule = AccessibilityRule()
    student: StudentRule = StudentRule()
    job_seeker: JobSeekerRule = JobSeekerRule()

    _statuses = field_validator("uninformative_employment")(_employment_statuses)


class SegmentConfig(_Strict):
    """Learned segments: KMeans on standardised behavioural features, k chosen by a criterion."""

    features: tuple[str, ...] = ()
    min_segments: int = Field(3, ge=2)
    max_segments: int = Field(10, ge=2)
    criterion: Literal["silhouette", "bic"] = "silhouette"
    sample_size: int = Field(3000, ge=100)
    min_events: int = Field(3, ge=0)
    n_init: int = Field(3, ge=1)
    top_features: int = Field(3, ge=1)
    min_abs_z: float = Field(0.3, ge=0)

    @model_validator(mode="after")
    def _ordered_range(self) -> SegmentConfig:
        if self.min_segments > self.max_segments:
            raise ValueError("min_segments must not exceed max_segments")
        return self


class CommunityTypeConfig(_Strict):
    """A community takes a type when one persona's share is well above its share over all residents."""

    min_lift: float = Field(1.3, ge=1)
    min_margin: float = Field(0.05, ge=0, le=1)
    min_residents: int = Field(10, ge=1)


class ReportConfig(_Strict):
    """Segment reports: cells counting fewer than ``k`` residents are suppressed."""

    k: int = Field(10, ge=1)
    top_categories: int = Field(3, ge=1)


class ProfilingConfig(_Strict):
    """Everything :func:`profiling.profile_dataset` can be told, as read from ``personas.toml``."""

    personas: PersonaRulesConfig = PersonaRulesConfig()
    segments: SegmentConfig = SegmentConfig()
    community_types: CommunityTypeConfig = CommunityTypeConfig()
    reports: ReportConfig = ReportConfig()

    def persona_names(self) -> tuple[str, ...]:
        """The persona names in the order Linli reports them."""
        return Vocab.PERSONAS


def default_config_path() -> Path:
    """Path of the ``personas.toml`` shipped with the package."""
    return Path(str(resources.files("profiling").joinpath("personas.toml")))


def load_config(path: str | Path | None = None) -> ProfilingConfig:
    """Read a profiling configuration from TOML.

    Parameters
    ----------
    path : str or Path, optional
        A TOML file with the sections of ``profiling/personas.toml``; missing keys take the defaults.
        ``None`` reads the shipped ``personas.toml``.

    Returns
    -------
    ProfilingConfig

    Raises
    ------
    ProfilingConfigError
        If the file is missing, is not TOML, or has unknown keys or out-of-range values.
    """
    path = Path(path) if path is not None else default_config_path()
    raw = read_toml(path, ProfilingConfigError, "profiling config")
    try:
        return ProfilingConfig.model_validate(raw)
    except ValidationError as exc:
        raise ProfilingConfigError(
            f"{path}: invalid profiling config; fix these keys (see profiling/personas.toml):\n{exc}"
        ) from exc
