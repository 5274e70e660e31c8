"""A dataset folder of ``livn-rl sample`` (all of it, or one shard) as a :class:`~livn_rl.export.Session`.

The trials are laid one after another on one session timeline, in trial order: trial ``j`` of the file spans
``[j * t_end, (j + 1) * t_end)``. Every neuron is one unit over the whole timeline (the copies of a shard are
cultures of the same structure), every trial one row of the trials table. The stimulation is the encoder's,
made again from each trial's features (which describe it exactly, :meth:`~livn_rl.encoders.Encoder.from_features`)
in the sampler's order (the encoders are deterministic), so it is exactly what the culture received.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np

from livn_rl.data import DatasetError, dataset_meta, load_dataset
from livn_rl.data.identity import describe_differences, require_identity
from livn_rl.data.store import META_FILE, completed_shards, shard_sizes
from livn_rl.export.metadata import ExportError, SystemInfo
from livn_rl.export.session import STIMULATION_DTYPE, Session, pulse_table
from livn_rl.recording import Recording

__all__ = ["dataset_session", "finished_shards"]


def finished_shards(folder: str | Path) -> list[bool]:
    """Which shards of the dataset in ``folder`` are finished (one entry per shard)."""
    try:
        return completed_shards(folder, dataset_meta(folder))
    except DatasetError as err:
        raise ExportError(str(err)) from None


def _system(meta: dict, system, folder: Path):
    """The dataset's system, rebuilt from its spec (or ``system``) and checked against the dataset's identity."""
    from livn_rl.systems import make_system

    spec = system if system is not None else meta["system"]["spec"]
    if spec is None:
        raise ExportError(f"the dataset's system {meta['system']['name']!r} was given as a config object, so it cannot "
                          f"be rebuilt from the metadata; pass the system (a name or config file: --system)")
    try:
        recorded = require_identity(meta, folder)
        built = make_system(spec)
    except (ValueError, DatasetError) as err:
        raise ExportError(f"cannot build the dataset's system from {spec!r}: {err}") from None
    problems = describe_differences({"system": recorded["system"], "mea": recorded["mea"]},
                                    {"system": built.identity(), "mea": built.mea.to_dict()}, "dataset", "rebuilt")
    if problems:
        raise ExportError(f"system {spec!r} is not the one the dataset was made with: {'; '.join(problems)}")
    return built


def _ragged(table, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A list column of an Arrow table as (all values, length of each row); a column nested per trial (``trial_it``,
    ``trial_t``: one trial per livn_rl sample) is taken by its trials."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = table.column(name).combine_chunks()
    if pa.types.is_list(column.type.value_type):
        column = column.flatten()  # one inner list per row: a livn_rl sample holds one trial
    return column.flatten().to_numpy(zero_copy_only=False), pc.list_value_length(column).to_numpy(zero_copy_only=False)


def dataset_session(folder: str | Path, *, shard: int | None = None, system=None, progress: bool = False) -> Session:
    """The trials of a dataset folder (every shard, or shard ``shard`` alone) as one session.

    :param folder: a folder written by ``livn-rl sample``
    :param shard: export this shard only (default: the whole dataset, every shard of which must be finished)
    :param system: the dataset's system when its metadata cannot rebuild it (made from a config object)
    :param progress: a progress bar over the trials while their stimulation is made again
    """
    folder = Path(folder)
    try:
        meta = dataset_meta(folder)
        sizes = shard_sizes(meta)
        if shard is not None:
            if isinstance(shard, bool) or not isinstance(shard, (int, np.integer)) or not 0 <= shard < len(sizes):
                raise ExportError(f"shard {shard!r} does not exist: {folder} has shards 0..{len(sizes) - 1}")
            if not completed_shards(folder, meta)[shard]:
                raise ExportError(f"shard {shard} of {folder} is missing (sampling stopped before making it); run "
                                  f"`{meta['command']}` again to finish the dataset")
        trials = load_dataset(folder, allow_incomplete=shard is not None).data.table
    except DatasetError as err:
        raise ExportError(str(err)) from None
    if shard is not None:
        first = shard * int(meta["shard_size"])
        index = trials.column("trial").to_numpy()
        trials = trials.filter((index >= first) & (index < first + sizes[shard]))
    built = _system(meta, system, folder)
    window = float(meta["window_ms"])
    n = trials.num_rows
    start = np.arange(n) * window
    offsets = {}
    arrays = {}
    for name in ("trial_it", "trial_t", "channel_it", "channel_t", "channel_unit"):
        arrays[name], lengths = _ragged(trials, name)
        offsets[name] = np.repeat(start, lengths)
    recording = Recording(
        0.0, n * window, built.n_neurons, built.mea.n_channels, 1,
        arrays["trial_it"].astype(np.int64), offsets["trial_t"] + arrays["trial_t"].astype(np.float64),
        np.zeros(arrays["trial_it"].size, np.int64),
        arrays["channel_it"].astype(np.int64), offsets["channel_t"] + arrays["channel_t"].astype(np.float64),
        arrays["channel_unit"].astype(np.int64), np.zeros(arrays["channel_it"].size, np.int64),
    )
    columns = {name: trials.column(name).to_numpy() for name in ("trial", "episode", "step", "seed")}
    columns["culture_copy"] = trials.column("copy").to_numpy()  # "copy" is taken by pynwb's tables
    features = np.stack(trials.column("features").to_numpy(zero_copy_only=False)).astype(np.float32)
    stimulation = _stimulation(meta, built, features, columns, start, progress)
    what = f"shard {shard} ({n} trials)" if shard is not None else f"all {n} trials"
    created = datetime.datetime.fromtimestamp((folder / META_FILE).stat().st_mtime).astimezone()
    metadata = {
        "description": f"{what} of the livn_rl dataset {folder.name!r}: {meta['window_ms']:g} ms stimulus-response "
                       f"trials of {built.name}, laid one after another on this file's timeline",
        "seed": meta["seed"], "created": created.isoformat(timespec="seconds"), "command": meta["command"],
        "versions": meta["versions"], "dataset": folder.name, "shard": shard, "encoder": meta["encoder"]["repr"],
        "noise": meta["noise"], "trials_per_episode": meta["trials_per_episode"],
    }
    return Session("dataset", SystemInfo.from_system(built), recording, float(meta["dt_ms"]), stimulation,
                   trials={"start_ms": start, "stop_ms": start + window, **columns, "features": features},
                   metadata=metadata)


def _stimulation(meta: dict, system, features: np.ndarray, columns: dict, start: np.ndarray, progress: bool) -> np.ndarray:
    """The pulses each trial received: its features encoded again, episode by episode in step order, by a fresh
    encoder per episode (as the sampler did); none if the dataset's encoder was an object rather than a spec."""
    from livn_rl.encoders import StimulationContext, make_encoder

    spec = meta["encoder"]["spec"]
    if spec is None:
        return np.empty(0, STIMULATION_DTYPE)
    context = StimulationContext(system.mea, float(meta["window_ms"]), float(meta["dt_ms"]))
    order = np.lexsort((columns["step"], columns["episode"]))
    rows = [np.empty(0, STIMULATION_DTYPE)]
    encoder, episode = None, None
    if progress:
        from tqdm.auto import tqdm

        order = tqdm(order, unit="trial", desc="stimulation")
    for j in order:
        if columns["episode"][j] != episode or encoder is None:
            episode = columns["episode"][j]
            encoder = make_encoder(spec)
            encoder.bind(context)
            encoder.reset(None)
        rows.append(pulse_table(encoder.encode(encoder.from_features(features[j])), start[j], trial=int(j)))
    return np.concatenate(rows)
