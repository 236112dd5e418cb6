"""Persona definitions of a synthetic community: what its city counts as a migrant, a commuter, a job seeker.

Every city defines 流动人口 and its other categories in its own way. The ``default`` definitions are those
the shipped persona thresholds were tuned on: the ground-truth labels are the latent types and the recorded
fields follow them. ``other_city`` is a community whose definitions differ:

- a migrant is floating residency *or* fewer than 12 months in the community (and residents who moved in
  from elsewhere in the city recently exist, registered);
- commuting is latent: no departure hour or work district is recorded, and residents who work locally do
  much of their weekday activity in the evening, as commuters do;
- a job seeker is an unemployed resident who looks for work; some unemployed residents do not (carers,
  the discouraged), and only the former count; those who look register at the employment service.

A definitions file is TOML with the sections and keys of :class:`PersonaDefinitions`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from features.toml_files import read_toml


class DefinitionsError(ValueError):
    """A persona-definitions name or file cannot be read or breaks the schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MigrantDefinition(_Strict):
    """Who counts as a migrant.

    ``label = "latent"`` labels the latent migrant type; ``"floating_or_recent"`` labels floating residency
    or fewer than ``max_months`` months resident. ``recent_movers`` is the share of registered non-migrants
    drawn as having moved in during the last ``recent_mover_months`` months.
    """

    label: str = Field("latent", pattern="^(latent|floating_or_recent)$")
    max_months: int = Field(12, ge=1)
    recent_movers: float = Field(0.0, ge=0, le=1)
    recent_mover_months: int = Field(48, ge=1)


class CommuterDefinition(_Strict):
    """Commuters are the latent type; ``recorded`` says whether departure hour and work district are kept.

    ``local_worker_evening`` is the probability that an engagement of a resident who works locally on a
    weekday falls in the evening (17–21 h) rather than in the daytime.
    """

    recorded: bool = True
    local_worker_evening: float = Field(0.0, ge=0, le=1)


class JobSeekerDefinition(_Strict):
    """Job seekers are the latent type; ``idle_unemployed`` of the other working-age residents (not
    commuters, students or elderly) report being unemployed without looking for work. With ``registers``,
    every job seeker registers once, in person, at an employment service (求职登记), a recorded event."""

    idle_unemployed: float = Field(0.0, ge=0, le=1)
    registers: bool = False


class PersonaDefinitions(_Strict):
    """A city's persona definitions, as the synthetic generator applies them."""

    name: str = "default"
    migrant: MigrantDefinition = MigrantDefinition()
    commuter: CommuterDefinition = CommuterDefinition()
    job_seeker: JobSeekerDefinition = JobSeekerDefinition()

    def is_default(self) -> bool:
        """Whether these definitions draw exactly the default community (same seed, same bytes)."""
        return self.model_dump(exclude={"name"}) == PersonaDefinitions().model_dump(exclude={"name"})


#: Built-in definitions by name.
BUILT_IN: dict[str, PersonaDefinitions] = {
    "default": PersonaDefinitions(),
    "other_city": PersonaDefinitions(
        name="other_city",
        migrant=MigrantDefinition(label="floating_or_recent", max_months=12, recent_movers=0.2),
        commuter=CommuterDefinition(recorded=False, local_worker_evening=0.5),
        job_seeker=JobSeekerDefinition(idle_unemployed=0.12, registers=True),
    ),
}


def load_definitions(name_or_path: str | Path | PersonaDefinitions | None = None) -> PersonaDefinitions:
    """Built-in definitions by name (``default``, ``other_city``) or a TOML file of :class:`PersonaDefinitions`.

    Raises
    ------
    DefinitionsError
        If the name is unknown and no such file exists, or the file is not valid.
    """
    if name_or_path is None:
        return BUILT_IN["default"]
    if isinstance(name_or_path, PersonaDefinitions):
        return name_or_path
    if str(name_or_path) in BUILT_IN:
        return BUILT_IN[str(name_or_path)]
    path = Path(name_or_path)
    if not path.is_file():
        raise DefinitionsError(f"persona definitions {str(name_or_path)!r}: not one of {sorted(BUILT_IN)} "
                               "and no such TOML file")
    raw = read_toml(path, DefinitionsError, "persona definitions")
    try:
        return PersonaDefinitions.model_validate({"name": path.stem, **raw})
    except ValidationError as exc:
        raise DefinitionsError(f"{path}: invalid persona definitions:\n{exc}") from exc
