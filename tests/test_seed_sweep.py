"""Seed sweeps on this machine (the Ray executor is tested on a cluster in test_ray.py): finished runs are kept from
the log, an unfinished run's evaluations are replaced, not duplicated."""

from __future__ import annotations

import json

import pytest

from livn_rl.cli import main
from livn_rl.experiments.sac import read_evaluations
from livn_rl.experiments.seed_sweep import SweepRun, finished_runs, run_sweep

TINY = {"timesteps": 120, "eval_every": 120, "eval_episodes": 1}


def test_a_local_sweep_trains_only_the_runs_not_finished(tmp_path):
    log = tmp_path / "evaluations.jsonl"
    runs = [SweepRun("online", "Pendulum-v1", seed, TINY) for seed in (0, 1)]
    # seed 1 was stopped halfway by an earlier attempt: its evaluation at step 0 is in the log
    stale = {"run": "online", "env": "Pendulum-v1", "seed": 1, "steps": 0, "mean_return": -1.0, "std_return": 0.0,
             "returns": [-1.0], "wall_seconds": 1.0, "pretrain_transitions": 0}
    log.write_text(json.dumps(stale) + "\n")
    assert finished_runs(log, runs) == {}
    seen = []
    results = run_sweep(runs, log, models=tmp_path / "models", progress=False,
                        on_result=lambda run, result, before: seen.append((run.seed, before)))
    assert seen == [(0, False), (1, False)]
    logged = read_evaluations(log)
    assert sorted((e["seed"], e["steps"]) for e in logged) == [(0, 0), (0, 120), (1, 0), (1, 120)]
    assert -1.0 not in [e["mean_return"] for e in logged]
    assert [r.evaluations[-1]["steps"] for r in results] == [120, 120]
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["online-seed0.zip", "online-seed1.zip"]

    seen.clear()
    again = run_sweep(runs + [SweepRun("online", "Pendulum-v1", 2, TINY)], log, progress=False,
                      on_result=lambda run, result, before: seen.append((run.seed, before)))
    assert seen == [(0, True), (1, True), (2, False)]
    assert [r.evaluations for r in again[:2]] == [r.evaluations for r in results]


def test_sweep_arguments_are_checked(tmp_path):
    run = SweepRun("online", "Pendulum-v1", 0, TINY)
    with pytest.raises(ValueError, match="executor must be one of local, ray"):
        run_sweep([run], tmp_path / "log.jsonl", executor="mpi")
    with pytest.raises(ValueError, match=r"repeated: \[\('online', 0\)\]"):
        run_sweep([run, run], tmp_path / "log.jsonl")


def test_livn_rl_train_seeds_locally_and_resume(tmp_path, capsys):
    out = tmp_path / "sweep"
    args = ["train", "Pendulum-v1", "--timesteps", "120", "--eval-every", "120", "--eval-episodes", "1", "--seeds", "2",
            "--seed", "5", "--out", str(out), "-q"]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seeds"] == [5, 6] and summary["executor"] == "local"
    assert (out / "learning_curve.png").is_file()
    assert main(args) == 2 and "--resume" in capsys.readouterr().err
    assert main(args + ["--resume"]) == 0
    assert capsys.readouterr().out.count("(finished before, kept)") == 2
    assert main(args + ["--seeds", "0"]) == 2
