"""``generate_community``: a whole synthetic smart community, reproducible by seed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.columns import LIST_SEPARATOR
from features.columns import Columns as C
from features.dataset import Dataset
from features.sources.synthetic.behaviour import make_interactions
from features.sources.synthetic.catalogue import catalogue_frame
from features.sources.synthetic.definitions import PersonaDefinitions, load_definitions
from features.sources.synthetic.geography import make_geography
from features.sources.synthetic.population import TYPES, make_population
from features.sources.synthetic.preferences import service_latents, true_scores

#: File the generator writes the hidden truth to; loaders never read it.
GROUND_TRUTH_FILE = "ground_truth.parquet"
DEFAULT_END = "2026-11-01"


@dataclass(frozen=True)
class SyntheticCommunity:
    """A generated community: the four raw tables and the ground truth no model may read.

    Attributes
    ----------
    frames : dict of str to pandas.DataFrame
        ``residents``, ``communities``, ``services``, ``interactions`` in the raw contract columns.
    truth : pandas.DataFrame
        ``resident_id``, ``latent_types`` (";"-joined persona names, "" for none), ``primary_type``
        and ``true_scores`` (one float32 array per resident, aligned with ``services`` rows;
        NaN where the resident is not eligible or the service is not offered in their community).
    """

    frames: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    seed: int

    def dataset(self) -> Dataset:
        """The validated :class:`~features.Dataset` of this community."""
        return Dataset.from_frames(**self.frames)

    def write(self, folder: str | Path) -> Path:
        """Write the four tables as Parquet and the truth as ``ground_truth.parquet`` into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in self.frames.items():
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        scores = np.stack(self.truth["true_scores"].to_numpy()) if len(self.truth) else np.zeros((0, 0))
        n_services = len(self.frames["services"])
        table = pa.table({
            C.RESIDENT: self.truth[C.RESIDENT].to_numpy(),
            "latent_types": self.truth["latent_types"].to_numpy(),
            "primary_type": self.truth["primary_type"].to_numpy(),
            "true_scores": pa.FixedSizeListArray.from_arrays(
                pa.array(scores.astype(np.float32).ravel()), n_services),
        })
        meta = {b"service_order": LIST_SEPARATOR.join(self.frames["services"][C.SERVICE]).encode(),
                b"seed": str(self.seed).encode()}
        pq.write_table(table.replace_schema_metadata(meta), folder / GROUND_TRUTH_FILE)
        return folder


def read_ground_truth(folder: str | Path) -> pd.DataFrame | None:
    """Read ``ground_truth.parquet`` from a generated folder, or ``None`` when the folder has none."""
    path = Path(folder) / GROUND_TRUTH_FILE
    if not path.exists():
        return None
    return pq.read_table(path, columns=[C.RESIDENT, "latent_types", "primary_type"]).to_pandas()


def _services(rng: np.random.Generator, communities: pd.DataFrame) -> pd.DataFrame:
    frame = catalogue_frame()
    ids = communities[C.COMMUNITY].to_numpy()
    scopes: list[str | None] = []
    for local in frame.pop("local"):
        offered = ids[rng.random(len(ids)) < 0.6] if local else ids[:0]
        scopes.append(LIST_SEPARATOR.join(offered if len(offered) else ids[:1]) if local else None)
    frame[C.COMMUNITY_SCOPE] = scopes
    frame[C.MIN_AGE] = frame[C.MIN_AGE].astype("Int64")
    frame[C.MAX_AGE] = frame[C.MAX_AGE].astype("Int64")
    return frame


def generate_community(residents: int = 3000, seed: int = 0, *, weeks: int = 26, end: str = DEFAULT_END,
                       events_per_resident: float = 20.0,
                       definitions: str | Path | PersonaDefinitions | None = None) -> SyntheticCommunity:
    """Generate a synthetic smart community.

    Parameters
    ----------
    residents : int
        Number of residents (communities scale with it, about 1,200 residents each).
    seed : int
        Random seed; the same seed gives the same community, bit for bit.
    weeks : int
        Length of the interaction history, ending at ``end`` (exclusive).
    end : str
        End of the history, a date.
    events_per_resident : float
        Average number of interaction events per resident over the whole history (about).
    definitions : str, Path or PersonaDefinitions, optional
        What the community's city counts as each persona: ``"default"`` (the default), ``"other_city"``
        or a TOML file (see :mod:`features.sources.synthetic.definitions`). The ground truth's
        ``latent_types`` are the persona labels under these definitions.

    Returns
    -------
    SyntheticCommunity
    """
    if residents < 1:
        raise ValueError(f"residents must be ≥ 1, got {residents}")
    rng = np.random.default_rng(seed)
    communities = make_geography(residents, rng)
    services = _services(rng, communities)
    pop = make_population(rng, communities, residents, load_definitions(definitions))
    quality, vectors = service_latents(rng, services)
    scores = true_scores(rng, pop, services, quality, vectors)
    interactions = make_interactions(rng, pop, services, scores, pd.Timestamp(end), weeks, events_per_resident)
    persona_types = [t for t in TYPES if t != "other"]
    labels = np.array(persona_types, dtype=object)
    latent = [LIST_SEPARATOR.join(labels[row]) for row in pop.persona_labels()[:, : len(persona_types)]]
    truth = pd.DataFrame({
        C.RESIDENT: pop.residents[C.RESIDENT].to_numpy(),
        "latent_types": latent,
        "primary_type": np.array(TYPES, dtype=object)[pop.primary],
        "true_scores": list(np.where(np.isfinite(scores), scores, np.nan)),
    })
    frames = {"residents": pop.residents, "communities": communities, "services": services,
              "interactions": interactions}
    return SyntheticCommunity(frames=frames, truth=truth, seed=seed)
