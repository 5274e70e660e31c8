"""Env steps per second of a registered livn_rl env: single, as K-copy vector envs, and under SB3's SubprocVecEnv.

    python benchmarks/env_speed.py                       # Pendulum-S2, K = 8 and 16, 2 subprocesses, both backends
    python benchmarks/env_speed.py --env livn_rl/CartPole-S2-v0 --copies 4 16 --seconds 5
    python benchmarks/env_speed.py --backends standalone

Every case runs on each engine backend in turn (``--backends``; the env's ``backend="auto"`` is pointed at one with
the ``LIVN_RL_BACKEND`` environment variable, which SubprocVecEnv's workers inherit). Each case builds its env (the
Cython and standalone caches must be warm for fair numbers: the first run of a new copy count compiles once; the
build time is reported apart), runs warm-up steps, then times single steps with random actions from a seeded generator for about
``--seconds``. It prints and saves (``benchmarks/results/env_speed.json``) the median and p90 wall time per step
and the env steps per second over all copies. Goals of the Gymnasium issue: a single Pendulum-S2 step <= 10 ms
(median), the 16-copy vector env >= 400 env steps per second; of the compiled closed loop (standalone backend):
<= 5 ms and >= 800 env steps per second.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import livn_rl
from livn_rl.envs.sb3 import make_sb3_vec_env

RESULTS = Path(__file__).parent / "results" / "env_speed.json"


def _time_steps(step, sample, seconds: float, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        step(sample())
    times: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 10:
        action = sample()
        t0 = time.perf_counter()
        step(action)
        times.append(time.perf_counter() - t0)
    return times


def _row(case: str, copies: int, build_s: float, times: list[float]) -> dict:
    ms = np.asarray(times) * 1000.0
    median = float(np.median(ms))
    return {
        "case": case, "backend": os.environ["LIVN_RL_BACKEND"], "copies": copies, "steps": len(ms), "build_s": round(build_s, 2),
        "median_ms": round(median, 2), "p90_ms": round(float(np.percentile(ms, 90)), 2),
        "env_steps_per_s": round(copies * 1000.0 / median, 1),
    }


def single(env_id: str, seconds: float, rng: np.random.Generator) -> dict:
    t0 = time.perf_counter()
    env = gym.make(env_id)
    env.reset(seed=0)
    build = time.perf_counter() - t0

    def step(action):
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()

    space = env.action_space
    times = _time_steps(step, lambda: rng.uniform(-1, 1, space.shape).astype(np.float32), seconds)
    env.close()
    return _row("single env", 1, build, times)


def vector(env_id: str, copies: int, seconds: float, rng: np.random.Generator) -> dict:
    t0 = time.perf_counter()
    venv = gym.make_vec(env_id, num_envs=copies)
    venv.reset(seed=0)
    build = time.perf_counter() - t0
    space = venv.action_space
    times = _time_steps(venv.step, lambda: rng.uniform(-1, 1, space.shape).astype(np.float32), seconds)
    venv.close()
    return _row(f"vector env (gym.make_vec), K={copies}", copies, build, times)


def sb3_vector(env_id: str, copies: int, seconds: float, rng: np.random.Generator) -> dict:
    t0 = time.perf_counter()
    venv = make_sb3_vec_env(env_id, n_envs=copies, seed=0)
    venv.reset()
    build = time.perf_counter() - t0
    shape = (copies, *venv.action_space.shape)
    times = _time_steps(venv.step, lambda: rng.uniform(-1, 1, shape).astype(np.float32), seconds)
    venv.close()
    return _row(f"SB3 VecEnv (make_sb3_vec_env), K={copies}", copies, build, times)


def subproc(env_id: str, processes: int, seconds: float, rng: np.random.Generator) -> dict:
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import SubprocVecEnv

    t0 = time.perf_counter()
    venv = make_vec_env(f"livn_rl:{env_id}", n_envs=processes, seed=0, vec_env_cls=SubprocVecEnv)
    venv.reset()
    build = time.perf_counter() - t0
    shape = (processes, *venv.action_space.shape)
    times = _time_steps(venv.step, lambda: rng.uniform(-1, 1, shape).astype(np.float32), seconds)
    venv.close()
    return _row(f"SubprocVecEnv, {processes} processes", processes, build, times)


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="livn_rl/Pendulum-S2-v0", help="registered env id (default: %(default)s)")
    parser.add_argument("--copies", type=int, nargs="*", default=[8, 16], help="vector env sizes (default: 8 16)")
    parser.add_argument("--processes", type=int, default=2, help="SubprocVecEnv processes, 0 to skip (default: 2)")
    parser.add_argument("--seconds", type=float, default=8.0, help="timed seconds per case (default: 8)")
    parser.add_argument("--backends", nargs="+", default=["runtime", "standalone"], choices=["runtime", "standalone"],
                        help="engine backends to measure (default: both)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON output (default: %(default)s)")
    args = parser.parse_args(argv)

    rows = []
    load_before = os.getloadavg()
    for backend in args.backends:
        os.environ["LIVN_RL_BACKEND"] = backend
        rng = np.random.default_rng(0)
        rows.append(single(args.env, args.seconds, rng))
        for k in args.copies:
            rows.append(vector(args.env, k, args.seconds, rng))
        if args.copies:
            rows.append(sb3_vector(args.env, max(args.copies), args.seconds, rng))
        if args.processes:
            rows.append(subproc(args.env, args.processes, args.seconds, rng))

    window = gym.make(args.env).unwrapped.window_ms
    print(f"\n{args.env}, {window:g} ms of culture per env step, {os.cpu_count()} cores, commit {_commit()}, "
          f"load average {load_before} before, {os.getloadavg()} after\n")
    header = f"{'case':44s} {'backend':>10s} {'steps':>6s} {'median ms':>10s} {'p90 ms':>8s} {'env steps/s':>12s} {'build s':>8s}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['case']:44s} {r['backend']:>10s} {r['steps']:6d} {r['median_ms']:10.2f} {r['p90_ms']:8.2f} {r['env_steps_per_s']:12.1f} {r['build_s']:8.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "env": args.env, "window_ms": window, "commit": _commit(), "machine": platform.platform(),
        "cpu_count": os.cpu_count(), "load_average_before": load_before, "load_average_after": os.getloadavg(), "livn_rl": livn_rl.__version__, "rows": rows,
    }, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
