"""The Dask cluster a job runs on: an existing scheduler (``--scheduler tcp://HOST:8786``) or a
:class:`distributed.LocalCluster` that Linli starts and stops (``--workers N --memory-limit SIZE``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dask.utils import parse_bytes
from distributed import Client, LocalCluster

#: Times Dask reruns a task whose worker died (or whose inputs were lost with it) before the task fails.
RETRIES = 2


class ClusterError(RuntimeError):
    """The Dask cluster cannot be reached or started; the message names the option to change."""


def check_memory_limit(memory_limit: str) -> int:
    """``memory_limit`` (e.g. ``"6GiB"``) in bytes.

    Raises
    ------
    ClusterError
        Not a size Dask understands.
    """
    try:
        size = int(parse_bytes(memory_limit))
    except (ValueError, TypeError) as exc:
        raise ClusterError(f"--memory-limit {memory_limit!r}: not a size; write e.g. 2GiB or 6GB") from exc
    if size < 256 * 2**20:
        raise ClusterError(f"--memory-limit {memory_limit!r}: a worker needs at least 256MiB")
    return size


@contextmanager
def dask_client(scheduler: str | None = None, workers: int = 2, memory_limit: str = "2GiB",
                threads_per_worker: int = 1) -> Iterator[Client]:
    """A connected client; a LocalCluster started here is closed on exit, an existing cluster is left running.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://HOST:8786``); ``None`` starts a LocalCluster.
    workers : int, default 2
        Worker processes of the LocalCluster.
    memory_limit : str, default "2GiB"
        Memory of each LocalCluster worker; past it Dask spills to disk, then restarts the worker.
    threads_per_worker : int, default 1
        Threads of each LocalCluster worker (pandas code holds the GIL, so processes parallelise).

    Raises
    ------
    ClusterError
        The scheduler cannot be reached, or the LocalCluster settings are invalid.
    """
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"--scheduler {scheduler}: cannot connect ({exc}); start one with "
                               "`dask scheduler` and workers with `dask worker SCHEDULER`") from exc
        with client:
            yield client
        return
    if workers < 1:
        raise ClusterError(f"--workers {workers}: a LocalCluster needs at least one worker")
    limit = check_memory_limit(memory_limit)
    with LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker, memory_limit=limit,
                      processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
        yield client
