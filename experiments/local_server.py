"""Run the API as a child process on a free loopback port (simulator, benchmarks, tests): a free port, waiting
for ``/ready`` while watching the process, and stopping it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


class ServerStartError(RuntimeError):
    """The API process exited or did not become ready; the message ends with its log."""


@dataclass(frozen=True)
class LocalServer:
    """A running ``linli serve`` process."""

    url: str
    store_url: str
    log: Path
    process: subprocess.Popen[bytes]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def start_server(folder: Path, keys: dict[str, str], tracking_uri: str, model_name: str,
                 ready_timeout: float = 300) -> Iterator[LocalServer]:
    """Start ``linli serve`` with its data in ``folder`` and wait until ``/ready``; stop it on exit.

    Parameters
    ----------
    folder : Path
        The API's data folder (feedback store ``feedback.db``, list cache, log ``server-PORT.log``).
    keys : dict
        Role → API key.
    tracking_uri, model_name : str
        Where the API finds the ``champion``.
    ready_timeout : float
        Seconds to wait for ``/ready``.
    """
    port = free_port()
    store_url = f"sqlite:///{folder / 'feedback.db'}"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MLFLOW_DISABLE_TELEMETRY": "true",
           "LINLI_DATA_DIR": str(folder), "LINLI_MLFLOW_TRACKING_URI": tracking_uri, "LINLI_MODEL_NAME": model_name,
           "LINLI_API_KEYS": ",".join(f"{role}:{key}" for role, key in keys.items()),
           "LINLI_DATABASE_URL": store_url, "LINLI_PRECOMPUTE_WORKERS": "1",
           # simulated residents answer on the simulated clock (the data's days), not the server's
           "LINLI_FEEDBACK_CLOCK_SKEW_SECONDS": str(10 * 366 * 24 * 3600)}
    env.pop("LINLI_API_KEYS_FILE", None)
    log = folder / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "linli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    server = LocalServer(f"http://127.0.0.1:{port}", store_url, log, process)
    try:
        wait_ready(server.url, process, ready_timeout, log)
        yield server
    finally:
        stop(process)


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float, log: Path | None = None,
               on_poll: Callable[[], None] | None = None, interval: float = 0.2) -> None:
    """Wait until ``GET {url}/ready`` answers 200.

    Parameters
    ----------
    url : str
        The API's base URL.
    process : subprocess.Popen
        The API process; its exit ends the wait with an error.
    timeout : float
        Seconds to wait.
    log : Path, optional
        The process's output, whose tail ends the error message.
    on_poll : callable, optional
        Called at every poll (e.g. to sample memory).
    interval : float
        Seconds between polls.

    Raises
    ------
    ServerStartError
        If the process exits or is not ready in time.
    """
    def tail() -> str:
        return f": {log.read_text(errors='replace')[-3000:]}" if log is not None and log.exists() else ""

    deadline = time.monotonic() + timeout
    while True:
        if on_poll is not None:
            on_poll()
        if process.poll() is not None:
            raise ServerStartError(f"the API exited ({process.returncode}){tail()}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise ServerStartError(f"the API was not ready after {timeout} s{tail()}")
        time.sleep(interval)


def stop(process: subprocess.Popen[bytes], grace: float = 20) -> None:
    """Terminate the process, killing it if it has not exited after ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


__all__ = ["LocalServer", "ServerStartError", "free_port", "start_server", "stop", "wait_ready"]
