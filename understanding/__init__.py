"""Understanding residents' free-text requests (诉求): categories, services, complaints, redaction.

``RequestModel.build(services)`` learns from the shipped corpus and lexicon; ``model.understand(text)`` answers an
:class:`Understanding`. :func:`redact` removes personal data from text before it is stored or shown.
"""

from understanding.lexicon import Lexicon, LexiconError, load_lexicon
from understanding.model import RequestModel
from understanding.redaction import redact
from understanding.result import Intent, ServiceMatch, Understanding
from understanding.scoring import Weights
from understanding.text import MAX_TEXT_LENGTH, check_text

__all__ = [
    "MAX_TEXT_LENGTH",
    "Intent",
    "Lexicon",
    "LexiconError",
    "RequestModel",
    "ServiceMatch",
    "Understanding",
    "Weights",
    "check_text",
    "load_lexicon",
    "redact",
]
