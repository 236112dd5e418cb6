"""The promotion gate: a new version becomes ``champion`` only if it beats the current champion."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field


class GateConfig(BaseModel):
    """Promotion thresholds.

    Attributes
    ----------
    metric : str
        The overall metric that must improve (strictly).
    persona_tolerance : float
        A persona's NDCG may drop by at most this much (absolute) against the champion.
    min_persona_residents : int
        Personas with fewer test residents are not judged (too noisy).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = "ndcg@10"
    persona_tolerance: float = Field(0.02, ge=0)
    min_persona_residents: int = Field(30, ge=0)


@dataclass(frozen=True)
class Decision:
    """The gate's verdict and every reason behind it."""

    promoted: bool
    alias: str
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"promoted": self.promoted, "alias": self.alias, "reasons": list(self.reasons)}


def decide(candidate: dict[str, object], champion: dict[str, object] | None, config: GateConfig,
           persona_counts: dict[str, int] | None = None) -> Decision:
    """Compare a candidate's metrics with the champion's, both measured on the same test window.

    Parameters
    ----------
    candidate, champion : dict
        Metric dicts with ``config.metric`` and ``per_persona_ndcg@10``; ``champion`` is ``None`` when
        there is no champion yet.
    config : GateConfig
    persona_counts : dict, optional
        Test residents per persona; personas under ``min_persona_residents`` are not judged.
    """
    if champion is None:
        return Decision(True, "champion", ["no champion yet: the first version becomes champion"])
    reasons: list[str] = []
    new, old = float(candidate[config.metric]), float(champion[config.metric])  # type: ignore[arg-type]
    better = new > old
    reasons.append(f"{config.metric} {new:.4f} {'>' if better else '≤'} champion's {old:.4f}")
    worse_personas = []
    new_personas = candidate.get("per_persona_ndcg@10", {}) or {}
    old_personas = champion.get("per_persona_ndcg@10", {}) or {}
    for persona, old_value in sorted(old_personas.items()):  # type: ignore[union-attr]
        if persona not in new_personas:  # type: ignore[operator]
            continue
        if persona_counts is not None and persona_counts.get(persona, 0) < config.min_persona_residents:
            reasons.append(f"persona {persona}: too few test residents to judge")
            continue
        drop = float(old_value) - float(new_personas[persona])  # type: ignore[index]
        if drop > config.persona_tolerance:
            worse_personas.append(persona)
            reasons.append(f"persona {persona}: NDCG@10 drops by {drop:.4f} > tolerance {config.persona_tolerance}")
    if not worse_personas:
        reasons.append(f"no persona drops by more than {config.persona_tolerance}")
    promoted = better and not worse_personas
    return Decision(promoted, "champion" if promoted else "challenger", reasons)
