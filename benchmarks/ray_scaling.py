"""Scaling on a Ray cluster: sampling trials per second with 1 and 2 workers on a local two-node cluster (one CPU per
node, 127.0.0.1) against the local sampler, the per-trial cost of S2, S3 and S4 (for projections to N machines), and a
seed sweep of SAC run locally one seed after another and as Ray tasks.

Writes ``benchmarks/results/ray_scaling.json``; docs/scaling.md quotes it.

    python benchmarks/ray_scaling.py
    python benchmarks/ray_scaling.py --samples 3200 --repeats 2 --seeds 2 --timesteps 300
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from livn_rl.cluster import LocalCluster
from livn_rl.data import plan_sampling, run_sampling, run_sampling_ray

#: S2 sampling as in benchmarks/sampling.py, with shorter episodes so that a run has several shards to share.
SAMPLING = dict(encoder="population", window_ms=50.0, trials_per_episode=100, n_copies=8)
#: Per-trial cost runs: (trials, trials per episode, copies) per system; fewer for the large ones (S4: 10,000 neurons
#: per copy). A fresh culture is built per episode, so shorter episodes count its building more per trial.
COST_RUNS = {"S2": (160, 20, 8), "S3": (80, 10, 8), "S4": (16, 4, 4)}


def _sample(folder: Path, system: str, samples: int, seed: int, executor: str, workers: int, **overrides) -> float:
    """Trials per second of one sampling run into a fresh folder."""
    settings = {**SAMPLING, **overrides}
    plan = plan_sampling(system, folder, samples=samples, seed=seed, **settings)
    if executor == "local":
        report = run_sampling(plan, workers=workers, progress=False)
    else:
        report = run_sampling_ray(plan, workers=workers, progress=False)
    shutil.rmtree(folder)
    return report.trials_per_second


def _sweep(out: Path, seeds: int, timesteps: int, executor: str, address: str, env: dict) -> float:
    """Wall seconds of ``livn-rl train --seeds`` (a fresh folder)."""
    command = [sys.executable, "-m", "livn_rl.cli", "train", "livn_rl/Pendulum-S2-v0", "--timesteps", str(timesteps),
               "--eval-every", str(timesteps), "--eval-episodes", "2", "--seeds", str(seeds), "--executor", executor,
               "--address", address, "--out", str(out), "-q"]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=3200, help="S2 trials per sampling run (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per sampling configuration (default %(default)s)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds of the sweep (default %(default)s)")
    parser.add_argument("--timesteps", type=int, default=300, help="SAC steps per seed (default %(default)s)")
    parser.add_argument("--out", default="benchmarks/results/ray_scaling.json", help="results file")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="livn_rl_ray_scaling_"))
    token = scratch / "auth_token"  # this process drives the cluster: Ray reads the token settings when imported
    token.write_text(secrets.token_hex(32))
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token))
    results: dict = {"load_before": os.getloadavg()}
    try:
        sampling = []
        rates = [_sample(scratch / f"local{r}", "S2", args.samples, r, "local", 1) for r in range(args.repeats)]
        sampling.append({"executor": "local", "workers": 1, "trials_per_second": float(np.median(rates)),
                         "runs": [round(x, 1) for x in rates]})
        print(sampling[-1], flush=True)
        with LocalCluster(nodes=2, cpus_per_node=1) as cluster:
            import ray

            ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
            try:
                for workers in (1, 2):
                    _sample(scratch / "warm", "S2", 800 * workers, 99, "ray", workers)  # workers compile and start
                    rates = [_sample(scratch / f"ray{workers}-{r}", "S2", args.samples, r, "ray", workers)
                             for r in range(args.repeats)]
                    sampling.append({"executor": "ray (local 2-node cluster)", "workers": workers,
                                     "trials_per_second": float(np.median(rates)), "runs": [round(x, 1) for x in rates]})
                    print(sampling[-1], flush=True)
            finally:
                ray.shutdown()
            base = sampling[0]["trials_per_second"]
            for entry in sampling:
                entry["ratio_to_local"] = round(entry["trials_per_second"] / base, 2)
            results["sampling_S2"] = {"settings": {**SAMPLING, "samples": args.samples}, "results": sampling}

            local_s = _sweep(scratch / "sweep-local", args.seeds, args.timesteps, "local", cluster.address, cluster.env)
            ray_s = _sweep(scratch / "sweep-ray", args.seeds, args.timesteps, "ray", cluster.address, cluster.env)
            results["seed_sweep"] = {"env": "livn_rl/Pendulum-S2-v0", "seeds": args.seeds, "timesteps": args.timesteps,
                                     "local_seconds": round(local_s, 1), "ray_seconds": round(ray_s, 1),
                                     "speedup": round(local_s / ray_s, 2)}
            print(results["seed_sweep"], flush=True)
        # the per-trial cost of each system, one process, copies of one network (warm: compiled first)
        costs = []
        for system, (trials, per_episode, copies) in COST_RUNS.items():
            _sample(scratch / "warm", system, copies, 0, "local", 1, trials_per_episode=1, n_copies=copies)  # compile
            rate = _sample(scratch / "cost", system, trials, 1, "local", 1, trials_per_episode=per_episode,
                           n_copies=copies)
            costs.append({"system": system, "trials": trials, "trials_per_episode": per_episode, "copies": copies,
                          "trials_per_second": round(rate, 3), "seconds_per_trial": round(1 / rate, 4)})
            print(costs[-1], flush=True)
        results["per_trial_cost"] = costs

    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results["load_after"] = os.getloadavg()
    results["command"] = "python benchmarks/ray_scaling.py " + " ".join(argv if argv is not None else sys.argv[1:])
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
