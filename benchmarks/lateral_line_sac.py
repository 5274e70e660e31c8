"""SAC on livn_rl/LateralLine-Localize-v0 with the weights learned by ``livn-rl lateral-line``: learning curve against
a random policy, the body's middle and the population-vector readout of the nominal TS map.

Trains stable-baselines3 SAC for ``--steps`` env steps per seed, evaluating the deterministic policy every
``--eval-every`` steps on fixed evaluation episodes (the same seeds for every policy). Writes
``<out>/results.json`` and ``<out>/learning_curve.png``.

    livn-rl lateral-line --mode ll_fast --run-name fast5 --seed-start 0 --multi-seed 5   # makes the artifact
    python benchmarks/lateral_line_sac.py --artifact out/fast5/artifacts/latest_seed_0.npz
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

ENV_ID = "livn_rl/LateralLine-Localize-v0"


def evaluate(env: gym.Env, policy, seeds: list[int]) -> dict:
    """Mean reward per step and mean position error (cm) of ``policy(obs, env)`` over one episode per seed."""
    return mean_metrics(env, policy, seeds, ("error_cm",))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifact", required=True, help="an artifacts/<tag>_seed_<seed>.npz of livn-rl lateral-line")
    add_training_options(parser, steps=3000, seeds=[0], episode_steps=100, gamma=0.5,
                         gamma_reason="a report's reward does not depend on later reports")
    add_output_options(parser, out="benchmarks/results/lateral_line_sac")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    run_benchmark(
        args, script="benchmarks/lateral_line_sac.py", env_id=ENV_ID, evaluate=evaluate, episode_steps=100,
        plot=plot, make_env=lambda: gym.make(ENV_ID, artifact=args.artifact, target=args.target),
        baselines={
            "random": lambda o, e: rng.uniform(-1, 1, (1,)).astype(np.float32),
            "middle": lambda o, e: np.zeros(1, np.float32),
            "population_vector": lambda o, e: e.unwrapped.population_vector_action(o),
        },
    )
    return 0


def plot(result: dict, path: Path) -> None:
    """The learning curves (reward per step) with the three baselines as horizontal lines."""
    plot_curves(result, path, title="SAC on LateralLine-Localize-v0 (learned weights)",
                xlabel="training env steps (50 ms of circuit time each)",
                ylabel="mean reward per step (-error / body length)", ylim=(-0.5, 0.0),
                baseline_styles={"population_vector": ("k", "--"), "middle": ("grey", ":"),
                                 "random": ("tab:red", ":")})


if __name__ == "__main__":
    raise SystemExit(main())
