"""Train many seeds (and hyperparameter settings) of SAC, one after another here or side by side as Ray tasks.

Every run logs its evaluations into one JSONL file (:func:`~livn_rl.experiments.sac.train_sac`'s format), which is
also the sweep's memory: a run whose evaluations there reached its timesteps is finished and is not trained again,
so a sweep stopped or crashed at any point is continued by calling it again. Local runs append each evaluation as it
happens; a Ray task trains on whichever machine has a free CPU and sends its evaluations (and model) back, and the
driver writes them when the run ends. Ray retries a task whose worker died.

>>> runs = [SweepRun("online", "livn_rl/Pendulum-S2-v0", seed, {"timesteps": 20_000}) for seed in range(8)]
>>> results = run_sweep(runs, "out/evaluations.jsonl", executor="ray", address="auto")
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from livn_rl.atomic import write_bytes
from livn_rl.experiments.sac import TrainResult, keep_logged, read_evaluations, train_sac

__all__ = ["EXECUTORS", "SweepRun", "finished_runs", "run_sweep"]

#: Where the runs of a sweep train.
EXECUTORS = ("local", "ray")


@dataclass
class SweepRun:
    """One training run of a sweep: :func:`~livn_rl.experiments.sac.train_sac` of ``env_id`` with ``seed``, logged as
    ``run_name``.

    :param run_name: the ``run`` field of its evaluations (a condition, e.g. ``"online"`` or ``"lr=3e-4"``)
    :param env_id: the registered env
    :param seed: its seed
    :param train_kwargs: the other arguments of ``train_sac`` (``timesteps`` required)
    """

    run_name: str
    env_id: str
    seed: int
    train_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, int]:
        return self.run_name, self.seed


def finished_runs(log: str | Path, runs: list[SweepRun]) -> dict[tuple[str, int], TrainResult]:
    """The runs of ``runs`` whose logged evaluations in ``log`` reached their ``timesteps``, as TrainResults."""
    wanted = {run.key: int(run.train_kwargs["timesteps"]) for run in runs}
    logged: dict[tuple[str, int], TrainResult] = {}
    for entry in read_evaluations(log) if Path(log).is_file() else []:
        key = (entry["run"], int(entry["seed"]))
        if key in wanted:
            result = logged.setdefault(key, TrainResult())
            result.evaluations.append(entry)
            result.seconds = entry["wall_seconds"]
            result.pretrain_transitions = entry.get("pretrain_transitions", 0)
    return {key: r for key, r in logged.items() if max(e["steps"] for e in r.evaluations) >= wanted[key]}


def _train_remote(run: SweepRun, threads: int) -> tuple[TrainResult, bytes]:
    """The body of a Ray task: train ``run`` on this worker; its result and its model file."""
    import torch

    import livn_rl  # noqa: F401  (registers the envs in this worker)

    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory(prefix="livn_rl_sweep_") as scratch:
        model = Path(scratch) / "model.zip"
        result = train_sac(run.env_id, seed=run.seed, run_name=run.run_name, progress=False, model_path=model,
                           **run.train_kwargs)
        return result, model.read_bytes()


def run_sweep(
    runs: list[SweepRun],
    log_path: str | Path,
    *,
    executor: str = "local",
    address: str | None = "auto",
    models: str | Path | None = None,
    threads: int = 1,
    progress: bool = True,
    on_result: Callable[[SweepRun, TrainResult, bool], None] | None = None,
) -> list[TrainResult]:
    """Train every run of ``runs`` not yet finished in ``log_path``; the results of all of them, in order.

    :param runs: the runs (``(run_name, seed)`` unique)
    :param log_path: the evaluations log of the sweep (created; finished runs in it are kept, not trained again)
    :param executor: ``"local"`` (one after another in this process) or ``"ray"`` (Ray tasks, one CPU each)
    :param address: with ``"ray"``: the cluster (``"auto"``, ``HOST:PORT``, or None for a private Ray here)
    :param models: a folder for each run's final model, ``<run_name>-seed<seed>.zip``
    :param threads: torch threads per run
    :param progress: progress bars (local: each run's steps; Ray: runs finished)
    :param on_result: called with ``(run, result, was_finished_before)`` as each run is known finished
    :raises ClusterError: Ray missing or the cluster unreachable
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    keys = [run.key for run in runs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"runs must differ in (run_name, seed); repeated: {sorted({k for k in keys if keys.count(k) > 1})}")
    log = Path(log_path)
    log.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(models) if models is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    results: dict[tuple[str, int], TrainResult] = dict(finished_runs(log, runs))
    for run in runs:
        if run.key in results and on_result is not None:
            on_result(run, results[run.key], True)
    todo = [run for run in runs if run.key not in results]

    def model_file(run: SweepRun) -> Path | None:
        return folder / f"{run.run_name}-seed{run.seed}.zip" if folder is not None else None

    def finish(run: SweepRun, result: TrainResult, model: bytes | None) -> None:
        if model is not None and folder is not None:
            write_bytes(model_file(run), model)
        results[run.key] = result
        if on_result is not None:
            on_result(run, result, False)

    if executor == "local":
        import torch

        torch.set_num_threads(threads)
        for run in todo:
            keep_logged(log, [], run.run_name, run.seed)  # drop what an unfinished earlier attempt logged
            finish(run, train_sac(run.env_id, seed=run.seed, run_name=run.run_name, progress=progress, log_path=log,
                                  model_path=model_file(run), **run.train_kwargs), None)
    elif todo:
        from livn_rl.cluster import ray_session

        with ray_session(address) as ray:
            task = ray.remote(num_cpus=1, max_retries=2)(_train_remote)
            pending = {task.remote(run, threads): run for run in todo}
            bar = None
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=len(runs), initial=len(runs) - len(todo), unit="run", desc="runs on Ray")
            try:
                while pending:
                    ready, _ = ray.wait(list(pending), num_returns=1)
                    run = pending.pop(ready[0])
                    result, model = ray.get(ready[0])
                    keep_logged(log, result.evaluations, run.run_name, run.seed)  # whole, replacing a partial run's
                    finish(run, result, model)
                    if bar is not None:
                        bar.update(1)
            finally:
                for ref in pending:
                    ray.cancel(ref, force=True)
                if bar is not None:
                    bar.close()
    return [results[run.key] for run in runs]
