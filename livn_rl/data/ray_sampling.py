"""Make a sampling plan's shards on a Ray cluster: long-lived actors, each with one simulation, make whole shards.

The plan is the local sampler's (:func:`~livn_rl.data.sampling.plan_sampling`: the same metadata, identity checks and
list of missing shards), and each actor runs the local sampler's shard maker, so shard ``k`` is the same bytes
whichever machine makes it. An actor writes its shard to a scratch folder of its own and sends the file to the driver,
which writes it into the dataset under a temporary name and renames it: the workers need no shared file system, and
a shard is on disk whole or not at all. A worker (or node) that dies loses only the shard it was making: it is
handed to a new worker, and after ``max_failures`` deaths the run stops with every finished shard kept; running it
again makes the rest.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livn_rl.checks import check_whole
from livn_rl.cluster import ClusterError, ray_session
from livn_rl.data.sampling import SampleReport, SamplingPlan, _ShardMaker
from livn_rl.data.store import install_shard, shard_sizes

__all__ = ["RaySampleReport", "WorkerFailure", "run_sampling_ray"]


class WorkerFailure(ClusterError):
    """Ray workers died more often than allowed; the finished shards are on disk."""


@dataclass
class RaySampleReport(SampleReport):
    """A :class:`~livn_rl.data.sampling.SampleReport` with what each Ray worker did.

    :param workers: per worker: ``host``, ``pid``, ``node``, ``shards``, ``trials``, ``seconds`` (simulating and
        writing its shards) and ``trials_per_second``
    :param failures: workers that died during the run (their shards were made again by others)
    """

    workers: list[dict[str, Any]] = field(default_factory=list)
    failures: int = 0


class _ProgressTally:
    """Trials made so far by each worker (a Ray actor the workers report to, for the progress bar)."""

    def __init__(self) -> None:
        self.trials: dict[int, int] = {}

    def add(self, worker: int, trials: int) -> None:
        self.trials[worker] = self.trials.get(worker, 0) + trials

    def snapshot(self) -> dict[int, int]:
        return dict(self.trials)


class _TallyCounter:
    """The counter interface the shard maker updates (``get_lock()``, ``value``), forwarding each increase to the
    tally actor without waiting for it."""

    def __init__(self, tally, worker: int) -> None:
        self.tally, self.worker, self._value = tally, worker, 0

    def get_lock(self):
        from contextlib import nullcontext

        return nullcontext()

    @property
    def value(self) -> int:
        return self._value

    @value.setter
    def value(self, new: int) -> None:
        self.tally.add.remote(self.worker, new - self._value)
        self._value = new


#: Scratch folders of shard workers are named ``livn_rl_shard_<pid>_...``.
SCRATCH_PREFIX = "livn_rl_shard_"


def _remove_orphaned_scratch() -> None:
    """Remove the scratch folders of shard workers on this machine whose process is gone (killed mid-shard)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*_*"):
        pid = folder.name[len(SCRATCH_PREFIX):].split("_", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # another user's live process
            continue


class ShardWorker:
    """A Ray actor that builds the dataset's simulation once and makes whole shards with it."""

    def __init__(self, meta: dict[str, Any], system, encoder, target: str, tally, worker: int) -> None:
        _remove_orphaned_scratch()
        self.maker = _ShardMaker(meta, system, encoder, target)
        self.counter = _TallyCounter(tally, worker)

    def where(self) -> dict[str, Any]:
        """The host, process and Ray node this worker runs on."""
        import ray

        return {"host": socket.gethostname(), "pid": os.getpid(), "node": ray.get_runtime_context().get_node_id()}

    def make(self, index: int) -> tuple[int, bytes, int, float]:
        """Shard ``index`` as the bytes of its Parquet file, with its trials and the seconds it took."""
        started = time.perf_counter()
        # removed once the shard is read; a worker killed in the middle of a shard leaves its folder behind, for the
        # next worker on this machine to remove (the folder names the process that made it)
        with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}_") as scratch:
            self.maker.meta = {**self.maker.meta, "folder": scratch}
            data = self.maker.make(index, self.counter).read_bytes()
        return index, data, shard_sizes(self.maker.meta)[index], time.perf_counter() - started


def run_sampling_ray(
    plan: SamplingPlan,
    *,
    address: str | None = "auto",
    workers: int | None = None,
    target: str = "auto",
    progress: bool = True,
    max_failures: int = 3,
) -> RaySampleReport:
    """Make the pending shards of ``plan`` with Ray actors (one simulation each, compiled once per worker process).

    :param plan: what :func:`~livn_rl.data.sampling.plan_sampling` found still to make
    :param address: the cluster: ``"auto"`` (the one this machine joined with ``ray start``), ``HOST:PORT`` of the
        head node, or None for a private Ray in this process. Ignored when this process is already connected.
    :param workers: actors (one CPU each); default: every CPU of the cluster, at most one per pending shard
    :param target: Brian2 code generation target of the workers
    :param progress: show a progress bar over trials, fed by the workers as they simulate
    :param max_failures: worker deaths tolerated; each one's shard is made again by a new worker
    :raises WorkerFailure: after more than ``max_failures`` deaths; every finished shard is kept
    :raises ClusterError: Ray missing or the cluster unreachable (nothing is sampled)
    """
    if workers is not None:
        workers = check_whole("workers", workers, 1)
    max_failures = check_whole("max_failures", max_failures, 0)
    with ray_session(address, num_cpus=workers) as ray:
        return _run(ray, plan, workers, target, progress, max_failures)


def _run(ray, plan: SamplingPlan, workers: int | None, target: str, progress: bool,
         max_failures: int) -> RaySampleReport:
    from ray.exceptions import RayActorError, WorkerCrashedError

    started = time.perf_counter()
    meta, folder, sizes = plan.meta, plan.folder, shard_sizes(plan.meta)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    n_workers = min(workers or max(cpus, 1), max(len(plan.pending), 1))
    queue = deque(plan.pending)
    tally = ray.remote(num_cpus=0)(_ProgressTally).remote()
    remote_worker = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0,
                               scheduling_strategy="SPREAD")(ShardWorker)
    stats: list[dict[str, Any]] = []  # one entry per worker started, in order (the worker's tally id)
    actors: dict[int, Any] = {}  # tally id -> live actor
    # result ref -> (tally id, shard index); index None: the worker's first answer (``where``), i.e. it is up. A worker
    # gets a shard only once it is up, so that a replacement that cannot be placed (a node lost, its CPU gone) holds
    # no shard back from the workers that remain.
    in_flight: dict[Any, tuple[int, int | None]] = {}
    idle: set[int] = set()
    failures, new_trials, last_error = 0, 0, ""

    def start_worker() -> None:
        wid = len(stats)
        actors[wid] = remote_worker.remote(meta, plan.system, plan.encoder, target, tally, wid)
        stats.append({"where": None, "shards": 0, "trials": 0, "seconds": 0.0})
        in_flight[actors[wid].where.remote()] = (wid, None)

    def submit(wid: int) -> None:
        if queue:
            index = queue.popleft()
            in_flight[actors[wid].make.remote(index)] = (wid, index)
        else:
            idle.add(wid)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=meta["samples"], initial=plan.trials_done, unit="trial",
                   desc=f"sampling {meta['system']['name']} on Ray ({n_workers} workers)")
    try:
        for _ in range(n_workers if queue else 0):
            start_worker()
        while queue or any(index is not None for _, index in in_flight.values()):
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=0.5)
            for ref in ready:
                wid, index = in_flight.pop(ref)
                try:
                    answer = ray.get(ref)
                except (RayActorError, WorkerCrashedError) as err:
                    failures += 1
                    last_error = " ".join(str(err).split())[:300]
                    if index is not None:
                        queue.appendleft(index)
                    ray.kill(actors.pop(wid), no_restart=True)
                    if failures > max_failures:
                        raise WorkerFailure(
                            f"{failures} Ray workers died (more than max_failures={max_failures}); the last: "
                            f"{last_error}") from None
                    start_worker()
                    continue
                entry = stats[wid]
                if index is None:
                    entry["where"] = answer
                else:
                    _, data, trials, seconds = answer
                    install_shard(folder, meta, index, data)
                    new_trials += trials
                    entry["shards"] += 1
                    entry["trials"] += trials
                    entry["seconds"] += seconds
                submit(wid)
            while queue and idle:  # a shard given back by a dead worker
                submit(idle.pop())
            if bar is not None:
                live = ray.get(tally.snapshot.remote())
                bar.n = plan.trials_done + new_trials + sum(
                    live.get(wid, 0) - stats[wid]["trials"] for wid in actors)
                bar.refresh()
        report = [_worker_report(entry) for entry in stats if entry["where"] is not None]
    finally:
        if bar is not None:
            bar.close()
        for actor in actors.values():
            ray.kill(actor, no_restart=True)
        ray.kill(tally, no_restart=True)
    return RaySampleReport(str(folder), meta["samples"], new_trials, len(plan.pending), len(sizes) - len(plan.pending),
                           time.perf_counter() - started, workers=report, failures=failures)


def _worker_report(entry: dict[str, Any]) -> dict[str, Any]:
    """One worker's line of the report: where it ran, what it made and how fast."""
    rate = entry["trials"] / entry["seconds"] if entry["seconds"] > 0 else 0.0
    return {**entry["where"], "shards": entry["shards"], "trials": entry["trials"],
            "seconds": round(entry["seconds"], 2), "trials_per_second": round(rate, 1)}
