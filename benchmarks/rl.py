"""SAC learning curves on a registered env over several seeds, with a random policy and SAC on the plain task as
references; optionally pretrained on a dataset's replay buffer first.

Writes ``benchmarks/results/<run>/``: ``evaluations.jsonl`` (every evaluation, appended as it happens),
``summary.json`` and ``learning_curves.png``.

    python benchmarks/rl.py --env livn_rl/Pendulum-S2-v0 --timesteps 20000 --seeds 3
    python benchmarks/rl.py --env livn_rl/Pendulum-S2-v0 --timesteps 20000 --seeds 3 --replay data/S2-population
    python benchmarks/rl.py --env livn_rl/Pendulum-S2-v0 --timesteps 20000 --seeds 8 --executor ray --address auto
    python benchmarks/rl.py --env livn_rl/Pendulum-S2-v0 --seeds 4 --grid learning_rate=1e-3,3e-4 --executor ray

With ``--executor ray`` every (condition, seed) run is a Ray task on the cluster (docs/scaling.md); the results folder,
figure and summary are the same as a local run's, and a run already finished in the folder is never trained again
(``--resume``). ``--grid NAME=V1,V2`` adds one condition per value of a SAC hyperparameter.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import livn_rl  # noqa: F401  (registers the envs)
from livn_rl.experiments.sac import (
    EVAL_SEED, is_livn_env, plot_learning_curves, random_baseline, read_evaluations, sac_hyperparameters, summarise,
    task_of,
)
from livn_rl.experiments.seed_sweep import EXECUTORS, SweepRun, run_sweep


def parse_grid(items: list[str]) -> list[tuple[str, dict]]:
    """``NAME=V1,V2`` options as (condition suffix, hyperparameter overrides) pairs, one per value (values JSON)."""
    grid = [("", {})]
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not name or not values:
            raise SystemExit(f"--grid {item!r} must be NAME=V1,V2,... e.g. learning_rate=1e-3,3e-4")
        grid = [(f"{suffix} {name}={v}".strip(), {**overrides, name: json.loads(v)})
                for suffix, overrides in grid for v in values.split(",")]
    return grid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("--env", default="livn_rl/Pendulum-S2-v0", help="registered env id (default %(default)s)")
    parser.add_argument("--timesteps", type=int, default=20_000, help="online env steps per seed (default %(default)s)")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds, 0..N-1 (default %(default)s)")
    parser.add_argument("--first-seed", type=int, default=0, help="first seed (default %(default)s)")
    parser.add_argument("--eval-every", type=int, default=1000, help="env steps between evaluations (default %(default)s)")
    parser.add_argument("--eval-episodes", type=int, default=5, help="episodes per evaluation (default %(default)s)")
    parser.add_argument("--n-envs", type=int, default=1, help="training envs (copies of one network) (default %(default)s)")
    parser.add_argument("--replay", help="dataset folder: also train each seed pretrained on its replay buffer")
    parser.add_argument("--pretrain-steps", type=int, help="gradient steps on the dataset before online training "
                        "(default: one per transition, at most 20,000)")
    parser.add_argument("--no-online", action="store_true", help="with --replay: skip the runs without pretraining")
    parser.add_argument("--no-reference", action="store_true", help="skip SAC on the plain task")
    parser.add_argument("--goal", type=float, default=-250.0, help="return to mark and report (default %(default)s)")
    parser.add_argument("--run", help="results folder name (default: derived from the env)")
    parser.add_argument("--out", default="benchmarks/results", help="parent of the results folder (default %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing results folder's evaluations")
    parser.add_argument("--resume", action="store_true", help="keep the finished (run, seed) pairs already in the "
                        "results folder and train only the missing ones")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default %(default)s)")
    parser.add_argument("--executor", choices=EXECUTORS, default="local",
                        help="train the runs one after another here or as Ray tasks (default %(default)s)")
    parser.add_argument("--address", default="auto", help="with --executor ray: 'auto' or the head's HOST:PORT")
    parser.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2",
                        help="a SAC hyperparameter to sweep (repeatable; values as JSON), one condition per value")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    run_dir = Path(args.out) / (args.run or args.env.split("/")[-1].replace("-v0", "").lower() + "_sac")
    run_dir.mkdir(parents=True, exist_ok=True)
    log = run_dir / "evaluations.jsonl"
    if log.exists() and not args.resume:
        if not args.overwrite:
            parser.error(f"{log} exists; choose another --run, pass --resume to finish it or --overwrite to replace it")
        log.unlink()
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    thresholds = [args.goal, -500.0]
    started = time.perf_counter()

    conditions: list[tuple[str, str, str | None, dict]] = []
    task = task_of(args.env)
    for suffix, overrides in parse_grid(args.grid):
        params = {**sac_hyperparameters(args.env), **overrides}
        if not args.no_online:
            conditions.append((f"online {suffix}".strip(), args.env, None, params))
        if args.replay:
            conditions.append((f"pretrained {suffix}".strip(), args.env, args.replay, params))
        if is_livn_env(args.env) and not args.no_reference:
            conditions.append((f"reference {task} {suffix}".strip(), task, None, params))

    random_returns = random_baseline(args.env, args.eval_episodes)
    runs = [SweepRun(name, env_id, seed, {"timesteps": args.timesteps, "eval_every": args.eval_every,
                                         "eval_episodes": args.eval_episodes, "n_envs": args.n_envs, "replay": replay,
                                         "pretrain_steps": args.pretrain_steps, "hyperparameters": params})
            for name, env_id, replay, params in conditions for seed in seeds]

    def report(run: SweepRun, result, before: bool) -> None:
        last = result.evaluations[-1]
        print(f"[{run.run_name}] seed {run.seed}: " + (f"already in {log}" if before else
              f"final {last['mean_return']:.1f} after {last['steps']} steps, {result.seconds:.0f} s"), flush=True)

    results = dict(zip([run.key for run in runs],
                       run_sweep(runs, log, executor=args.executor, address=args.address, threads=args.threads,
                                 on_result=report)))
    summaries = [summarise(name, [results[name, seed] for seed in seeds], thresholds) for name, *_ in conditions]

    summary = {
        "command": "python benchmarks/rl.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "env": args.env,
        "algorithm": "stable-baselines3 SAC, MlpPolicy, rl-zoo hyperparameters "
                     f"{json.dumps(sac_hyperparameters(args.env))} (the rest SB3 defaults)",
        "evaluation": f"deterministic policy every {args.eval_every} steps on {args.eval_episodes} episodes, "
                      f"seeds {EVAL_SEED}..{EVAL_SEED + args.eval_episodes - 1}",
        "random_policy": {"mean_return": float(random_returns.mean()), "returns": random_returns.tolist()},
        "runs": summaries,
        "total_seconds": round(time.perf_counter() - started, 1),
        "machine": f"{platform.machine()}, Python {platform.python_version()}, torch threads {args.threads}",
        "executor": args.executor,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    evaluations = [e for e in read_evaluations(log) if e["run"] in {name for name, *_ in conditions}]
    plot_learning_curves(evaluations, run_dir / "learning_curves.png", title=f"SAC on {args.env}",
                         random_return=float(random_returns.mean()), goal=args.goal,
                         labels={"online": f"SAC on {args.env}", "pretrained": "SAC pretrained on the dataset",
                                 f"reference {task}": f"SAC on plain {task}"})
    print(json.dumps({s["run"]: {k: s[k] for k in ("final_mean_over_seeds", "steps_to_reach")} for s in summaries},
                     indent=2))
    print(f"wrote {run_dir}/", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
