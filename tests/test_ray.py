"""Sampling, seed sweeps and RLlib on a real Ray cluster: a head and a worker node started with ``ray start`` on
127.0.0.1 (one CPU each), workers killed with SIGKILL, every process of the cluster gone afterwards."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="Ray is the optional extra livn_rl[distributed]")

from livn_rl.cluster import LocalCluster, session_processes  # noqa: E402
from livn_rl.data import load_dataset, sample_dataset  # noqa: E402
from livn_rl.data.ray_sampling import SCRATCH_PREFIX  # noqa: E402

#: A small S1 dataset: 8 shards of 10 trials (2 copies x 5 trials), Brian2's numpy target (no compilation).
SAMPLE = dict(samples=80, trials_per_episode=5, n_copies=2, window_ms=20.0, seed=3)
SAMPLE_ARGS = ["S1", "--samples", "80", "--trials-per-episode", "5", "--copies", "2", "--window-ms", "20", "--seed", "3",
               "--target", "numpy", "-q"]
LIVN_RL = [sys.executable, "-m", "livn_rl.cli"]


#: The environment of processes that are not the cluster's drivers (no token needed)
ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}


@pytest.fixture(scope="module")
def cluster():
    started = LocalCluster(nodes=2, cpus_per_node=1)
    yield started
    left = started.stop()
    assert not left, f"Ray processes left behind: {left}"


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


def _shards(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "data").glob("*"))}


def _wait_for_shards(folder: Path, count: int, process: subprocess.Popen, timeout: float = 120.0) -> None:
    end = time.time() + timeout
    while len(list((folder / "data").glob("train-*.parquet"))) < count:
        assert process.poll() is None, process.communicate()
        assert time.time() < end, "no shard appeared in time"
        time.sleep(0.1)


def _orphaned_scratch() -> list[Path]:
    """Scratch folders of shard workers whose process is gone."""
    return [folder for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*")
            if not Path(f"/proc/{folder.name[len(SCRATCH_PREFIX):].split('_')[0]}").exists()]


def _kill_one_worker(cluster: LocalCluster) -> int:
    workers = processes_named("ray::ShardWorker", cluster.sessions)
    assert workers, "no ShardWorker process found on the cluster"
    os.kill(workers[0], signal.SIGKILL)
    return workers[0]


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The dataset sampled on this machine, which the cluster's must equal byte for byte."""
    folder = tmp_path_factory.mktemp("local") / "local"
    sample_dataset("S1", folder, target="numpy", progress=False, **SAMPLE)
    return folder


@pytest.mark.slow
def test_ray_sampling_survives_killed_workers_and_equals_a_local_run(cluster, local, tmp_path):
    distributed = tmp_path / "ray"
    command = LIVN_RL + ["sample", *SAMPLE_ARGS, "--out", str(distributed), "--executor", "ray",
                         "--address", cluster.address]

    # a worker dies and no failure is tolerated: the run stops, keeping its finished shards whole
    first = subprocess.Popen(command + ["--max-failures", "0"], env=cluster.env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    _wait_for_shards(distributed, 1, first)
    _kill_one_worker(cluster)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 1, (out, err)
    assert "Ray workers died" in err and "max_failures=0" in err and "run the same command again" in err, err
    kept = _shards(distributed)
    assert 1 <= len(kept) <= 3 and not [n for n in kept if n.startswith(".")], kept
    for name, data in kept.items():
        assert data == (local / "data" / name).read_bytes(), f"{name} differs from the local run's"

    # Ctrl-C stops the next run cleanly: its actors are gone, the shards made so far are kept whole
    stopped = subprocess.Popen(command, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_shards(distributed, len(kept) + 1, stopped)
    stopped.send_signal(signal.SIGINT)
    out, err = stopped.communicate(timeout=60)
    assert stopped.returncode == 130 and "kept" in err and "run the same command again" in err, (out, err)
    kept = _shards(distributed)
    assert not [n for n in kept if n.startswith(".")], kept
    time.sleep(1.0)
    assert not processes_named("ray::ShardWorker", cluster.sessions)

    # the rerun makes the rest; a worker killed on the way is replaced and its shard made again
    second = subprocess.Popen(command, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_shards(distributed, len(kept) + 1, second)
    _kill_one_worker(cluster)
    out, err = second.communicate(timeout=180)
    assert second.returncode == 0, (out, err)
    assert "1 worker(s) died" in out and f"{len(kept)} shard(s) already done" in out, out
    assert "trials/s while simulating" in out, out

    # every trial exactly once, byte for byte the local run's shards
    assert _shards(distributed) == _shards(local)
    trials = load_dataset(distributed)["trial"]
    assert sorted(trials) == list(range(80))

    assert not processes_named("ray::ShardWorker", cluster.sessions)
    # the scratch folders of the killed workers were removed by the workers that replaced them
    assert not _orphaned_scratch()


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


@pytest.mark.slow
def test_seeds_train_as_ray_tasks_and_finished_seeds_are_kept(cluster, tmp_path):
    out = tmp_path / "sweep"
    command = LIVN_RL + ["train", "Pendulum-v1", "--timesteps", "120", "--eval-every", "120", "--eval-episodes", "1",
                         "--seeds", "2", "--executor", "ray", "--address", cluster.address, "--out", str(out), "-q"]
    first = subprocess.run(command, env=cluster.env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first
    evaluations = [json.loads(line) for line in (out / "evaluations.jsonl").read_text().splitlines()]
    assert sorted((e["seed"], e["steps"]) for e in evaluations) == [(0, 0), (0, 120), (1, 0), (1, 120)]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seeds"] == [0, 1] and summary["executor"] == "ray"
    assert sorted(p.name for p in (out / "models").iterdir()) == ["online-seed0.zip", "online-seed1.zip"]
    assert (out / "learning_curve.png").stat().st_size > 10_000
    # a rerun trains nothing that finished: both seeds are kept as they were
    again = subprocess.run(command + ["--resume"], env=cluster.env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and again.stdout.count("(finished before, kept)") == 2, again
    assert [json.loads(line) for line in (out / "evaluations.jsonl").read_text().splitlines()] == evaluations
    refused = subprocess.run(command, env=cluster.env, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "--resume" in refused.stderr, refused


RLLIB_SCRIPT = """
import sys
import ray
from ray.rllib.algorithms.ppo import PPOConfig
from livn_rl.envs.rllib import register_rllib_envs

ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
register_rllib_envs(["livn_rl/Pendulum-S1-v0"])
config = (PPOConfig().environment("livn_rl/Pendulum-S1-v0", env_config={"target": "numpy", "max_episode_steps": 20})
          .env_runners(num_env_runners=2, num_cpus_per_env_runner=1, rollout_fragment_length=20)
          .training(train_batch_size_per_learner=40, minibatch_size=20, num_epochs=1)
          .debugging(seed=0))
algo = config.build_algo()
result = algo.train()
print("iteration", result["training_iteration"], "steps", result["env_runners"]["num_env_steps_sampled_lifetime"],
      "return", result["env_runners"]["episode_return_mean"], "runners", algo.env_runner_group.num_healthy_remote_workers())
algo.stop()
"""


@pytest.mark.slow
def test_rllib_ppo_trains_an_iteration_on_a_livn_env_with_two_env_runners(cluster):
    pytest.importorskip("ray.rllib", reason="RLlib is the optional extra livn_rl[rllib]")
    done = subprocess.run([sys.executable, "-c", RLLIB_SCRIPT, cluster.address], env=cluster.env, capture_output=True,
                          text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    words = done.stdout.split()
    assert words[words.index("iteration") + 1] == "1" and float(words[words.index("steps") + 1]) >= 40, done.stdout
    assert words[words.index("runners") + 1] == "2", done.stdout
    assert float(words[words.index("return") + 1]) < 0, done.stdout  # Pendulum's reward is a cost


@pytest.mark.slow
def test_ray_sampling_finishes_on_the_nodes_left_when_a_node_is_lost(cluster, local, tmp_path):
    # last in this module: the worker node does not come back
    distributed = tmp_path / "ray"
    run = subprocess.Popen(LIVN_RL + ["sample", *SAMPLE_ARGS, "--out", str(distributed), "--executor", "ray",
                                      "--address", cluster.address, "--workers", "2"],
                           env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    worker_node = cluster.nodes[1].pid
    end = time.time() + 120
    while not processes_named("ray::ShardWorker", {worker_node}):  # one of the two workers runs on that node
        assert run.poll() is None and time.time() < end, "no shard worker started on the worker node"
        time.sleep(0.1)
    _wait_for_shards(distributed, 1, run)
    for pid in session_processes({worker_node}):  # the whole node: its raylet, its workers
        os.kill(pid, signal.SIGKILL)
    out, err = run.communicate(timeout=240)
    assert not session_processes({worker_node})
    # whether the run noticed the death depends on whether that worker held a shard yet; it must not matter
    assert run.returncode == 0, (out, err)
    assert _shards(distributed) == _shards(local)
    for folder in _orphaned_scratch():  # the lost node's worker was killed mid-shard, and no worker replaced it there
        shutil.rmtree(folder)
