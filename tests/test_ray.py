"""Sampling, seed sweeps and RLlib on a real Ray cluster: a head and a worker node started with ``ray start`` on
127.0.0.1 (one CPU each), workers killed with SIGKILL, every process of the cluster gone afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="Ray is the optional extra livn_rl[distributed]")

from ray_cluster import ENV, LocalCluster, processes_named, session_processes  # noqa: E402

from livn_rl.data import load_dataset, sample_dataset  # noqa: E402

#: A small S1 dataset: 6 shards of 10 trials (2 copies x 5 trials), Brian2's numpy target (no compilation).
SAMPLE = dict(samples=60, trials_per_episode=5, n_copies=2, window_ms=50.0, seed=3)
SAMPLE_ARGS = ["S1", "--samples", "60", "--trials-per-episode", "5", "--copies", "2", "--window-ms", "50", "--seed", "3",
               "--target", "numpy", "-q"]
LIVN_RL = [sys.executable, "-m", "livn_rl.cli"]


@pytest.fixture(scope="module")
def cluster():
    started = LocalCluster(nodes=2)
    yield started
    left = started.stop()
    assert not left, f"Ray processes left behind: {left}"


def _shards(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "data").glob("*"))}


def _wait_for_shards(folder: Path, count: int, process: subprocess.Popen, timeout: float = 120.0) -> None:
    end = time.time() + timeout
    while len(list((folder / "data").glob("train-*.parquet"))) < count:
        assert process.poll() is None, process.communicate()
        assert time.time() < end, "no shard appeared in time"
        time.sleep(0.1)


def _kill_one_worker(cluster: LocalCluster) -> int:
    workers = processes_named("ray::ShardWorker", cluster.sessions)
    assert workers, "no ShardWorker process found on the cluster"
    os.kill(workers[0], signal.SIGKILL)
    return workers[0]


@pytest.mark.slow
def test_ray_sampling_survives_killed_workers_and_equals_a_local_run(cluster, tmp_path):
    local, distributed = tmp_path / "local", tmp_path / "ray"
    sample_dataset("S1", local, target="numpy", progress=False, **SAMPLE)
    command = LIVN_RL + ["sample", *SAMPLE_ARGS, "--out", str(distributed), "--executor", "ray",
                         "--address", cluster.address]

    # a worker dies and no failure is tolerated: the run stops, keeping its finished shards whole
    first = subprocess.Popen(command + ["--max-failures", "0"], env=ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    _wait_for_shards(distributed, 1, first)
    _kill_one_worker(cluster)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 1, (out, err)
    assert "Ray workers died" in err and "max_failures=0" in err and "run the same command again" in err, err
    kept = _shards(distributed)
    assert 1 <= len(kept) < 6 and not [n for n in kept if n.startswith(".")], kept
    for name, data in kept.items():
        assert data == (local / "data" / name).read_bytes(), f"{name} differs from the local run's"

    # the rerun makes the rest; a worker killed on the way is replaced and its shard made again
    second = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_shards(distributed, len(kept) + 1, second)
    _kill_one_worker(cluster)
    out, err = second.communicate(timeout=180)
    assert second.returncode == 0, (out, err)
    assert "1 worker(s) died" in out and f"{len(kept)} shard(s) already done" in out, out
    assert "trials/s while simulating" in out, out

    # every trial exactly once, byte for byte the local run's shards
    assert _shards(distributed) == _shards(local)
    trials = load_dataset(distributed)["trial"]
    assert sorted(trials) == list(range(60))

    assert not processes_named("ray::ShardWorker", cluster.sessions)


def test_an_unreachable_cluster_is_reported_at_once_and_nothing_written(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.perf_counter()
    done = subprocess.run(LIVN_RL + ["sample", *SAMPLE_ARGS, "--out", str(tmp_path / "d"), "--executor", "ray",
                                     "--address", f"127.0.0.1:{port}"], env=ENV, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and f"no Ray cluster answers at 127.0.0.1:{port}" in done.stderr, done
    assert time.perf_counter() - started < 30
    assert not (tmp_path / "d").exists()
    bad = subprocess.run(LIVN_RL + ["sample", *SAMPLE_ARGS, "--out", str(tmp_path / "d"), "--executor", "ray",
                                    "--address", "head-node"], env=ENV, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "must be 'auto' or HOST:PORT" in bad.stderr, bad
    assert not (tmp_path / "d").exists()


def test_without_ray_the_message_names_the_extra(tmp_path):
    script = ("import sys; sys.modules['ray'] = None\n"
              "from livn_rl.cli import main\n"
              f"sys.exit(main({['sample', *SAMPLE_ARGS, '--out', str(tmp_path / 'd'), '--executor', 'ray']!r}))\n")
    done = subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and 'pip install "livn_rl[distributed]"' in done.stderr, done
    assert not (tmp_path / "d").exists()
