"""The ``livn-rl sample`` and ``livn-rl train`` commands: record datasets and train SAC on a registered env."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

SAMPLE_DESCRIPTION = """\
Record stimulus-response trials of a system into a Hugging Face dataset folder (Parquet shards, meta.json and a
dataset card). Each trial is one window: random features are encoded into stimulation (by default the livn
dataset's pulse features: channel, onset, amplitude), the culture is simulated, and every neuron's spikes and
every electrode's detections are recorded.

Sampling is resumable: stop it (Ctrl-C) and run the same command again, and it makes only the shards that are
missing; no trial is lost or made twice and no finished shard is rewritten. Episodes run as copies of one network
(--copies) in one or more processes (--workers).

To pretrain an agent for a task env, sample with that env's encoder and window: the default Pendulum-S2 env uses
the population encoder and 50 ms windows.
"""

SAMPLE_EPILOG = """\
examples:
  livn-rl sample S2 --samples 10000 --out data/S2
  livn-rl sample S2 --samples 10000 --encoder population --out data/S2-population
                     trials for livn_rl/Pendulum-S2-v0's replay buffer
  livn-rl sample S2 --samples 2000 --encoder '{"name": "pulse", "n_pulses": 2}' --no-noise --out data/S2-2p
"""

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


def add_commands(commands) -> None:
    """Add ``sample`` and ``train`` to the ``livn-rl`` sub-command parsers."""
    from livn_rl.cli import _fill

    sample = commands.add_parser(
        "sample", help="record stimulus-response trials into a dataset folder (resumable)",
        description=_fill(SAMPLE_DESCRIPTION), epilog=SAMPLE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sample.add_argument("system", metavar="SYSTEM", help="a predefined system (S1..S4) or a YAML/JSON culture config")
    sample.add_argument("--samples", "-n", type=int, default=10_000, help="number of trials (default: %(default)s)")
    sample.add_argument("--out", "-o", required=True, metavar="DIR", help="dataset folder (created, or resumed)")
    sample.add_argument("--encoder", default="pulse", metavar="SPEC",
                        help="features -> stimulation: a built-in encoder (pulse, rate, population, timing) or a JSON "
                             "object {\"name\": ..., parameters} (default: pulse)")
    sample.add_argument("--window-ms", type=float, default=50.0, help="trial length in ms (default: %(default)s)")
    sample.add_argument("--trials-per-episode", type=int, default=200,
                        help="consecutive trials on one culture before it is reset (default: %(default)s)")
    sample.add_argument("--no-noise", dest="noise", action="store_false", help="switch off the background noise")
    sample.add_argument("--seed", type=int, default=0, help="seed of cultures, features and noise (default: 0)")
    sample.add_argument("--copies", type=int, default=8,
                        help="episodes simulated side by side in one network, one shard (default: %(default)s)")
    sample.add_argument("--workers", type=int, default=1, help="processes making shards (default: %(default)s)")
    sample.add_argument("--target", choices=("auto", "cython", "numpy"), default="auto",
                        help="Brian2 code generation target (default: auto)")
    sample.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    sample.set_defaults(handler=cmd_sample)

    train = commands.add_parser(
        "train", help="train SAC on a registered env and draw its learning curve",
        description=_fill(TRAIN_DESCRIPTION), epilog=TRAIN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    train.set_defaults(handler=cmd_train)


def _encoder_spec(text: str):
    from livn_rl.cli import UsageError

    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise UsageError(f"--encoder {text!r} is not valid JSON: {err}") from None
    return text


def _sample_command(args: argparse.Namespace) -> str:
    """The full ``livn-rl sample`` command that makes this dataset, for its card (every setting spelled out)."""
    words = ["livn-rl", "sample", args.system, "--samples", str(args.samples), "--out", args.out, "--encoder",
             args.encoder, "--window-ms", f"{args.window_ms:g}", "--trials-per-episode", str(args.trials_per_episode),
             "--seed", str(args.seed), "--copies", str(args.copies)]
    return shlex.join(words + ([] if args.noise else ["--no-noise"]))


def cmd_sample(args: argparse.Namespace) -> int:
    """``livn-rl sample SYSTEM --samples N --out DIR ...``."""
    from livn_rl.cli import UsageError, _resolve_config
    from livn_rl.data import DatasetError, sample_dataset

    config = _resolve_config(args.system)
    system = args.system if Path(args.system).suffix == "" else config
    try:
        report = sample_dataset(
            system, args.out, samples=args.samples, encoder=_encoder_spec(args.encoder), window_ms=args.window_ms,
            trials_per_episode=args.trials_per_episode, noise=args.noise, seed=args.seed, n_copies=args.copies,
            workers=args.workers, target=args.target, progress=not args.quiet,
            command=_sample_command(args),
        )
    except (DatasetError, ValueError) as err:
        raise UsageError(err) from None
    print(f"{report.folder}: {report.samples} trials ({report.new_trials} new in {report.shards_made} shard(s), "
          f"{report.shards_kept} shard(s) already done) in {report.seconds:.1f} s, "
          f"{report.trials_per_second:.1f} trials/s")
    return 0


def _env_kwargs(pairs: list[str]) -> dict:
    from livn_rl.cli import UsageError

    kwargs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--env-arg {pair!r} must be KEY=VALUE, e.g. target=numpy")
        try:
            kwargs[key] = json.loads(value)
        except json.JSONDecodeError:
            kwargs[key] = value
    return kwargs


def cmd_train(args: argparse.Namespace) -> int:
    """``livn-rl train [ENV] --timesteps N ...``."""
    import gymnasium as gym

    import livn_rl  # noqa: F401  (registers the envs)
    from livn_rl.cli import UsageError
    from livn_rl.data import DatasetError
    from livn_rl.training import plot_learning_curves, random_baseline, read_evaluations, summarise, train_sac

    env_kwargs = _env_kwargs(args.env_arg)
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
