"""Record stimulus-response trials of a system into a dataset folder, shard by shard, resumably.

Trial ``t`` belongs to episode ``t // trials_per_episode``; episodes are simulated ``n_copies`` at a time as copies
of one network (one *batch*), and one batch is one shard. Everything in a shard (the cultures, the features, the
noise) is drawn from ``(seed, shard index)``, so a shard is the same whether it is made in the first run, after a
restart or by another worker, and a restarted sampler only makes the shards that are missing.
"""

from __future__ import annotations

import copy as copy_module
import multiprocessing
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from livn_rl.checks import check_number, check_whole
from livn_rl.data.identity import dataset_identity, describe_differences, package_version, require_identity
from livn_rl.data.store import (
    FORMAT_VERSION, PARTIAL_SHARD_GLOB, DatasetError, check_split, columns, completed_shards, is_dataset_folder, read_meta,
    shard_sizes,
    write_card, write_meta, write_shard,
)
from livn_rl.identity import canonical, config_hash


@dataclass
class SampleReport:
    """What a call of :func:`sample_dataset` did.

    :param folder: the dataset folder
    :param samples: trials in the dataset
    :param new_trials: trials made by this call (the rest were already on disk)
    :param shards_made: shards written by this call
    :param shards_kept: complete shards found on disk and left as they were
    :param seconds: wall time
    """

    folder: str
    samples: int
    new_trials: int
    shards_made: int
    shards_kept: int
    seconds: float

    @property
    def trials_per_second(self) -> float:
        return self.new_trials / self.seconds if self.seconds > 0 else float("nan")


def package_versions(names=("livn_rl", "brian2", "numpy", "datasets", "pyarrow")) -> dict[str, str]:
    """The Python version and the installed version of each package in ``names`` (for metadata of made data)."""
    found = {"python": sys.version.split()[0]}
    found.update({name: package_version(name) for name in names})
    return found


#: The engine's control interval: trial lengths are whole multiples of it.
CONTROL_DT_MS = 1.0
#: Metadata keys that say how the trials were drawn; with the identity they define a dataset, and a folder made with
#: other values is not resumed.
SETTINGS = ("format_version", "split", "samples", "trials_per_episode", "seed", "n_copies", "shard_size",
            "record_voltage")


def build_meta(system, encoder, *, samples: int, window_ms: float, trials_per_episode: int, noise: bool, seed: int,
               n_copies: int, dt_ms: float, command: str, split: str = "train",
               record_voltage: bool = False) -> dict[str, Any]:
    """The metadata of a dataset to be sampled (and the arguments checked)."""
    from livn_rl.encoders import StimulationContext, make_encoder
    from livn_rl.systems import make_system

    samples = check_whole("samples", samples, 1)
    trials_per_episode = check_whole("trials_per_episode", trials_per_episode, 1)
    n_copies = check_whole("n_copies", n_copies, 1)
    seed = check_whole("seed", seed, 0)
    if not isinstance(noise, (bool, np.bool_)):
        raise ValueError(f"noise must be True or False, got {noise!r}")
    if not isinstance(record_voltage, (bool, np.bool_)):
        raise ValueError(f"record_voltage must be True or False, got {record_voltage!r}")
    split = check_split(split)
    window_ms = check_number("window_ms", window_ms, 0.0, low_open=True)
    dt_ms = check_number("dt_ms", dt_ms, 0.0, low_open=True)
    for grid_ms in (dt_ms, CONTROL_DT_MS):
        if abs(window_ms / grid_ms - round(window_ms / grid_ms)) > 1e-9:
            raise ValueError(f"window_ms={window_ms} must be a whole multiple of dt_ms={dt_ms} and of the engine's "
                             f"{CONTROL_DT_MS} ms control interval")
    built = make_system(system)
    if built.mea is None:
        raise ValueError(f"system {built.name!r} has no MEA to stimulate and record it through")
    instance = make_encoder(encoder)
    instance.bind(StimulationContext(built.mea, float(window_ms), float(dt_ms)))  # checks window and amplitudes
    space = instance.input_space
    if not (isinstance(space, gym.spaces.Box) and np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
        raise ValueError(f"the encoder's input space must be a bounded Box to draw random features from, got {space}")
    spec = encoder if isinstance(encoder, (str, dict)) else None
    identity = dataset_identity(built, built.mea, instance, window_ms=window_ms, dt_ms=dt_ms, noise=bool(noise))
    return {
        "format_version": FORMAT_VERSION,
        "content_hash": config_hash(identity),
        "identity": canonical(identity),
        "system": {"name": built.name, "spec": str(system) if isinstance(system, (str, Path)) else None,
                   "n_neurons": built.n_neurons,
                   "populations": [{"name": p.name, "start": p.start, "stop": p.stop} for p in built.populations]},
        "mea": {"n_channels": built.mea.n_channels},
        "encoder": {"spec": spec, "repr": repr(instance), "input_low": space.low.tolist(),
                    "input_high": space.high.tolist(), "feature_units": instance.feature_units,
                    "feature_low": instance.feature_space.low.tolist(),
                    "feature_high": instance.feature_space.high.tolist()},
        "window_ms": float(window_ms),
        "dt_ms": float(dt_ms),
        "noise": bool(noise),
        "split": split,
        "record_voltage": bool(record_voltage),
        "samples": samples,
        "trials_per_episode": trials_per_episode,
        "seed": seed,
        "n_copies": n_copies,
        "shard_size": n_copies * trials_per_episode,
        "versions": package_versions(),
        "command": command,
    }


class _ShardMaker:
    """Simulates the batches of one dataset (one Simulation, reused for every shard this process makes)."""

    def __init__(self, meta: dict[str, Any], system, encoder, target: str) -> None:
        from livn_rl.encoders import StimulationContext, make_encoder
        from livn_rl.engine import Simulation

        self.meta = meta
        self.sim = Simulation(system, seed=meta["seed"], n_copies=meta["n_copies"], dt_ms=meta["dt_ms"],
                              target=target, background=meta["noise"],
                              record_voltages=range(meta["system"]["n_neurons"]) if meta["record_voltage"] else None)
        context = StimulationContext(self.sim.mea, meta["window_ms"], meta["dt_ms"])
        template = make_encoder(encoder)
        self.encoders = [copy_module.deepcopy(template) for _ in range(meta["n_copies"])]
        for e in self.encoders:
            e.bind(context)
        self.low = np.asarray(meta["encoder"]["input_low"], np.float32)
        self.high = np.asarray(meta["encoder"]["input_high"], np.float32)

    def make(self, index: int, counter=None) -> Path:
        """Simulate shard ``index`` and write it."""
        from livn_rl.stimulus import stack_copies

        meta, sim = self.meta, self.sim
        k_copies, steps, window = meta["n_copies"], meta["trials_per_episode"], meta["window_ms"]
        first = index * meta["shard_size"]
        n_rows = shard_sizes(meta)[index]
        seed = int(np.random.SeedSequence([meta["seed"], index]).generate_state(1)[0])
        rng = np.random.default_rng([meta["seed"], index, 1])
        features = rng.uniform(self.low, self.high, (steps, k_copies, self.low.size)).astype(np.float32)
        sim.reset(seed)
        for e in self.encoders:
            e.reset(rng)
        rows: dict[str, list] = {name: [] for name in columns(meta)}
        c = sim.n_channels
        for step in range(steps):
            # trial = first + copy * steps + step: episodes are contiguous in the dataset
            live = [k for k in range(k_copies) if k * steps + step < n_rows]
            if not live:
                break
            # the stimulation is that of the stored (float32) features, so the features describe it exactly
            stored = [self.encoders[k].to_features(features[step, k]) for k in range(k_copies)]
            stimuli = [self.encoders[k].encode(self.encoders[k].from_features(stored[k])) for k in range(k_copies)]
            stacked = stack_copies(stimuli, c, window, meta["dt_ms"])
            recording = sim.step(stacked if np.any(stacked) else None, window)
            t0 = recording.t_start_ms
            for k in live:
                n, ch = recording.neuron_copy == k, recording.channel_copy == k
                trial = first + k * steps + step
                rows["trial"].append(trial)
                rows["episode"].append(trial // steps)
                rows["step"].append(step)
                rows["seed"].append(seed)
                rows["copy"].append(k)
                rows["features"].append(stored[k].tolist())
                rows["t_end"].append(window)
                rows["trial_it"].append([recording.neuron_i[n].astype(np.int32).tolist()])  # one trial per sample
                rows["trial_t"].append([(recording.neuron_t_ms[n] - t0).astype(np.float32).tolist()])
                if meta["record_voltage"]:
                    rows["trial_iv"].append([recording.voltage_index.astype(np.int32).tolist()])
                    rows["trial_vv"].append([recording.voltage_mv[k].astype(np.float32).tolist()])
                rows["channel_it"].append(recording.channel_c[ch].astype(np.int32).tolist())
                rows["channel_t"].append((recording.channel_t_ms[ch] - t0).astype(np.float32).tolist())
                rows["channel_unit"].append(recording.channel_unit[ch].astype(np.int32).tolist())
            if counter is not None:
                with counter.get_lock():
                    counter.value += len(live)
        order = np.argsort(rows["trial"], kind="stable")
        return write_shard(Path(meta["folder"]), meta, index, {k: [v[i] for i in order] for k, v in rows.items()})

    def close(self) -> None:
        self.sim.close()


_worker: _ShardMaker | None = None
_worker_counter = None


def _init_worker(meta, system, encoder, target, counter) -> None:
    global _worker, _worker_counter
    _worker = _ShardMaker(meta, system, encoder, target)
    _worker_counter = counter


def _make_in_worker(index: int) -> int:
    _worker.make(index, _worker_counter)
    return index


@dataclass
class SamplingPlan:
    """A checked dataset folder and what is left to sample into it (:func:`plan_sampling`).

    :param folder: the dataset folder (created, with its metadata and card written)
    :param meta: the dataset's metadata
    :param pending: indices of the shards still to make
    :param system: the system as given
    :param encoder: the encoder as given
    """

    folder: Path
    meta: dict[str, Any]
    pending: list[int]
    system: Any
    encoder: Any

    @property
    def trials_done(self) -> int:
        """Trials already on disk when the plan was made."""
        return sum(n for k, n in enumerate(shard_sizes(self.meta)) if k not in self.pending)


def plan_sampling(
    system="S2",
    out: str | Path = "data/S2",
    *,
    samples: int = 10_000,
    encoder="pulse",
    window_ms: float = 50.0,
    trials_per_episode: int = 200,
    noise: bool = True,
    seed: int = 0,
    n_copies: int = 8,
    dt_ms: float = 0.1,
    split: str = "train",
    record_voltage: bool = False,
    command: str | None = None,
) -> SamplingPlan:
    """Check the arguments and the folder ``out`` (see :func:`sample_dataset`), write the dataset's metadata and card,
    and find the shards still to make. Nothing is simulated.

    :raises ValueError: for a bad argument
    :raises DatasetError: for a folder that holds something else (other settings, not a dataset)
    """
    folder = Path(out)
    command = command or "livn_rl.data.sample_dataset(...)"
    meta = build_meta(system, encoder, samples=samples, window_ms=window_ms, trials_per_episode=trials_per_episode,
                      noise=noise, seed=seed, n_copies=n_copies, dt_ms=dt_ms, command=command, split=split,
                      record_voltage=record_voltage)
    if is_dataset_folder(folder):
        previous = read_meta(folder)
        old_identity = require_identity(previous, folder)
        changed = describe_differences({k: previous.get(k) for k in SETTINGS}, {k: meta[k] for k in SETTINGS},
                                       "on disk", "asked")
        changed += describe_differences(old_identity, meta["identity"], "on disk", "asked")
        if changed:
            raise DatasetError(f"{folder} holds a dataset made with other settings ({'; '.join(changed)}); choose "
                               f"another folder to keep both, or delete it to start again")
        meta["command"], meta["versions"] = previous["command"], previous["versions"]
    elif folder.exists() and any(folder.iterdir()):
        raise DatasetError(f"{folder} exists and is not a livn_rl dataset (no meta.json); choose an empty or new folder")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(PARTIAL_SHARD_GLOB):
        stale.unlink()  # a shard whose writer was killed; it is made again below
    write_meta(folder, meta)
    write_card(folder, meta)
    done = completed_shards(folder, meta)
    return SamplingPlan(folder, meta, [k for k, finished in enumerate(done) if not finished], system, encoder)


def sample_dataset(
    system="S2",
    out: str | Path = "data/S2",
    *,
    samples: int = 10_000,
    encoder="pulse",
    window_ms: float = 50.0,
    trials_per_episode: int = 200,
    noise: bool = True,
    seed: int = 0,
    n_copies: int = 8,
    workers: int = 1,
    dt_ms: float = 0.1,
    split: str = "train",
    record_voltage: bool = False,
    target: str = "auto",
    progress: bool = True,
    command: str | None = None,
) -> SampleReport:
    """Record ``samples`` stimulus-response trials of ``system`` into the dataset folder ``out``.

    Each sample is one window: features drawn uniformly from the encoder's input space are encoded into stimulation,
    the culture is simulated, and its spikes (every neuron's, and what every electrode detected) are recorded, in
    livn's layout (see :mod:`livn_rl.data.store`). Calling it again on the same folder with the same settings makes
    only the shards that are missing. Short closed-loop windows (50 ms, 200 per episode) and livn's long samples
    (``window_ms=5000``, ``trials_per_episode=1``, ``encoder={"name": "pulse", "n_pulses": 10}``) are both made.

    :param system: the culture (``"S2"``, a config or a System)
    :param out: the dataset folder (created; an existing one must hold a dataset of the same settings)
    :param samples: number of trials
    :param encoder: features -> stimulation: a built-in name (``"pulse"``: channel, onset (ms) and amplitude (uA)
        per pulse, livn's features), ``{"name": ..., **params}`` or an Encoder
    :param window_ms: trial length (ms)
    :param trials_per_episode: consecutive trials on one culture before it is reset
    :param noise: background noise on or off
    :param seed: seed of everything random (cultures, features, noise)
    :param n_copies: episodes simulated side by side as copies of one network (one shard)
    :param workers: processes making shards in parallel
    :param dt_ms: simulation time step (ms)
    :param split: the split the samples form, named as livn's (``"train"``, ``"test"``, ``"train_with_noise"``) or
        any lowercase name; a folder holds one split (sample the test split into another folder, with another seed)
    :param record_voltage: also record every neuron's membrane voltage (columns ``trial_iv``, ``trial_vv``; large)
    :param target: Brian2 code generation target
    :param progress: show a progress bar over trials
    :param command: the command line to record in the dataset card
    """
    workers = check_whole("workers", workers, 1)
    plan = plan_sampling(system, out, samples=samples, encoder=encoder, window_ms=window_ms,
                         trials_per_episode=trials_per_episode, noise=noise, seed=seed, n_copies=n_copies, dt_ms=dt_ms,
                         split=split, record_voltage=record_voltage, command=command)
    return run_sampling(plan, workers=workers, target=target, progress=progress)


def run_sampling(plan: SamplingPlan, *, workers: int = 1, target: str = "auto", progress: bool = True) -> SampleReport:
    """Make the pending shards of ``plan`` (see :func:`sample_dataset` for the arguments).

    Stopped by Ctrl-C, it keeps every finished shard; running it again (or :func:`sample_dataset` with the same
    arguments) makes only the rest.
    """
    workers = check_whole("workers", workers, 1)
    started = time.perf_counter()
    folder, meta, pending, system, encoder = plan.folder, plan.meta, plan.pending, plan.system, plan.encoder
    sizes = shard_sizes(meta)
    already = plan.trials_done
    meta_run = {**meta, "folder": str(folder)}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=meta["samples"], initial=already, unit="trial", desc=f"sampling {meta['system']['name']}")
    counter = multiprocessing.get_context("spawn").Value("q", 0)
    try:
        if pending and workers == 1:
            maker = _ShardMaker(meta_run, system, encoder, target)
            try:
                for index in pending:
                    before = counter.value
                    maker.make(index, counter)
                    if bar is not None:
                        bar.update(counter.value - before)
            finally:
                maker.close()
        elif pending:
            context = multiprocessing.get_context("spawn")  # a fresh interpreter per worker: no forked Brian2 state
            with context.Pool(min(workers, len(pending)), initializer=_init_worker,
                              initargs=(meta_run, system, encoder, target, counter)) as pool:
                result = pool.map_async(_make_in_worker, pending, chunksize=1)
                while not result.ready():
                    result.wait(0.25)
                    if bar is not None:
                        bar.n = already + counter.value
                        bar.refresh()
                result.get()
    finally:
        if bar is not None:
            bar.n = already + counter.value
            bar.close()
    return SampleReport(str(folder), meta["samples"], int(counter.value), len(pending), len(sizes) - len(pending),
                        time.perf_counter() - started)


__all__ = [
    "SETTINGS", "SampleReport", "SamplingPlan", "build_meta", "package_versions", "plan_sampling", "run_sampling",
    "sample_dataset",
]
