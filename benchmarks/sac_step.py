"""Where a SAC training step's time goes: the env (on each engine backend) against the learner's own update.

    python benchmarks/sac_step.py                       # 600 steps per case, about 2-4 minutes
    python benchmarks/sac_step.py --steps 2000 --backends standalone

The default trainer's SAC (stable-baselines3, rl-zoo's Pendulum hyperparameters, one torch thread as
``livn-rl train`` uses) learns for ``--steps`` steps on ``livn_rl/Pendulum-S2-v0`` with each backend and on plain
``Pendulum-v1`` (the learner's floor: the same updates, an env that costs microseconds). After ``learning_starts``
(100) every step is one env step plus one gradient update; the median wall time per step over the second half of
the run is reported, with what it implies for the issue's 20,000-step run (evaluations not counted). Results:
``benchmarks/results/sac_step.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "sac_step.json"


def time_steps(env_id: str, steps: int, backend: str | None) -> list[float]:
    """Wall time of every step of a SAC run on ``env_id``."""
    import gymnasium as gym
    from stable_baselines3 import SAC
    from stable_baselines3.common.callbacks import BaseCallback

    from livn_rl.experiments.sac import sac_hyperparameters

    class Clock(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []

        def _on_step(self) -> bool:
            self.times.append(time.perf_counter())
            return True

    env = gym.make(env_id, **({"backend": backend} if backend else {}))
    model = SAC("MlpPolicy", env, seed=0, verbose=0, **sac_hyperparameters("livn_rl/Pendulum-S2-v0"))
    clock = Clock()
    model.learn(total_timesteps=steps, callback=clock)
    env.close()
    return np.diff(clock.times).tolist()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=600, help="SAC steps per case (default: %(default)s)")
    parser.add_argument("--backends", nargs="+", default=["runtime", "standalone"], choices=["runtime", "standalone"])
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON output (default: %(default)s)")
    args = parser.parse_args(argv)

    import torch

    import livn_rl  # noqa: F401  (registers the envs)

    torch.set_num_threads(1)
    cases = [("Pendulum-v1 (learner only)", "Pendulum-v1", None)]
    cases += [(f"Pendulum-S2, {b} backend", "livn_rl/Pendulum-S2-v0", b) for b in args.backends]
    load_before = os.getloadavg()
    rows = []
    for name, env_id, backend in cases:
        times = np.asarray(time_steps(env_id, args.steps, backend)) * 1e3
        median = float(np.median(times[len(times) // 2 :]))
        rows.append({"case": name, "steps": args.steps, "median_ms_per_step": round(median, 2),
                     "implied_20k_steps_min": round(median * 20_000 / 60_000, 1)})
        print(f"{name:40s} {median:8.2f} ms per step   20k steps: {rows[-1]['implied_20k_steps_min']:5.1f} min",
              flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows, "load_average_before": load_before,
                                    "load_average_after": os.getloadavg(), "torch_threads": 1}, indent=2))
    print(f"load average {load_before} -> {os.getloadavg()}; wrote {args.out}")


if __name__ == "__main__":
    main()
