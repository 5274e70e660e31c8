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
import json
import platform
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import livn_rl  # noqa: F401  (registers the envs)

ENV_ID = "livn_rl/RingAttractor-Steer-v0"


def evaluate(env: gym.Env, policy, seeds: list[int]) -> dict:
    """Mean reward per step, mean |bump - target| (degrees) over the last 20 steps and mean stimulation of
    ``policy(obs, env)`` over one episode per seed."""
    rewards, errors, stimulation = [], [], []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        done, episode_errors = False, []
        while not done:
            obs, reward, terminated, truncated, info = env.step(policy(obs, env))
            rewards.append(reward)
            episode_errors.append(info["error_deg"])
            stimulation.append(info["stimulation"])
            done = terminated or truncated
        errors.extend(episode_errors[-20:])
    return {"reward_per_step": float(np.mean(rewards)), "final_error_deg": float(np.mean(errors)),
            "stimulation": float(np.mean(stimulation))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5000, help="training env steps per seed (default 5000)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="training seeds (default 0 1)")
    parser.add_argument("--eval-every", type=int, default=1000, help="env steps between evaluations (default 1000)")
    parser.add_argument("--eval-episodes", type=int, default=3, help="evaluation episodes of 60 steps (default 3)")
    parser.add_argument("--gamma", type=float, default=0.9, help="SAC discount (default 0.9: moving the bump pays "
                        "within a few steps)")
    parser.add_argument("--serotonin", default="normal", help="serotonin level of the ring (default normal)")
    parser.add_argument("--target", default="auto", help="Brian2 target (auto, cython, numpy)")
    parser.add_argument("--out", default="benchmarks/results/ring_sac", help="output directory")
    args = parser.parse_args(argv)

    import torch
    from stable_baselines3 import SAC
    from stable_baselines3.common.callbacks import BaseCallback

    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    eval_seeds = [10_000 + k for k in range(args.eval_episodes)]
    eval_env = gym.make(ENV_ID, target=args.target, serotonin=args.serotonin)

    started = time.perf_counter()
    rng = np.random.default_rng(0)
    n = eval_env.action_space.shape[0]
    baselines = {
        "random": evaluate(eval_env, lambda o, e: rng.uniform(-1, 1, (n,)).astype(np.float32), eval_seeds),
        "no_stimulation": evaluate(eval_env, lambda o, e: -np.ones(n, np.float32), eval_seeds),
        "target_sector": evaluate(eval_env, lambda o, e: e.unwrapped.target_action(), eval_seeds),
    }
    print({k: round(v["reward_per_step"], 4) for k, v in baselines.items()}, flush=True)

    class Evaluate(BaseCallback):
        def __init__(self, curve: list) -> None:
            super().__init__()
            self.curve = curve

        def _on_step(self) -> bool:
            if self.num_timesteps % args.eval_every == 0:
                self.curve.append({"steps": self.num_timesteps, **evaluate(eval_env, self._act, eval_seeds)})
                print(f"  {self.num_timesteps:6d} steps: {self.curve[-1]}", flush=True)
            return True

        def _act(self, obs, env):
            return self.model.predict(obs, deterministic=True)[0]

    runs = []
    for seed in args.seeds:
        env = gym.make(ENV_ID, target=args.target, serotonin=args.serotonin)
        model = SAC("MlpPolicy", env, seed=seed, gamma=args.gamma, verbose=0)
        curve = [{"steps": 0, **evaluate(eval_env, lambda o, e: model.predict(o, deterministic=True)[0], eval_seeds)}]
        print(f"seed {seed}: {curve[0]}", flush=True)
        t0 = time.perf_counter()
        model.learn(args.steps, callback=Evaluate(curve))
        runs.append({"seed": seed, "curve": curve, "train_seconds": round(time.perf_counter() - t0, 1)})
        env.close()
    eval_env.close()

    result = {
        "env": ENV_ID,
        "command": "python benchmarks/ring_sac.py " + " ".join(
            f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in vars(args).items()
        ),
        "algorithm": f"stable-baselines3 SAC, MlpPolicy, defaults except gamma={args.gamma}",
        "serotonin": args.serotonin,
        "eval": f"{args.eval_episodes} episodes of 60 steps (50 ms each), seeds {eval_seeds}, deterministic policy",
        "baselines": baselines,
        "runs": runs,
        "final_mean_reward_per_step": float(np.mean([r["curve"][-1]["reward_per_step"] for r in runs])),
        "total_seconds": round(time.perf_counter() - started, 1),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
    }
    (out / "results.json").write_text(json.dumps(result, indent=2))
    plot(result, out / "learning_curve.png")
    print(json.dumps({k: result[k] for k in ("baselines", "final_mean_reward_per_step", "total_seconds")}, indent=2))
    return 0


def plot(result: dict, path: Path) -> None:
    """The learning curves (reward per step) with the three baselines as horizontal lines."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 4.0))
    ax = fig.add_subplot()
    for run in result["runs"]:
        steps = [p["steps"] for p in run["curve"]]
        ax.plot(steps, [p["reward_per_step"] for p in run["curve"]], marker="o", label=f"SAC, seed {run['seed']}")
    styles = {"target_sector": ("k", "--"), "no_stimulation": ("grey", ":"), "random": ("tab:red", ":")}
    for name, values in result["baselines"].items():
        colour, style = styles[name]
        ax.axhline(values["reward_per_step"], color=colour, linestyle=style, label=name.replace("_", " "))
    ax.set_xlabel("training env steps (50 ms of ring time each)")
    ax.set_ylabel("mean reward per step")
    ax.set_ylim(-0.8, 1.0)
    ax.set_title(f"SAC on RingAttractor-Steer-v0 (serotonin {result['serotonin']})")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
