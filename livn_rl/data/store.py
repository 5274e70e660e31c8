"""The on-disk form of a stimulus-response dataset: Parquet shards, a metadata file and a dataset card.

A dataset folder holds::

    meta.json                     how the trials were made: their identity (full system config, MEA, encoder,
                                  window, dt, noise, code versions) and its content hash, seeds, versions
    README.md                     the dataset card (Hugging Face format: YAML header + prose)
    data/<split>-00000.parquet    shard k holds trials k * shard_size ... (k + 1) * shard_size - 1
    data/<split>-00001.parquet    (<split>: train, test, train_with_noise, ...)

Every row is one sample: one window of ``t_end`` ms in which the culture received the stimulation encoded from
``features`` and answered with the recorded spikes. The rows are in livn's published layout (``datasets.load_dataset(
"livn-org/livn", name="S2")``), so livn's reading code works on them unchanged: ``sample["trial_it"][0]`` and
``sample["trial_t"][0]`` are the neuron ids and spike times (ms) of the sample's first trial (spikes are nested, one
inner list per trial; a livn_rl sample holds one trial), ``sample["features"]`` is the encoder's features in the
encoder's own units (the pulse encoder's are livn's: per pulse ``[channel, onset ms, amplitude uA]``), ``t_end`` the
sample's length (ms), and with ``record_voltage`` ``trial_iv`` / ``trial_vv`` hold the recorded neurons and their
membrane voltage traces. Ours besides: ``channel_*`` (what the MEA detected) and ``trial``, ``episode``, ``step``,
``copy``, ``seed`` (where the sample sits in its run). Shards are named after the split (``train``, ``test``,
``train_with_noise``, ... as livn's). A shard is written to a temporary name and renamed when complete, so a folder
never holds a half-written shard under a final name.

Format version 1 (flat spike lists, features as the encoder's [-1, 1] input) is refused with the command that makes
the dataset again in this format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from livn_rl.atomic import PARTIAL_GLOB, atomic_path, write_bytes, write_json, write_text

META_FILE = "meta.json"
CARD_FILE = "README.md"
SHARD_DIR = "data"
SHARD_PATTERN = "{split}-{index:05d}.parquet"
#: Shards a killed writer left under their temporary names (relative to the dataset folder).
PARTIAL_SHARD_GLOB = f"{SHARD_DIR}/{PARTIAL_GLOB}"
#: Bumped whenever the columns change; a dataset of another version is refused with a clear error.
FORMAT_VERSION = 2
#: Split names of livn's published datasets (any other lowercase name made of letters, digits and _ works too).
LIVN_SPLITS = ("train", "test", "train_with_noise")

#: column -> (Arrow type name, meaning); the order is the column order on disk.
COLUMNS: dict[str, tuple[str, str]] = {
    "trial": ("int64", "index of the trial in the dataset (0, 1, ...)"),
    "episode": ("int64", "run of consecutive trials on one culture (the culture is fresh at step 0)"),
    "step": ("int32", "index of the trial in its episode"),
    "seed": ("int64", "seed of the culture's reset for this episode"),
    "copy": ("int32", "copy of the culture within the batched simulation (the culture's initial state is drawn "
                      "from seed and copy)"),
    "features": ("list<float32>", "the encoder's features of the stimulation, in the encoder's units (meta.json "
                                  "encoder.feature_units; the pulse encoder: per pulse channel, onset (ms), amplitude "
                                  "(uA), livn's features)"),
    "t_end": ("float32", "length of the sample (ms)"),
    "trial_it": ("list<list<int32>>", "neuron id of every spike, one inner list per trial (one trial per sample)"),
    "trial_t": ("list<list<float32>>", "time of every spike from the start of the sample (ms), one inner list per "
                                       "trial"),
    "channel_it": ("list<int32>", "MEA channel of every detected spike"),
    "channel_t": ("list<float32>", "time of every detected spike from the start of the sample (ms)"),
    "channel_unit": ("list<int32>", "neuron that caused each detected spike (-1: a noise crossing)"),
}
#: The voltage columns, written when the dataset records voltages (``record_voltage``).
VOLTAGE_COLUMNS: dict[str, tuple[str, str]] = {
    "trial_iv": ("list<list<int32>>", "ids of the neurons whose membrane voltage was recorded, one inner list per "
                                      "trial"),
    "trial_vv": ("list<list<list<float32>>>", "membrane voltage (mV) of each recorded neuron, sampled every dt_ms "
                                              "from the start of the sample, one list of traces per trial"),
}
#: The columns a dataset needs to be turned into a replay buffer.
REPLAY_COLUMNS = ("trial", "episode", "step", "features", "t_end", "trial_it", "trial_t", "channel_it", "channel_t",
                  "channel_unit")


class DatasetError(ValueError):
    """A dataset folder that cannot be used as asked: missing, corrupt, partial or made for something else."""


def columns(meta: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """The columns of the dataset described by ``meta``: :data:`COLUMNS`, and the voltage columns if it records
    voltages."""
    return {**COLUMNS, **(VOLTAGE_COLUMNS if meta.get("record_voltage") else {})}


def _arrow_type(kind: str):
    import pyarrow as pa

    if kind.startswith("list<"):
        return pa.list_(_arrow_type(kind[5:-1]))
    return {"int64": pa.int64(), "int32": pa.int32(), "float32": pa.float32()}[kind]


def arrow_schema(meta: dict[str, Any] | None = None):
    """The Arrow schema of a shard of the dataset described by ``meta`` (default: one without voltages)."""
    import pyarrow as pa

    return pa.schema([(name, _arrow_type(kind)) for name, (kind, _) in columns(meta or {}).items()])


def check_split(split: str) -> str:
    """``split`` if it is a usable split name (lowercase letters, digits and ``_``, as livn's), else a ValueError."""
    if not isinstance(split, str) or not split or not all(c.islower() or c.isdigit() or c == "_" for c in split) \
            or not split[0].isalpha():
        raise ValueError(f"split must be a name of lowercase letters, digits and _ such as livn's {list(LIVN_SPLITS)}, "
                         f"got {split!r}")
    return split


def shard_path(folder: str | Path, index: int, split: str = "train") -> Path:
    return Path(folder) / SHARD_DIR / SHARD_PATTERN.format(split=split, index=index)


def write_shard(folder: str | Path, meta: dict[str, Any], index: int, rows: dict[str, list]) -> Path:
    """Write shard ``index`` of the dataset described by ``meta`` atomically (temporary file, then rename) and
    return its path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = shard_path(folder, index, meta["split"])
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = arrow_schema(meta)
    table = pa.Table.from_pydict({name: rows[name] for name in schema.names}, schema=schema)
    with atomic_path(path) as partial:
        pq.write_table(table, partial)
    return path


def install_shard(folder: str | Path, meta: dict[str, Any], index: int, data: bytes) -> Path:
    """Put shard ``index``, a Parquet file made elsewhere (``data``: its bytes), into the dataset atomically, as
    :func:`write_shard` does, and return its path."""
    path = shard_path(folder, index, meta["split"])
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes(path, data)


def is_dataset_folder(path: str | Path) -> bool:
    """Whether ``path`` is a livn_rl dataset folder (it holds :data:`META_FILE`), not a copy of a hub dataset or a
    file."""
    return Path(path).is_dir() and (Path(path) / META_FILE).is_file()


def read_meta(folder: str | Path) -> dict[str, Any]:
    """The metadata of a dataset folder, with a clear error if there is none or it is unreadable."""
    path = Path(folder) / META_FILE
    if not Path(folder).is_dir():
        raise DatasetError(f"dataset folder {str(folder)!r} does not exist")
    if not path.is_file():
        raise DatasetError(f"{str(folder)!r} is not a livn_rl dataset: it has no {META_FILE} (make one with "
                           f"`livn-rl sample`)")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path} is not valid JSON ({err}); the dataset's metadata is damaged") from None
    if meta.get("format_version") == 1:
        raise DatasetError(
            f"{folder} is in livn_rl's dataset format 1 (flat spike lists, features as the encoder's [-1, 1] input), "
            f"which this livn_rl no longer reads: format {FORMAT_VERSION} is livn's layout (nested trial_it/trial_t, "
            f"features in the encoder's units). Sample it again into a new folder: `{meta.get('command', 'livn-rl sample ...')}`")
    if meta.get("format_version") != FORMAT_VERSION:
        raise DatasetError(f"{path} has format_version {meta.get('format_version')!r}; this livn_rl reads version "
                           f"{FORMAT_VERSION}")
    return meta


def write_meta(folder: str | Path, meta: dict[str, Any]) -> None:
    write_json(Path(folder) / META_FILE, meta)


def check_shard(path: Path, meta: dict[str, Any], first_trial: int, n_rows: int) -> None:
    """Raise :class:`DatasetError` unless ``path`` is a complete shard of the dataset described by ``meta``: ``n_rows``
    trials starting at ``first_trial`` with the expected columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        trials = pq.read_table(path, columns=["trial"]).column("trial").to_numpy()
    except (pa.ArrowException, OSError) as err:
        raise DatasetError(f"shard {path} is corrupt or partial ({err}); delete it and run the sampler again to "
                           f"redo it") from None
    expected = arrow_schema(meta)
    if not schema.equals(expected, check_metadata=False):
        missing = sorted(set(expected.names) - set(schema.names))
        extra = sorted(set(schema.names) - set(expected.names))
        detail = f"missing columns {missing}, unexpected columns {extra}" if missing or extra else "column types differ"
        raise DatasetError(f"shard {path} does not have the livn_rl dataset schema ({detail})")
    if trials.size != n_rows or not np.array_equal(trials, np.arange(first_trial, first_trial + n_rows)):
        raise DatasetError(f"shard {path} holds {trials.size} trials, expected trials {first_trial}..."
                           f"{first_trial + n_rows - 1}; it is partial or belongs to another dataset")


def shard_sizes(meta: dict[str, Any]) -> list[int]:
    """Number of trials in each shard of a dataset described by ``meta``."""
    total, size = int(meta["samples"]), int(meta["shard_size"])
    return [min(size, total - start) for start in range(0, total, size)]


def completed_shards(folder: str | Path, meta: dict[str, Any]) -> list[bool]:
    """Which shards of the dataset exist and are complete (a damaged shard raises :class:`DatasetError`)."""
    done = []
    for k, n in enumerate(shard_sizes(meta)):
        path = shard_path(folder, k, meta["split"])
        if path.exists():
            check_shard(path, meta, k * int(meta["shard_size"]), n)
        done.append(path.exists())
    return done


def write_card(folder: str | Path, meta: dict[str, Any]) -> None:
    """The dataset card: a Hugging Face YAML header (configs, features) and a description of how it was made."""
    table = columns(meta)
    column_rows = "\n".join(f"| `{name}` | {kind} | {meaning} |" for name, (kind, meaning) in table.items())
    features = "\n".join(f"  - name: {name}\n{_card_feature(kind, 4)}" for name, (kind, _) in table.items())
    split = meta["split"]
    versions = "\n".join(f"- {name} {version}" for name, version in meta["versions"].items())
    settings = json.dumps({k: meta[k] for k in ("system", "encoder", "window_ms", "dt_ms", "noise", "split", "samples",
                                                 "trials_per_episode", "seed", "n_copies", "shard_size",
                                                 "record_voltage")}, indent=2)
    text = f"""---
configs:
- config_name: {meta['system']['name']}
  data_files:
  - split: {split}
    path: {SHARD_DIR}/{split}-*.parquet
dataset_info:
  features:
{features}
tags:
- neuroscience
- spiking-neural-network
- multi-electrode-array
- livn_rl
---

# Stimulus-response trials of {meta['system']['name']}

{meta['samples']} samples of {meta['window_ms']} ms (split `{split}`) made by livn_rl `livn-rl sample` (format
version {FORMAT_VERSION}, livn's layout: `sample["trial_it"][0]`, `sample["trial_t"][0]`, `sample["features"]`,
`sample["t_end"]` read as in livn's examples). Each trial stimulates the simulated culture {meta['system']['name']}
({meta['system']['n_neurons']} neurons) through its {meta['mea']['n_channels']}-channel MEA with the stimulation
that the encoder `{meta['encoder']['repr']}` makes of the trial's `features`, and records every neuron's spikes and
what each electrode detected. Features ({meta['encoder']['feature_units']}) are drawn uniformly from the encoder's
input space. Background noise was
{'on' if meta['noise'] else 'off'}. Trials come in episodes of {meta['trials_per_episode']} consecutive windows on
one culture; every episode starts from a fresh culture drawn from `seed` and `copy`.

Command: `{meta['command']}`

## Columns

| column | type | meaning |
|---|---|---|
{column_rows}

## Settings

```json
{settings}
```

## Identity

Content hash `{meta['content_hash']}`: the SHA-256 of the canonical JSON of everything that determines the trials
apart from the seeds (`livn_rl.identity.config_hash`). `livn-rl sample` resumes only a dataset of the same identity,
and replay accepts only an env of the same identity; both name the fields that differ.

```json
{json.dumps(meta['identity'], indent=2)}
```

## Made with

{versions}
"""
    write_text(Path(folder) / CARD_FILE, text)


def _card_feature(kind: str, indent: int) -> str:
    """A column type as a Hugging Face card's ``dataset_info.features`` entry (nested lists as nested sequences)."""
    pad = " " * indent
    if kind.startswith("list<"):
        return f"{pad}sequence:\n{_card_feature(kind[5:-1], indent + 2)}" if kind[5:].startswith("list<") \
            else f"{pad}sequence: {kind[5:-1]}"
    return f"{pad}dtype: {kind}"


__all__ = ["CARD_FILE", "COLUMNS", "DatasetError", "FORMAT_VERSION", "LIVN_SPLITS", "META_FILE", "PARTIAL_SHARD_GLOB",
           "REPLAY_COLUMNS", "VOLTAGE_COLUMNS", "arrow_schema", "check_shard", "check_split", "columns",
           "completed_shards", "install_shard", "is_dataset_folder", "read_meta", "shard_path", "shard_sizes", "write_card", "write_meta",
           "write_shard"]
