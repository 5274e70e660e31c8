"""SAC learning curves on a registered env over several seeds, with a random policy and SAC on the plain task as
references; optionally pretrained on a dataset's replay buffer first.

Writes ``benchmarks/results/<run>/``: ``evaluations.jsonl`` (every evaluation, appended as it happens),
``summary.json`` and ``learning_curves.png``.

    python benchmarks/rl.py --env livn_rl/Pendulum-S2-v0 --timesteps 20000 --seeds 3
    python benchmarks/rl.py --env livn_rl/Pendulum-S2-v0 --timesteps 20000 --seeds 3 --replay data/S2-population
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
    EVAL_SEED, TrainResult, is_livn_env, plot_learning_curves, random_baseline, read_evaluations, sac_hyperparameters, summarise,
    task_of, train_sac,
)


def finished_runs(log: Path, timesteps: int) -> dict[tuple[str, int], TrainResult]:
    """The (run, seed) pairs of a results log that reached ``timesteps``, as TrainResults."""
    runs: dict[tuple[str, int], TrainResult] = {}
    for entry in read_evaluations(log):
        result = runs.setdefault((entry["run"], int(entry["seed"])), TrainResult())
        result.evaluations.append(entry)
        result.seconds = entry["wall_seconds"]
        result.pretrain_transitions = entry.get("pretrain_transitions", 0)
    return {key: r for key, r in runs.items() if r.evaluations[-1]["steps"] >= timesteps}


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
    finished = finished_runs(log, args.timesteps) if log.exists() else {}
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    thresholds = [args.goal, -500.0]
    started = time.perf_counter()

    conditions: list[tuple[str, str, str | None]] = []
    if not args.no_online:
        conditions.append(("online", args.env, None))
    if args.replay:
        conditions.append(("pretrained", args.env, args.replay))
    task = task_of(args.env)
    if is_livn_env(args.env) and not args.no_reference:
        conditions.append((f"reference {task}", task, None))

    random_returns = random_baseline(args.env, args.eval_episodes)
    summaries = []
    for name, env_id, replay in conditions:
        results = []
        for seed in seeds:
            if (name, seed) in finished:
                results.append(finished[name, seed])
                print(f"[{name}] seed {seed}: already in {log}", flush=True)
                continue
            print(f"[{name}] seed {seed} ...", flush=True)
            result = train_sac(env_id, timesteps=args.timesteps, seed=seed, eval_every=args.eval_every,
                               eval_episodes=args.eval_episodes, n_envs=args.n_envs, replay=replay,
                               pretrain_steps=args.pretrain_steps, log_path=log, run_name=name,
                               hyperparameters=sac_hyperparameters(args.env))
            last = result.evaluations[-1]
            print(f"[{name}] seed {seed}: final {last['mean_return']:.1f} after {last['steps']} steps, "
                  f"{result.seconds:.0f} s", flush=True)
            results.append(result)
        summaries.append(summarise(name, results, thresholds))

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
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    evaluations = [e for e in read_evaluations(log) if e["run"] in {name for name, _, _ in conditions}]
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
