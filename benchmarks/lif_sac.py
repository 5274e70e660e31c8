"""SAC on livn_rl/LIF-RateTrack-v0: learning curve against a random policy, a constant current and the analytic oracle.

Trains stable-baselines3 SAC for ``--steps`` env steps per seed, evaluating the deterministic policy every
``--eval-every`` steps on fixed evaluation episodes (the same seeds for every policy). Writes
``<out>/results.json`` and ``<out>/learning_curve.png``.

    python benchmarks/lif_sac.py                       # 6,000 steps x seeds 0 and 1, ~10 min on 2 cores
    python benchmarks/lif_sac.py --steps 2000 --seeds 0 --eval-episodes 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

import livn_rl  # noqa: F401  (registers the envs)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sac_curves import add_output_options, add_training_options, mean_metrics, plot_curves, run_benchmark  # noqa: E402

ENV_ID = "livn_rl/LIF-RateTrack-v0"


def evaluate(env: gym.Env, policy, seeds: list[int]) -> dict:
    """Mean reward per step and mean |rate - target| (Hz) of ``policy(obs, env)`` over one episode per seed."""
    return mean_metrics(env, policy, seeds, ("rate_error_hz",))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_training_options(parser, steps=6000, seeds=[0, 1], episode_steps=100, gamma=0.9,
                         gamma_reason="the best action depends on the current target only")
    add_output_options(parser, out="benchmarks/results/lif_sac")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    run_benchmark(
        args, script="benchmarks/lif_sac.py", env_id=ENV_ID, make_env=lambda: gym.make(ENV_ID, target=args.target),
        evaluate=evaluate, episode_steps=100, plot=plot,
        baselines={
            "random": lambda o, e: rng.uniform(-1, 1, (1,)).astype(np.float32),
            "constant_0": lambda o, e: np.zeros(1, np.float32),
            "oracle": lambda o, e: e.unwrapped.oracle_action(),
        },
    )
    return 0


def plot(result: dict, path: Path) -> None:
    """The learning curves (reward per step) with the three baselines as horizontal lines."""
    plot_curves(result, path, title="SAC on LIF-RateTrack-v0", xlabel="training env steps (50 ms of LIF time each)",
                ylim=(-1.0, 0.0), baseline_styles={"oracle": ("k", "--"), "constant_0": ("grey", ":"),
                                                    "random": ("tab:red", ":")})


if __name__ == "__main__":
    raise SystemExit(main())
