"""SAC on livn_rl/RingAttractor-Steer-v0: learning curve against a random policy, no stimulation and a hand-made
policy that drives the sector holding the target.

Trains stable-baselines3 SAC for ``--steps`` env steps per seed, evaluating the deterministic policy every
``--eval-every`` steps on fixed evaluation episodes (the same seeds for every policy). Writes
``<out>/results.json`` and ``<out>/learning_curve.png``.

    python benchmarks/ring_sac.py                       # 5,000 steps x seeds 0 and 1, ~10 min on 2 cores
    python benchmarks/ring_sac.py --steps 2000 --seeds 0 --eval-episodes 2 --serotonin increased
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

import livn_rl  # noqa: F401  (registers the envs)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sac_curves import add_output_options, add_training_options, plot_curves, rollout, run_benchmark  # noqa: E402

ENV_ID = "livn_rl/RingAttractor-Steer-v0"


def evaluate(env: gym.Env, policy, seeds: list[int]) -> dict:
    """Mean reward per step, mean |bump - target| (degrees) over the last 20 steps and mean stimulation of
    ``policy(obs, env)`` over one episode per seed."""
    rewards, errors, stimulation = [], [], []
    for seed in seeds:
        episode_rewards, infos = rollout(env, policy, seed)
        rewards.extend(episode_rewards)
        errors.extend(info["error_deg"] for info in infos[-20:])
        stimulation.extend(info["stimulation"] for info in infos)
    return {"reward_per_step": float(np.mean(rewards)), "final_error_deg": float(np.mean(errors)),
            "stimulation": float(np.mean(stimulation))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_training_options(parser, steps=5000, seeds=[0, 1], episode_steps=60, gamma=0.9,
                         gamma_reason="moving the bump pays within a few steps")
    parser.add_argument("--serotonin", default="normal", help="serotonin level of the ring (default normal)")
    add_output_options(parser, out="benchmarks/results/ring_sac")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    run_benchmark(
        args, script="benchmarks/ring_sac.py", env_id=ENV_ID, evaluate=evaluate, episode_steps=60, plot=plot,
        make_env=lambda: gym.make(ENV_ID, target=args.target, serotonin=args.serotonin),
        extra={"serotonin": args.serotonin},
        baselines={
            "random": lambda o, e: rng.uniform(-1, 1, e.action_space.shape).astype(np.float32),
            "no_stimulation": lambda o, e: -np.ones(e.action_space.shape, np.float32),
            "target_sector": lambda o, e: e.unwrapped.target_action(),
        },
    )
    return 0


def plot(result: dict, path: Path) -> None:
    """The learning curves (reward per step) with the three baselines as horizontal lines."""
    plot_curves(result, path, title=f"SAC on RingAttractor-Steer-v0 (serotonin {result['serotonin']})",
                xlabel="training env steps (50 ms of ring time each)", ylim=(-0.8, 1.0),
                baseline_styles={"target_sector": ("k", "--"), "no_stimulation": ("grey", ":"),
                                 "random": ("tab:red", ":")})


if __name__ == "__main__":
    raise SystemExit(main())
