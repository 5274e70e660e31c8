"""SAC on livn_rl/LateralLine-Localize-v0 with the weights learned by ``livn-rl lateral-line``: learning curve against
a random policy, the body's middle and the population-vector readout of the nominal TS map.

Trains stable-baselines3 SAC for ``--steps`` env steps per seed, evaluating the deterministic policy every
``--eval-every`` steps on fixed evaluation episodes (the same seeds for every policy). Writes
``<out>/results.json`` and ``<out>/learning_curve.png``.

    livn-rl lateral-line --preset fast --run-name fast5 --seeds 5            # makes the artifact
    python benchmarks/lateral_line_sac.py --artifact out/fast5/artifacts/stdp_seed_0.npz
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

ENV_ID = "livn_rl/LateralLine-Localize-v0"


def evaluate(env: gym.Env, policy, seeds: list[int]) -> dict:
    """Mean reward per step and mean position error (cm) of ``policy(obs, env)`` over one episode per seed."""
    rewards, errors = [], []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(policy(obs, env))
            rewards.append(reward)
            errors.append(info["error_cm"])
            done = terminated or truncated
    return {"reward_per_step": float(np.mean(rewards)), "error_cm": float(np.mean(errors))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifact", required=True, help="an artifacts/<tag>_seed_<seed>.npz of livn-rl lateral-line")
    parser.add_argument("--steps", type=int, default=3000, help="training env steps per seed (default 3000)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds (default 0)")
    parser.add_argument("--eval-every", type=int, default=1000, help="env steps between evaluations (default 1000)")
    parser.add_argument("--eval-episodes", type=int, default=3, help="evaluation episodes of 100 steps (default 3)")
    parser.add_argument("--gamma", type=float, default=0.5, help="SAC discount (default 0.5: a report's reward does "
                        "not depend on later reports)")
    parser.add_argument("--target", default="auto", help="Brian2 target (auto, cython, numpy)")
    parser.add_argument("--out", default="benchmarks/results/lateral_line_sac", help="output directory")
    args = parser.parse_args(argv)

    import torch
    from stable_baselines3 import SAC
    from stable_baselines3.common.callbacks import BaseCallback

    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    eval_seeds = [10_000 + k for k in range(args.eval_episodes)]
    make = lambda: gym.make(ENV_ID, artifact=args.artifact, target=args.target)  # noqa: E731
    eval_env = make()

    started = time.perf_counter()
    rng = np.random.default_rng(0)
    baselines = {
        "random": evaluate(eval_env, lambda o, e: rng.uniform(-1, 1, (1,)).astype(np.float32), eval_seeds),
        "middle": evaluate(eval_env, lambda o, e: np.zeros(1, np.float32), eval_seeds),
        "population_vector": evaluate(eval_env, lambda o, e: e.unwrapped.population_vector_action(o), eval_seeds),
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
        env = make()
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
        "command": "python benchmarks/lateral_line_sac.py " + " ".join(
            f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in vars(args).items()
        ),
        "algorithm": f"stable-baselines3 SAC, MlpPolicy, defaults except gamma={args.gamma}",
        "eval": f"{args.eval_episodes} episodes of 100 steps (50 ms each), seeds {eval_seeds}, deterministic policy",
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
    styles = {"population_vector": ("k", "--"), "middle": ("grey", ":"), "random": ("tab:red", ":")}
    for name, values in result["baselines"].items():
        colour, style = styles[name]
        ax.axhline(values["reward_per_step"], color=colour, linestyle=style, label=name.replace("_", " "))
    ax.set_xlabel("training env steps (50 ms of circuit time each)")
    ax.set_ylabel("mean reward per step (-error / body length)")
    ax.set_ylim(-0.5, 0.0)
    ax.set_title("SAC on LateralLine-Localize-v0 (learned weights)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
