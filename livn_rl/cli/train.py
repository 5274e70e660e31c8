"""``livn-rl train``: train SAC on a registered env, evaluate it as it learns and draw its learning curve."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from livn_rl.atomic import write_json
from livn_rl.cli.common import (
    Interrupted, UsageError, add_command, add_executor_options, executor_session, parse_env_args, usage_errors,
)

__all__ = ["add_parser", "cmd_train"]

TRAIN_DESCRIPTION = """\
Train stable-baselines3 SAC (rl-baselines3-zoo's hyperparameters for the task) on a registered env, evaluate the
deterministic policy on fixed episodes as it learns, and draw the learning curve against a random policy. With
--replay, the replay buffer is first filled from a dataset (livn-rl sample) and SAC pretrains on it.

Writes OUT/evaluations.jsonl (one line per evaluation, appended as it happens), OUT/summary.json,
OUT/learning_curve.png, OUT/model.zip and OUT/checkpoint/ (model, replay buffer and step count, saved at every
evaluation). Ctrl-C stops the run cleanly: it keeps the evaluations, saves the model and the checkpoint, and the same
command with --resume continues it.

With --seeds N it trains seeds SEED..SEED+N-1 and writes one evaluations.jsonl, summary.json (over seeds) and
learning_curve.png (mean and range over seeds) with the models in OUT/models/; a finished seed is never trained
again, so after a crash or Ctrl-C the same command with --resume trains only the seeds not yet finished. With
--executor ray the seeds train side by side as Ray tasks on a cluster (pip install "livn_rl[distributed]"; see
docs/scaling.md). Multi-seed comparisons with references: benchmarks/rl.py.
"""

TRAIN_EPILOG = """\
examples:
  livn-rl train                                   SAC on livn_rl/Pendulum-S2-v0, 3,000 steps
  livn-rl train livn_rl/Pendulum-S2-v0 --timesteps 20000 --out out/pendulum
  livn-rl train livn_rl/Pendulum-S2-v0 --replay data/S2-population
  livn-rl train livn_rl/Pendulum-S2-v0 --replay ~/livn-copy --replay-config S2 --replay-split train_with_noise \
          --env-arg encoder=pulse --env-arg window_ms=5000
                                                  pretrain on livn's own data (observed through our MEA)
  livn-rl train livn_rl/CartPole-S2-v0 --n-envs 4
  livn-rl train livn_rl/Pendulum-S2-v0 --timesteps 20000 --out out/pendulum --resume
                                                  continue a stopped run (or extend a finished one)
  livn-rl train livn_rl/Pendulum-S2-v0 --timesteps 20000 --seeds 8 --executor ray --out out/sweep
                                                  8 seeds as Ray tasks on the cluster this machine joined
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
    train.add_argument("--replay", metavar="DIR",
                       help="pretrain on this dataset's replay buffer first: a livn-rl sample folder, or a dataset in "
                            "livn's layout (a local copy of livn-org/livn, or the hub name when online)")
    train.add_argument("--replay-config", metavar="NAME", help="the config of a hub dataset (livn's: the system, S1..S4)")
    train.add_argument("--replay-split", metavar="NAME",
                       help="the split to replay (livn's: train, test, train_with_noise; default: train)")
    train.add_argument("--pretrain-steps", type=int, metavar="N",
                       help="gradient steps on the dataset (default: one per trial, at most 20,000)")
    train.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE",
                       help="an env argument, the value as JSON or a plain string, e.g. target=numpy or "
                            "observe_neural=true (repeatable)")
    train.add_argument("--out", "-o", default="out/train", metavar="DIR", help="output folder (default: %(default)s)")
    train.add_argument("--overwrite", action="store_true", help="replace the results already in --out")
    train.add_argument("--resume", action="store_true",
                       help="continue the run in --out from its checkpoint (model, replay buffer, step count, "
                            "evaluations) up to --timesteps in total; the other options must be those of the run")
    train.add_argument("--threshold", type=float, action="append", metavar="RETURN",
                       help="a return level to report the steps to reach (repeatable; default: the env's "
                            "reward_threshold, or the task's levels, e.g. -250 and -500 for Pendulum)")
    train.add_argument("--seeds", type=int, default=1, metavar="N",
                       help="train seeds SEED..SEED+N-1 and summarise them together (default: 1)")
    add_executor_options(train, "the seeds train", "one after another here", "side by side as tasks")
    train.add_argument("--threads", type=int, default=1, help="torch threads (default: 1, fastest on small nets)")
    train.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _check_run(args: argparse.Namespace, env_kwargs: dict) -> None:
    """Everything ``livn-rl train`` can check before it trains (a UsageError for what is wrong)."""
    import gymnasium as gym

    from livn_rl.checks import check_whole
    from livn_rl.data import dataset_meta, is_dataset_folder, load_dataset
    from livn_rl.data.replay import check_compatible

    try:
        gym.spec(args.env_id)
    except gym.error.Error as err:
        raise UsageError(f"unknown env {args.env_id!r} ({err}); list them with `livn-rl envs`") from None
    with usage_errors():
        for name in ("timesteps", "eval_every", "eval_episodes", "n_envs", "threads", "seeds"):
            check_whole(f"--{name.replace('_', '-')}", getattr(args, name), 1)
        if args.pretrain_steps is not None:
            check_whole("--pretrain-steps", args.pretrain_steps, 0)
    with usage_errors(f"{args.env_id} with {env_kwargs}: " if env_kwargs else ""):
        try:
            env = gym.make(args.env_id, **env_kwargs)
        except TypeError as err:  # an unknown keyword argument
            raise ValueError(err) from None
    try:
        if args.replay is not None:
            with usage_errors(f"--replay {args.replay}: "):
                if is_dataset_folder(args.replay):
                    check_compatible(dataset_meta(args.replay), env)
                else:  # livn's layout: its samples are checked one by one as the buffer fills
                    load_dataset(args.replay, args.replay_config, split=args.replay_split)
    finally:
        env.close()


def cmd_train(args: argparse.Namespace) -> int:
    """``livn-rl train [ENV] --timesteps N ...``."""
    import livn_rl  # noqa: F401  (registers the envs)
    from livn_rl.experiments.sac import (
        TrainingInterrupted, check_resume, plot_learning_curves, read_evaluations, reward_thresholds, run_settings,
        summarise, train_sac,
    )

    env_kwargs = parse_env_args(args.env_arg)
    _check_run(args, env_kwargs)
    if args.seeds > 1 or args.executor == "ray":
        return _train_sweep(args, env_kwargs)
    out = Path(args.out)
    log, checkpoint, baseline_file = out / "evaluations.jsonl", out / "checkpoint", out / "random_policy.json"
    name = "pretrained" if args.replay else "online"
    if args.resume:
        if args.overwrite:
            raise UsageError("--resume continues the run in --out and --overwrite replaces it: choose one")
        settings = run_settings(args.env_id, seed=args.seed, eval_every=args.eval_every,
                                eval_episodes=args.eval_episodes, n_envs=args.n_envs, replay=args.replay,
                                hyperparameters=None, env_kwargs=env_kwargs, run_name=name,
                                replay_config=args.replay_config, replay_split=args.replay_split)
        with usage_errors(f"--resume {out}: "):
            state = check_resume(checkpoint, settings, args.timesteps)
    elif log.exists() and not args.overwrite:
        raise UsageError(f"{out} already holds a training run; continue it with --resume, choose another --out or "
                         "pass --overwrite")
    thresholds = tuple(args.threshold) if args.threshold else reward_thresholds(args.env_id)
    import torch

    torch.set_num_threads(args.threads)
    out.mkdir(parents=True, exist_ok=True)
    if not args.resume:
        for old in (log, baseline_file):
            old.unlink(missing_ok=True)
        if checkpoint.exists():
            import shutil

            shutil.rmtree(checkpoint)
    random_return = _random_return(args, env_kwargs, baseline_file)
    if not args.quiet:
        what = f"resuming SAC from step {state['steps']:,} to {args.timesteps:,}" if args.resume else \
            f"training SAC for {args.timesteps:,} steps"
        print(f"random policy: {random_return:.1f}; {what}", flush=True)
    try:
        result = train_sac(args.env_id, timesteps=args.timesteps, seed=args.seed, eval_every=args.eval_every,
                           eval_episodes=args.eval_episodes, n_envs=args.n_envs, replay=args.replay,
                           replay_config=args.replay_config, replay_split=args.replay_split,
                           pretrain_steps=args.pretrain_steps, env_kwargs=env_kwargs, log_path=log, run_name=name,
                           progress=not args.quiet, model_path=out / "model.zip", checkpoint=checkpoint,
                           resume=args.resume)
    except TrainingInterrupted as stop:
        raise Interrupted(
            f"kept {len(stop.evaluations)} evaluation(s) in {log}, the model after {stop.steps:,} steps in "
            f"{out / 'model.zip'} and a checkpoint in {checkpoint}; continue with the same command and --resume"
        ) from None
    summary = {"env": args.env_id, "random_policy_mean_return": random_return, **_threshold_entry(args, thresholds),
               **summarise(name, [result], list(thresholds))}
    write_json(out / "summary.json", summary)
    plot_learning_curves(read_evaluations(log), out / "learning_curve.png", title=f"SAC on {args.env_id}",
                         random_return=random_return, labels={name: f"SAC ({name})"})
    for e in result.evaluations:
        print(f"  {e['steps']:>7,} steps: return {e['mean_return']:8.1f} +- {e['std_return']:.1f}")
    reached = ", ".join(f"{t:g} at {result.steps_to_reach(t):,} steps" if result.steps_to_reach(t) is not None
                        else f"{t:g} not reached" for t in thresholds)
    print(f"thresholds: {reached or 'none known for this env (give --threshold)'}")
    print(f"random policy: {random_return:.1f}; trained in {result.seconds:.0f} s; wrote {out}/"
          f"{{evaluations.jsonl, summary.json, learning_curve.png, model.zip, checkpoint/}}")
    return 0


def _threshold_entry(args: argparse.Namespace, thresholds: tuple[float, ...]) -> dict:
    """The ``thresholds`` entry of ``summary.json``: the return levels and where they came from."""
    source = "--threshold" if args.threshold else "the env (reward_threshold or task levels)"
    return {"thresholds": {"values": list(thresholds), "source": source}}


def _random_return(args: argparse.Namespace, env_kwargs: dict, baseline_file: Path) -> float:
    """The random policy's mean evaluation return: read from ``baseline_file`` (a resumed run), or scored now and
    written there."""
    from livn_rl.experiments.sac import random_baseline

    if baseline_file.exists():
        return float(json.loads(baseline_file.read_text())["mean_return"])
    if not args.quiet:
        print(f"{args.env_id}: scoring a random policy on {args.eval_episodes} evaluation episodes (a first run "
              f"compiles the network, 1-2 min) ...", flush=True)
    try:
        random_return = float(random_baseline(args.env_id, args.eval_episodes, env_kwargs).mean())
    except KeyboardInterrupt:
        raise Interrupted(f"before training started; nothing kept in {baseline_file.parent}") from None
    write_json(baseline_file, {"mean_return": random_return, "episodes": args.eval_episodes}, indent=None)
    return random_return


def _train_sweep(args: argparse.Namespace, env_kwargs: dict) -> int:
    """``livn-rl train --seeds N [--executor ray]``: the seeds as one sweep (finished seeds kept)."""
    with executor_session(args):
        return _sweep(args, env_kwargs)


def _sweep(args: argparse.Namespace, env_kwargs: dict) -> int:
    from livn_rl.experiments.sac import plot_learning_curves, read_evaluations, reward_thresholds, summarise
    from livn_rl.experiments.seed_sweep import SweepRun, run_sweep

    out = Path(args.out)
    log, baseline_file, models = out / "evaluations.jsonl", out / "random_policy.json", out / "models"
    if args.resume and args.overwrite:
        raise UsageError("--resume continues the runs in --out and --overwrite replaces them: choose one")
    if log.exists() and not (args.resume or args.overwrite):
        raise UsageError(f"{out} already holds training runs; train the seeds not yet finished with --resume, choose "
                         "another --out or pass --overwrite")
    if args.replay is not None and args.executor == "ray":
        print(f"note: every Ray worker reads the dataset {args.replay}; on several machines it must be on a shared "
              "file system", flush=True)
    name = "pretrained" if args.replay else "online"
    thresholds = tuple(args.threshold) if args.threshold else reward_thresholds(args.env_id)
    out.mkdir(parents=True, exist_ok=True)
    if args.overwrite:
        import shutil

        for old in (log, baseline_file):
            old.unlink(missing_ok=True)
        shutil.rmtree(models, ignore_errors=True)
    random_return = _random_return(args, env_kwargs, baseline_file)
    seeds = list(range(args.seed, args.seed + args.seeds))
    train_kwargs = {"timesteps": args.timesteps, "eval_every": args.eval_every, "eval_episodes": args.eval_episodes,
                    "n_envs": args.n_envs, "replay": args.replay, "replay_config": args.replay_config,
                    "replay_split": args.replay_split, "pretrain_steps": args.pretrain_steps, "env_kwargs": env_kwargs}
    runs = [SweepRun(name, args.env_id, seed, train_kwargs) for seed in seeds]

    def report(run: SweepRun, result, before: bool) -> None:
        last = result.evaluations[-1]
        print(f"  seed {run.seed}: return {last['mean_return']:.1f} after {last['steps']:,} steps"
              f"{' (finished before, kept)' if before else f', {result.seconds:.0f} s'}", flush=True)

    if not args.quiet:
        where = "as Ray tasks" if args.executor == "ray" else "one after another"
        print(f"random policy: {random_return:.1f}; training SAC for {args.timesteps:,} steps, seeds "
              f"{seeds[0]}..{seeds[-1]} {where}", flush=True)
    try:
        results = run_sweep(runs, log, executor=args.executor, address=args.address, models=models,
                            threads=args.threads, progress=not args.quiet, on_result=report)
    except KeyboardInterrupt:
        from livn_rl.experiments.seed_sweep import finished_runs

        done = sorted(seed for _, seed in finished_runs(log, runs))
        raise Interrupted(f"kept the finished seeds {done or 'none'} in {log}; train the rest with the same command "
                          "and --resume") from None
    summary = {"env": args.env_id, "random_policy_mean_return": random_return, "executor": args.executor,
               **_threshold_entry(args, thresholds), **summarise(name, results, list(thresholds))}
    write_json(out / "summary.json", summary)
    plot_learning_curves([e for e in read_evaluations(log) if e["run"] == name], out / "learning_curve.png",
                         title=f"SAC on {args.env_id}", random_return=random_return, labels={name: f"SAC ({name})"})
    print(f"final return over {len(seeds)} seeds: {summary['final_mean_over_seeds']:.1f} +- "
          f"{summary['final_std_over_seeds']:.1f}; random policy {random_return:.1f}; wrote {out}/"
          "{evaluations.jsonl, summary.json, learning_curve.png, models/}")
    return 0
