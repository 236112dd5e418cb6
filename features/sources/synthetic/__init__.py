"""The synthetic smart community: geography, a real service catalogue, residents and their behaviour."""

from features.sources.synthetic.generator import (
    GROUND_TRUTH_FILE,
    SyntheticCommunity,
    generate_community,
    read_ground_truth,
)

__all__ = ["GROUND_TRUTH_FILE", "SyntheticCommunity", "generate_community", "read_ground_truth"]
