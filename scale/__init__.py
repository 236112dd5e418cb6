"""The dask engine: data bucketed by a stable hash of the resident id, the unchanged pandas stage code run per
bucket on a Dask cluster, global aggregates computed once and sent to every worker (see docs/scale.md)."""

from scale.buckets import bucket_of, resident_hash
from scale.cluster import ClusterError, dask_client
from scale.profile_dask import DaskProfile, profile_on_cluster

__all__ = ["ClusterError", "DaskProfile", "bucket_of", "dask_client", "profile_on_cluster", "resident_hash"]
