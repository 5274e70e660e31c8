"""Shared machinery of the SAC learning-curve benchmarks (``lif_sac.py``, ``ring_sac.py``, ``lateral_line_sac.py``).

Each benchmark supplies its env, its ``evaluate(env, policy, seeds) -> dict`` (with ``reward_per_step`` and its own
task metrics) and its baseline policies; this module trains stable-baselines3 SAC per seed with a curve of
deterministic evaluations, writes ``<out>/results.json`` and draws ``<out>/learning_curve.png``.

Benchmarks import it as a sibling module (``sys.path.insert(0, str(Path(__file__).parent))``), so the scripts run
as ``python benchmarks/<name>.py`` from any folder.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from livn_rl.experiments.sac import EVAL_SEED

#: ``policy(obs, env) -> action``: the policies the benchmarks evaluate (baselines and the trained SAC).
Policy = Callable[[Any, gym.Env], np.ndarray]
#: ``evaluate(env, policy, seeds) -> metrics``: one episode per seed; the metrics include ``reward_per_step``.
Evaluate = Callable[[gym.Env, Policy, list[int]], dict]


def rollout(env: gym.Env, policy: Policy, seed: int) -> tuple[list[float], list[dict]]:
    """The rewards and infos of one episode of ``policy(obs, env)`` from ``env.reset(seed=seed)``.

    :param env: the env
    :param policy: the policy
    :param seed: the episode's reset seed
    """
    obs, _ = env.reset(seed=seed)
    rewards, infos = [], []
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy(obs, env))
        rewards.append(reward)
        infos.append(info)
        done = terminated or truncated
    return rewards, infos


def mean_metrics(env: gym.Env, policy: Policy, seeds: list[int], keys: tuple[str, ...]) -> dict:
    """Mean reward per step and the mean of each ``info[key]`` over one episode per seed.

    :param env: the env
    :param policy: the policy
    :param seeds: the episodes' reset seeds
    :param keys: the info entries to average (each named as in ``info``)
    :return: ``{"reward_per_step": ..., key: ...}``
    """
    rewards: list[float] = []
    values: dict[str, list] = {key: [] for key in keys}
    for seed in seeds:
        episode_rewards, infos = rollout(env, policy, seed)
        rewards.extend(episode_rewards)
        for key in keys:
            values[key].extend(info[key] for info in infos)
    return {"reward_per_step": float(np.mean(rewards)), **{key: float(np.mean(v)) for key, v in values.items()}}


def add_training_options(parser: argparse.ArgumentParser, *, steps: int, seeds: list[int], episode_steps: int,
                         gamma: float, gamma_reason: str) -> None:
    """Add ``--steps --seeds --eval-every --eval-episodes --gamma`` to ``parser``.

    :param parser: the benchmark's parser
    :param steps: default training env steps per seed
    :param seeds: default training seeds
    :param episode_steps: steps of one evaluation episode (for the help text)
    :param gamma: default SAC discount
    :param gamma_reason: why that discount (for the help text)
    """
    parser.add_argument("--steps", type=int, default=steps, help=f"training env steps per seed (default {steps})")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(seeds),
                        help=f"training seeds (default {' '.join(map(str, seeds))})")
    parser.add_argument("--eval-every", type=int, default=1000, help="env steps between evaluations (default 1000)")
    parser.add_argument("--eval-episodes", type=int, default=3,
                        help=f"evaluation episodes of {episode_steps} steps (default 3)")
    parser.add_argument("--gamma", type=float, default=gamma, help=f"SAC discount (default {gamma}: {gamma_reason})")


def add_output_options(parser: argparse.ArgumentParser, *, out: str) -> None:
    """Add ``--target`` (Brian2 target) and ``--out`` (output directory) to ``parser``.

    :param parser: the benchmark's parser
    :param out: default output directory
    """
    parser.add_argument("--target", default="auto", help="Brian2 target (auto, cython, numpy)")
    parser.add_argument("--out", default=out, help="output directory")


def run_benchmark(args: argparse.Namespace, *, script: str, env_id: str, make_env: Callable[[], gym.Env],
                  evaluate: Evaluate, baselines: dict[str, Policy], episode_steps: int,
                  plot: Callable[[dict, Path], None], extra: dict[str, Any] | None = None) -> dict:
    """Score the baselines, train SAC per seed with its learning curve, write ``results.json`` and the plot, and
    print the summary.

    :param args: the parsed options of :func:`add_training_options` and :func:`add_output_options`
    :param script: the script's path as it is run (``benchmarks/lif_sac.py``), for the ``command`` field
    :param env_id: the registered env id
    :param make_env: a new env (one for evaluation, one per training seed)
    :param evaluate: the benchmark's evaluation
    :param baselines: the baseline policies by name, scored in this order
    :param episode_steps: steps of one evaluation episode (for the ``eval`` field)
    :param plot: draws ``result`` into a PNG at the given path
    :param extra: fields of the result that go after ``algorithm`` (such as ``serotonin``)
    :return: the result as written to ``<out>/results.json``
    """
    import torch

    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    eval_seeds = [EVAL_SEED + k for k in range(args.eval_episodes)]
    eval_env = make_env()

    started = time.perf_counter()
    scores = {name: evaluate(eval_env, policy, eval_seeds) for name, policy in baselines.items()}
    print({k: round(v["reward_per_step"], 4) for k, v in scores.items()}, flush=True)
    runs = train_curves(make_env, evaluate, eval_env, eval_seeds, seeds=args.seeds, steps=args.steps,
                        eval_every=args.eval_every, gamma=args.gamma)
    eval_env.close()

    result = {
        "env": env_id,
        "command": command_line(script, args),
        "algorithm": f"stable-baselines3 SAC, MlpPolicy, defaults except gamma={args.gamma}",
        **(extra or {}),
        "eval": f"{args.eval_episodes} episodes of {episode_steps} steps (50 ms each), seeds {eval_seeds}, "
                "deterministic policy",
        "baselines": scores,
        "runs": runs,
        "final_mean_reward_per_step": float(np.mean([r["curve"][-1]["reward_per_step"] for r in runs])),
        "total_seconds": round(time.perf_counter() - started, 1),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
    }
    write_results(result, out, plot)
    return result


def train_curves(make_env: Callable[[], gym.Env], evaluate: Evaluate, eval_env: gym.Env, eval_seeds: list[int], *,
                 seeds: list[int], steps: int, eval_every: int, gamma: float) -> list[dict]:
    """Train SAC (``MlpPolicy``, defaults but ``gamma``) for ``steps`` env steps per seed, evaluating the
    deterministic policy before training and every ``eval_every`` steps; prints each evaluation.

    :param make_env: a new training env (one per seed, closed after training)
    :param evaluate: the benchmark's evaluation
    :param eval_env: the env evaluations run on
    :param eval_seeds: the evaluation episodes' seeds
    :param seeds: SAC seeds, one run each
    :param steps: training env steps per seed
    :param eval_every: env steps between evaluations
    :param gamma: SAC discount
    :return: one ``{"seed", "curve", "train_seconds"}`` per seed; ``curve`` is a list of
        ``{"steps", **evaluate(...)}``
    """
    from stable_baselines3 import SAC
    from stable_baselines3.common.callbacks import BaseCallback

    class EvaluateEvery(BaseCallback):
        """Appends an evaluation of the deterministic policy to ``curve`` every ``eval_every`` steps."""

        def __init__(self, curve: list) -> None:
            super().__init__()
            self.curve = curve

        def _on_step(self) -> bool:
            if self.num_timesteps % eval_every == 0:
                self.curve.append({"steps": self.num_timesteps, **evaluate(eval_env, self._act, eval_seeds)})
                print(f"  {self.num_timesteps:6d} steps: {self.curve[-1]}", flush=True)
            return True

        def _act(self, obs, env):
            return self.model.predict(obs, deterministic=True)[0]

    runs = []
    for seed in seeds:
        env = make_env()
        model = SAC("MlpPolicy", env, seed=seed, gamma=gamma, verbose=0)
        curve = [{"steps": 0, **evaluate(eval_env, lambda o, e: model.predict(o, deterministic=True)[0], eval_seeds)}]
        print(f"seed {seed}: {curve[0]}", flush=True)
        t0 = time.perf_counter()
        model.learn(steps, callback=EvaluateEvery(curve))
        runs.append({"seed": seed, "curve": curve, "train_seconds": round(time.perf_counter() - t0, 1)})
        env.close()
    return runs


def command_line(script: str, args: argparse.Namespace) -> str:
    """The command that repeats this run: ``python <script>`` with every option spelled out.

    :param script: the script's path as it is run
    :param args: the parsed options
    """
    return f"python {script} " + " ".join(
        f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in vars(args).items()
    )


def write_results(result: dict, out: Path, plot: Callable[[dict, Path], None]) -> None:
    """Write ``<out>/results.json`` and ``<out>/learning_curve.png``, and print the baselines, the final mean reward
    per step and the total time.

    :param result: the result of :func:`run_benchmark`
    :param out: the output directory (exists)
    :param plot: draws ``result`` into a PNG at the given path
    """
    (out / "results.json").write_text(json.dumps(result, indent=2))
    plot(result, out / "learning_curve.png")
    print(json.dumps({k: result[k] for k in ("baselines", "final_mean_reward_per_step", "total_seconds")}, indent=2))


def plot_curves(result: dict, path: Path, *, title: str, xlabel: str, ylim: tuple[float, float],
                baseline_styles: dict[str, tuple[str, str]], ylabel: str = "mean reward per step") -> None:
    """The learning curves (reward per step, one line per seed) with the baselines as horizontal lines.

    :param result: the result of :func:`run_benchmark`
    :param path: the PNG to write
    :param title: the figure's title
    :param xlabel: the x-axis label
    :param ylim: the y-axis range
    :param baseline_styles: ``(colour, linestyle)`` of each baseline by name
    :param ylabel: the y-axis label
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 4.0))
    ax = fig.add_subplot()
    for run in result["runs"]:
        steps = [p["steps"] for p in run["curve"]]
        ax.plot(steps, [p["reward_per_step"] for p in run["curve"]], marker="o", label=f"SAC, seed {run['seed']}")
    for name, values in result["baselines"].items():
        colour, style = baseline_styles[name]
        ax.axhline(values["reward_per_step"], color=colour, linestyle=style, label=name.replace("_", " "))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(*ylim)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
