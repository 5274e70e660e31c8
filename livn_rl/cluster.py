"""Connecting to a Ray cluster (the optional extra ``livn_rl[distributed]``), with errors that say what to do.

Sampling (:mod:`livn_rl.data.ray_sampling`), seed sweeps (:mod:`livn_rl.experiments.ray_seeds`) and RLlib
(:mod:`livn_rl.envs.rllib`) use it; nothing here knows about simulations.

>>> with ray_session("auto"):          # the cluster this machine belongs to (``ray start`` ran here)
...     ...
>>> with ray_session("10.0.0.5:6379"):  # a head node's GCS address
...     ...
>>> with ray_session(None, num_cpus=2):  # a private Ray started in this process, stopped at the end
...     ...
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

__all__ = ["ClusterError", "EXTRA", "LocalCluster", "check_address", "import_ray", "ray_session", "session_processes"]

#: The pip extra that installs Ray.
EXTRA = "livn_rl[distributed]"
#: Seconds to wait for a head node's port before giving up (Ray itself retries for a minute).
CONNECT_TIMEOUT_S = 5.0


class ClusterError(RuntimeError):
    """Ray is missing, or the cluster cannot be reached or used."""


def import_ray():
    """The ``ray`` module, or a :class:`ClusterError` naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise ClusterError(f"Ray is not installed: pip install \"{EXTRA}\" (or pip install \"ray[default]\")") from None
    return ray


def check_address(address: str | None) -> str | None:
    """``address`` checked: None (a private local Ray), ``"auto"`` or ``HOST:PORT`` whose port answers within
    :data:`CONNECT_TIMEOUT_S` seconds; a :class:`ClusterError` otherwise (nothing is started or written)."""
    if address is None or address == "auto":
        return address
    match = re.fullmatch(r"(?:ray://)?\[?([\w.\-:]+?)\]?:(\d{1,5})", str(address).strip())
    if match is None or not 0 < int(match.group(2)) < 65536:
        raise ClusterError(f"cluster address {address!r} must be 'auto' or HOST:PORT, e.g. 127.0.0.1:6379 (the "
                           "--port of `ray start --head`)")
    host, port = match.group(1), int(match.group(2))
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as err:
        raise ClusterError(f"no Ray cluster answers at {address} ({err.strerror or err}); start one with `ray start "
                           f"--head --port {port}` on {host}, or check the address") from None
    return f"{host}:{port}"


@contextmanager
def ray_session(address: str | None, *, num_cpus: int | None = None, **init_kwargs: Any) -> Iterator[Any]:
    """Connect to the Ray cluster at ``address`` (see :func:`check_address`) for the block, and disconnect after.

    With ``address=None`` a private Ray is started in this process with ``num_cpus`` CPUs and stopped at the end.
    An already connected process (``ray.is_initialized()``) is used as it is and left connected.

    :raises ClusterError: Ray missing, a bad or unreachable address, no cluster running for ``"auto"``
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    address = check_address(address)
    kwargs: dict[str, Any] = {"logging_level": "WARNING", "log_to_driver": False, **init_kwargs}
    if address is None:
        kwargs.update(num_cpus=num_cpus, include_dashboard=False)
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError) as err:
        raise ClusterError(f"cannot connect to the Ray cluster at {address}: {' '.join(str(err).split())[:300]}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def session_processes(sessions: set[int]) -> list[int]:
    """Pids of the live (not zombie) processes whose session id is one of ``sessions`` (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) in sessions:
            found.append(int(entry.name))
    return found


class LocalCluster:
    """A Ray cluster of ``nodes`` nodes on this machine, for trying the distributed commands and for tests and
    benchmarks: ``ray start`` on 127.0.0.1 (a head, then worker nodes joining it), each node its own session of
    processes, with a token of its own (:attr:`env` holds what a driver process needs to connect; Ray reads it when
    imported, so a process that is to connect itself sets ``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN_PATH`` before
    importing Ray, and the cluster then uses that token). :meth:`stop` kills every process of those sessions, so
    nothing is left behind.

    Ray's servers listen on every interface of the machine, not only on loopback; the token is what keeps others out.

    :param nodes: nodes, the head included
    :param cpus_per_node: CPUs each node offers to Ray
    :param timeout: seconds to wait for every node to join
    """

    def __init__(self, nodes: int = 2, cpus_per_node: int = 1, timeout: float = 120.0) -> None:
        import_ray()
        self.temp = Path(tempfile.mkdtemp(prefix="livn_rl_ray_", dir="/tmp"))  # short: Ray's socket paths are limited
        token = os.environ.get("RAY_AUTH_TOKEN_PATH") if os.environ.get("RAY_AUTH_MODE") == "token" else None
        if token is None:  # a token of its own (Ray reads the variables when imported: this process keeps its own)
            token = self.temp / "auth_token"
            token.write_text(secrets.token_hex(32))
            token.chmod(0o600)
        self.env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
                    "RAY_AUTH_TOKEN_PATH": str(token)}
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[subprocess.Popen] = []
        ray_cli = str(Path(sys.executable).parent / "ray")
        common = ["--block", "--node-ip-address=127.0.0.1", f"--num-cpus={cpus_per_node}", "--disable-usage-stats"]
        self._start([ray_cli, "start", "--head", f"--port={self.port}", "--include-dashboard=false",
                     f"--temp-dir={self.temp}", *common], "head")
        for k in range(nodes - 1):
            self._start([ray_cli, "start", f"--address={self.address}", *common], f"worker{k}")
        try:
            self._wait_for_nodes(nodes, timeout)
        except BaseException:
            self.stop()
            raise

    @property
    def sessions(self) -> set[int]:
        """The session ids of the nodes' processes (each node was started as a session leader)."""
        return {p.pid for p in self.nodes}

    def _start(self, command: list[str], name: str) -> None:
        with open(self.temp / f"{name}.log", "wb") as log:
            self.nodes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                               start_new_session=True))

    def _wait_for_nodes(self, count: int, timeout: float) -> None:
        script = ("import ray, sys, time\n"
                  f"ray.init(address={self.address!r}, logging_level='ERROR')\n"
                  f"end = time.time() + {timeout}\n"
                  f"while sum(n['Alive'] for n in ray.nodes()) < {count} and time.time() < end: time.sleep(0.3)\n"
                  f"sys.exit(0 if sum(n['Alive'] for n in ray.nodes()) >= {count} else 1)\n")
        end = time.time() + timeout
        while time.time() < end:
            if subprocess.run([sys.executable, "-c", script], env=self.env, capture_output=True,
                              timeout=timeout).returncode == 0:
                return
            time.sleep(1.0)
        logs = "; ".join(p.read_text(errors="replace")[-300:] for p in self.temp.glob("*.log"))
        raise ClusterError(f"the local Ray cluster did not come up with {count} nodes in {timeout:.0f} s: {logs}")

    def stop(self) -> list[int]:
        """Kill every process of the cluster's sessions and delete its files; the pids still alive after 20 s
        (none, normally)."""
        sessions = self.sessions
        for pid in session_processes(sessions):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for node in self.nodes:
            node.wait(timeout=20)
        end = time.time() + 20
        while session_processes(sessions) and time.time() < end:
            time.sleep(0.2)
        shutil.rmtree(self.temp, ignore_errors=True)
        return session_processes(sessions)

    def __enter__(self) -> "LocalCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
