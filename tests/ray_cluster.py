"""A real two-node Ray cluster on 127.0.0.1 for tests: started with ``ray start`` (one CPU per node), stopped by
killing every process of its nodes' sessions, so that nothing is left behind."""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = str(Path(sys.executable).parent / "ray")
#: Every process of the test clusters (nodes, drivers) authenticates with a token of the test session's own (Ray
#: 2.5x checks tokens; its servers listen on every interface, not only on 127.0.0.1).
TOKEN_FILE = Path(tempfile.mkdtemp(prefix="lr_ray_token_")) / "auth_token"
TOKEN_FILE.write_text(secrets.token_hex(32))
atexit.register(shutil.rmtree, TOKEN_FILE.parent, True)
ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1", "RAY_AUTH_MODE": "token",
       "RAY_AUTH_TOKEN_PATH": str(TOKEN_FILE)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_processes(sessions: set[int]) -> list[int]:
    """Pids of the live (not zombie) processes whose session is one of ``sessions``."""
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


def processes_named(prefix: str, sessions: set[int]) -> list[int]:
    """Pids in ``sessions`` whose command line starts with ``prefix`` (Ray names actor processes ``ray::Class``)."""
    named = []
    for pid in session_processes(sessions):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").startswith(prefix):
                named.append(pid)
        except OSError:
            continue
    return named


class LocalCluster:
    """A head node and one worker node on 127.0.0.1, each its own session of processes."""

    def __init__(self, nodes: int = 2) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp = tempfile.mkdtemp(prefix="lr_ray_", dir="/tmp")
        self.nodes: list[subprocess.Popen] = []
        common = ["--block", "--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"]
        self._start([RAY, "start", "--head", f"--port={self.port}", "--include-dashboard=false",
                     f"--temp-dir={self.temp}", *common], "head")
        for k in range(nodes - 1):
            self._start([RAY, "start", f"--address={self.address}", *common], f"worker{k}")
        self.wait_for_nodes(nodes)

    @property
    def sessions(self) -> set[int]:
        return {p.pid for p in self.nodes}  # each node was started as a session leader

    def _start(self, command: list[str], name: str) -> None:
        log = open(Path(self.temp) / f"{name}.log", "wb")
        self.nodes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=ENV,
                                           start_new_session=True))

    def wait_for_nodes(self, count: int, timeout: float = 90.0) -> None:
        script = ("import ray, sys, time\n"
                  f"ray.init(address={self.address!r}, logging_level='ERROR')\n"
                  f"end = time.time() + {timeout}\n"
                  f"while sum(n['Alive'] for n in ray.nodes()) < {count} and time.time() < end: time.sleep(0.3)\n"
                  f"sys.exit(0 if sum(n['Alive'] for n in ray.nodes()) >= {count} else 1)\n")
        end = time.time() + timeout
        while time.time() < end:
            if subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True, timeout=timeout).returncode == 0:
                return
            time.sleep(1.0)
        self.stop()
        raise RuntimeError(f"the local Ray cluster did not come up with {count} nodes (logs in {self.temp})")

    def stop(self) -> list[int]:
        """Kill every process of the cluster's sessions; the pids still alive after 20 s (none, normally)."""
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
