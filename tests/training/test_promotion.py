"""The promotion gate decides both ways, with reasons."""

from __future__ import annotations

from training.promotion import GateConfig, decide

GATE = GateConfig(persona_tolerance=0.02, min_persona_residents=30)


def _metrics(ndcg: float, **personas: float) -> dict[str, object]:
    return {"ndcg@10": ndcg, "per_persona_ndcg@10": personas}


def test_first_version_becomes_champion() -> None:
    decision = decide(_metrics(0.3), None, GATE)
    assert decision.promoted and decision.alias == "champion"
    assert "no champion yet" in decision.reasons[0]


def test_better_overall_and_no_persona_worse_is_promoted() -> None:
    decision = decide(_metrics(0.52, elderly=0.50, migrant=0.40), _metrics(0.50, elderly=0.51, migrant=0.40), GATE)
    assert decision.promoted and decision.alias == "champion"
    assert any("0.5200 > champion's 0.5000" in r for r in decision.reasons)


def test_equal_overall_is_not_promoted() -> None:
    decision = decide(_metrics(0.5), _metrics(0.5), GATE)
    assert not decision.promoted and decision.alias == "challenger"


def test_a_persona_dropping_beyond_tolerance_blocks_promotion() -> None:
    decision = decide(_metrics(0.60, elderly=0.30, migrant=0.45), _metrics(0.50, elderly=0.40, migrant=0.44), GATE)
    assert not decision.promoted and decision.alias == "challenger"
    assert any("persona elderly" in r and "drops by 0.1000" in r for r in decision.reasons)


def test_small_personas_are_not_judged() -> None:
    counts = {"elderly": 5, "migrant": 200}
    decision = decide(_metrics(0.6, elderly=0.1, migrant=0.5), _metrics(0.5, elderly=0.5, migrant=0.5), GATE, counts)
    assert decision.promoted
    assert any("persona elderly: too few test residents" in r for r in decision.reasons)
