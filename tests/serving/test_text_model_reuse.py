"""A reload with the same catalogue and lexicons reuses the built text model; an edited lexicon builds anew."""

from __future__ import annotations

from pathlib import Path

from serving.model_holder import ModelHolder
from serving.request_answer import text_model


def test_the_same_catalogue_reuses_the_text_model_and_an_edited_lexicon_does_not(holder: ModelHolder,
                                                                                tmp_path: Path) -> None:
    served = holder.current.requests
    assert served is not None
    catalogue = holder.current.bundle.catalogue()
    assert text_model(catalogue) is served.model  # what a reload of a version with this catalogue gets

    lexicon = tmp_path / "ours.toml"
    lexicon.write_text('[service."邻里互助"]\nterms = ["遛弯儿"]\n', encoding="utf-8")
    taught = text_model(catalogue, (lexicon,))
    assert taught is not served.model
    assert text_model(catalogue, (lexicon,)) is taught
    assert "遛弯儿" in taught.understand("想找人陪着遛弯儿").services[0].matched

    lexicon.write_text('[service."邻里互助"]\nterms = ["串门儿"]\n', encoding="utf-8")  # the operator edits it
    edited = text_model(catalogue, (lexicon,))
    assert edited is not taught
    assert "串门儿" in edited.understand("想找人来家里串门儿").services[0].matched
