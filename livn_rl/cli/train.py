"""``livn-rl train``: train SAC on a registered env, evaluate it as it learns and draw its learning curve."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from livn_rl.cli.common import UsageError, add_command, parse_env_args

__all__ = ["add_parser", "cmd_train"]

TRAIN_DESCRIPTION = """\
Train stable-baselines3 SAC (rl-baselines3-zoo's hyperparameters for the task) on a registered env, evaluate the
deterministic policy on fixed episodes as it learns, and draw the learning curve against a random policy. With
--replay, the replay buffer is first filled from a dataset (livn-rl sample) and SAC pretrains on it.

Writes OUT/evaluations.jsonl (one line per evaluation, appended as it happens), OUT/summary.json and
OUT/learning_curve.png. Multi-seed comparisons with references: benchmarks/rl.py.
"""

TRAIN_EPILOG = """\
examples:
  livn-rl train                                   SAC on livn_rl/Pendulum-S2-v0, 3,000 steps
  livn-rl train livn_rl/Pendulum-S2-v0 --timesteps 20000 --out out/pendulum
  livn-rl train livn_rl/Pendulum-S2-v0 --replay data/S2-population
  livn-rl train livn_rl/CartPole-S2-v0 --n-envs 4
"""


def add_parser(commands) -> None:
    """Add ``train`` to the ``livn-rl`` sub-parsers."""
    train = add_command(commands, "train", help="train SAC on a registered env and draw its learning curve",
                        description=TRAIN_DESCRIPTION, epilog=TRAIN_EPILOG, handler=cmd_train)
    train.add_argument("env_id", nargs="?", default="livn_rl/Pendulum-S2-v0", metavar="ENV",
                       help="a registered env id (default: %(default)s)")
    train.add_argument("--timesteps", "-t", type=int, default=3000, help="online env steps (default: %(default)s)")
    train.add_argument("--seed", type=int, default=0, help="seed of SAC and the training env (default: 0)")
    train.add_argument("--eval-every", type=int, default=500, help="env steps between evaluations (default: %(default)s)")
    train.add_argument("--eval-episodes", type=int, default=3, help="episodes per evaluation (default: %(default)s)")
    train.add_argument("--n-envs", type=int, default=1, help="training envs, copies of one network (default: 1)")
    train.add_argument("--replay", metavar="DIR", help="pretrain on this dataset's replay buffer first")
    train.add_argument("--pretrain-steps", type=int, metavar="N",
                       help="gradient steps on the dataset (default: one per trial, at most 20,000)")
    train.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE",
                       help="an env argument, the value as JSON or a plain string, e.g. target=numpy or "
                            "observe_neural=true (repeatable)")
    train.add_argument("--out", "-o", default="out/train", metavar="DIR", help="output folder (default: %(default)s)")
    train.add_argument("--overwrite", action="store_true", help="replace the results already in --out")
    train.add_argument("--threads", type=int, default=1, help="torch threads (default: 1, fastest on small nets)")
    train.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def cmd_train(args: argparse.Namespace) -> int:
    """``livn-rl train [ENV] --timesteps N ...``."""
    import gymnasium as gym

    import livn_rl  # noqa: F401  (registers the envs)
    from livn_rl.data import DatasetError
    from livn_rl.experiments.sac import plot_learning_curves, random_baseline, read_evaluations, summarise, train_sac

    env_kwargs = parse_env_args(args.env_arg)
    try:
        gym.spec(args.env_id)
    except gym.error.Error as err:
        raise UsageError(f"unknown env {args.env_id!r} ({err}); list them with `livn-rl envs`") from None
    out = Path(args.out)
    log = out / "evaluations.jsonl"
    if log.exists() and not args.overwrite:
        raise UsageError(f"{out} already holds a training run; choose another --out or pass --overwrite")
    import torch

    torch.set_num_threads(args.threads)
    out.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    name = "pretrained" if args.replay else "online"
    try:
        if not args.quiet:
            print(f"{args.env_id}: scoring a random policy on {args.eval_episodes} evaluation episodes (a first run "
                  f"compiles the network with Cython, 1-2 min) ...", flush=True)
        random_returns = random_baseline(args.env_id, args.eval_episodes, env_kwargs)
        if not args.quiet:
            print(f"random policy: {random_returns.mean():.1f}; training SAC for {args.timesteps:,} steps", flush=True)
        result = train_sac(args.env_id, timesteps=args.timesteps, seed=args.seed, eval_every=args.eval_every,
                           eval_episodes=args.eval_episodes, n_envs=args.n_envs, replay=args.replay,
                           pretrain_steps=args.pretrain_steps, env_kwargs=env_kwargs, log_path=log, run_name=name,
                           progress=not args.quiet, model_path=out / "model.zip")
    except (DatasetError, ValueError) as err:
        raise UsageError(err) from None
    summary = {"env": args.env_id, "random_policy_mean_return": float(random_returns.mean()),
               **summarise(name, [result], [-250.0, -500.0])}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    plot_learning_curves(read_evaluations(log), out / "learning_curve.png", title=f"SAC on {args.env_id}",
                         random_return=float(random_returns.mean()), labels={name: f"SAC ({name})"})
    for e in result.evaluations:
        print(f"  {e['steps']:>7,} steps: return {e['mean_return']:8.1f} +- {e['std_return']:.1f}")
    print(f"random policy: {random_returns.mean():.1f}; trained in {result.seconds:.0f} s; wrote {out}/"
          f"{{evaluations.jsonl, summary.json, learning_curve.png, model.zip}}")
    return 0
