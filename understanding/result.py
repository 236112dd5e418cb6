"""What :meth:`understanding.model.RequestModel.understand` answers: intents, services, complaint flag, message."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Intent:
    """A service category the request is about, with the model's confidence in it (0–1)."""

    category: str
    confidence: float


@dataclass(frozen=True)
class ServiceMatch:
    """A service offered for a request.

    Attributes
    ----------
    service_id, name_zh : str
        The service.
    score : float
        Relevance to the text, combined with the resident's personalised score when one was given; higher first.
    matched : list of str
        The words or phrases of the request that point at this service (lexicon terms, shared words).
    department : str or None
        The service's provider, for routing the request.
    """

    service_id: str
    name_zh: str
    score: float
    matched: list[str] = field(default_factory=list)
    department: str | None = None


@dataclass(frozen=True)
class Understanding:
    """The understanding of one request.

    Attributes
    ----------
    intents : list of Intent
        Categories, most confident first; empty when the text matched nothing.
    services : list of ServiceMatch
        Up to ``k`` services in rank order; empty when nothing matched (see ``message``).
    complaint : str or None
        The complaint or dispute kind (``noise``, ``repairs``, ``neighbour``, ``fraud``) or ``None`` for a need.
    message : str or None
        A sentence for the resident when no service is offered (Chinese first, then English).
    suggested_categories : list of str
        Categories to try when nothing matched, or the next most likely ones otherwise.
    """

    intents: list[Intent]
    services: list[ServiceMatch]
    complaint: str | None = None
    message: str | None = None
    suggested_categories: list[str] = field(default_factory=list)

    @property
    def category(self) -> str | None:
        """The most confident category, or ``None``."""
        return self.intents[0].category if self.intents else None
