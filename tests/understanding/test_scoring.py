"""The combination rules of :mod:`understanding.scoring` on hand-made signals."""

from __future__ import annotations

import numpy as np
import pytest

from understanding.scoring import with_complaints, with_services


def test_complaint_evidence_goes_to_the_category_that_handles_the_kind() -> None:
    categories = {"legal_social": 0.2, "culture_sports": 0.5, "convenience": 0.1}
    handlers = {"noise": "legal_social", "repairs": "convenience"}
    out = with_complaints(categories, handlers, {"noise": 0.8, "repairs": 0.05, "none": 0.15}, {"noise": 1.0}, 0.7)
    assert max(out, key=lambda c: out[c]) == "legal_social"
    assert sum(out.values()) == pytest.approx(1.0)  # renormalised once the evidence passes 1
    assert out["culture_sports"] > out["convenience"]  # other categories keep their order
    quiet = with_complaints(categories, handlers, {"noise": 0.0, "repairs": 0.0, "none": 1.0}, {}, 0.7)
    assert quiet == categories  # no complaint evidence, nothing moves


def test_a_category_is_pulled_towards_its_best_service() -> None:
    categories = {"elderly_care": 0.45, "culture_sports": 0.4}
    relevance = np.array([0.1, 0.9, 0.2])
    service_category = np.array(["elderly_care", "culture_sports", "elderly_care"])
    out = with_services(categories, relevance, service_category, 0.2)
    assert out["culture_sports"] == pytest.approx(0.8 * 0.4 + 0.2 * 0.9)
    assert out["elderly_care"] == pytest.approx(0.8 * 0.45 + 0.2 * 0.2)
    assert max(out, key=lambda c: out[c]) == "culture_sports"
    assert with_services(categories, relevance, service_category, 0.0) == categories
