"""Load a dataset: a local livn_rl dataset folder, a local copy of a hub dataset (livn's or anything in its layout),
or a hub name."""

from __future__ import annotations

from pathlib import Path

from livn_rl.data.store import DatasetError, completed_shards, is_dataset_folder, read_meta, shard_path, shard_sizes

#: Where the public livn datasets live on the Hugging Face hub (one config per system, e.g. "S2").
LIVN_HUB_DATASET = "livn-org/livn"
#: The columns livn's own code reads from a sample, and the nesting depth of their lists (spikes: one list per trial).
LIVN_COLUMNS = {"trial_it": 2, "trial_t": 2, "features": 1, "t_end": 0}


def load_dataset(source: str | Path, config: str | None = None, *, split: str | None = None,
                 allow_incomplete: bool = False):
    """A ``datasets.Dataset`` of samples in livn's layout (:mod:`livn_rl.data.store`).

    :param source: a folder written by ``livn-rl sample`` (checked shard by shard); a local folder holding a copy
        of a hub dataset such as livn's (Parquet files and a dataset card); or a hub name such as
        ``"livn-org/livn"``, loaded with ``datasets.load_dataset`` when the network allows
    :param config: the hub dataset's config (the system, e.g. ``"S2"``); not used for livn_rl folders
    :param split: the split to load (default: a livn_rl folder's own split, ``"train"`` for the hub); livn's
        datasets have ``train``, ``test`` and ``train_with_noise``
    :param allow_incomplete: load the finished shards of a dataset whose sampling was stopped (default: refuse)
    :raises DatasetError: a missing folder, split or column, a corrupt shard, an unreachable hub
    """
    path = Path(source)
    if is_dataset_folder(path):
        return _load_livn_rl(path, split, allow_incomplete)
    import datasets

    if path.is_dir():  # a local copy of a hub dataset
        return check_livn_layout(_load_hub_copy(path, config, split or "train"), str(path))
    if path.exists() or str(source).startswith((".", "/")) or str(source).count("/") != 1:
        raise DatasetError(f"dataset {str(source)!r} not found: expected a dataset folder or a hub name such as "
                           f"{LIVN_HUB_DATASET!r}")
    try:
        dataset = datasets.load_dataset(str(source), config, split=split or "train")
    except Exception as err:  # the hub raises many kinds: offline, missing repo, missing config, bad split
        raise DatasetError(
            f"could not load {str(source)!r} (config {config!r}, split {split or 'train'!r}) from the Hugging Face "
            f"hub: {type(err).__name__}: {err}. Without network, download it once elsewhere and pass the local folder"
        ) from err
    return check_livn_layout(dataset, str(source))


def _load_livn_rl(path: Path, split: str | None, allow_incomplete: bool):
    import datasets

    meta = read_meta(path)
    if split is not None and split != meta["split"]:
        raise DatasetError(f"{path} holds the split {meta['split']!r} only, not split={split!r} (a livn_rl folder "
                           f"holds one split; sample the other into its own folder with --split {split})")
    done = completed_shards(path, meta)
    missing = [k for k, finished in enumerate(done) if not finished]
    if missing and not allow_incomplete:
        trials = sum(n for n, finished in zip(shard_sizes(meta), done) if finished)
        raise DatasetError(
            f"{path} is incomplete: {trials} of {meta['samples']} trials, shard(s) {missing[:5]}"
            f"{'...' if len(missing) > 5 else ''} missing. Run the sampler again to finish it "
            f"(`{meta['command']}`), or pass allow_incomplete=True"
        )
    files = [str(shard_path(path, k, meta["split"])) for k, finished in enumerate(done) if finished]
    if not files:
        raise DatasetError(f"{path} holds no finished shard yet")
    return datasets.Dataset.from_parquet(files, split=meta["split"])


def _load_hub_copy(path: Path, config: str | None, split: str):
    """The ``split`` of ``config`` of a local copy of a hub dataset, from the data files its card's YAML header names
    (``configs: [{config_name, data_files: [{split, path}]}]``, as livn's and ours have), read with
    ``datasets.Dataset.from_parquet`` (``datasets.load_dataset`` caches a local folder under its name and config
    alone, so an edited or replaced copy would load as the stale one)."""
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    configs = _card_configs(path)
    if not configs:
        raise DatasetError(f"{path} is neither a livn_rl dataset (no meta.json) nor a copy of a hub dataset (no "
                           f"README.md whose YAML header lists configs and their data files)")
    if config is None and len(configs) == 1:
        config = next(iter(configs))
    if config not in configs:
        raise DatasetError(f"{path} has no config {config!r}; its configs: {sorted(configs)}")
    splits = configs[config]
    if split not in splits:
        raise DatasetError(f"{path} (config {config!r}) has no split {split!r}; its splits: {sorted(splits)}")
    files = sorted({str(f) for pattern in splits[split] for f in path.glob(pattern) if f.is_file()})
    if not files:
        raise DatasetError(f"{path} (config {config!r}, split {split!r}) has no data files matching {splits[split]}")
    for file in files:
        try:
            pq.read_schema(file)
        except (pa.ArrowException, OSError) as err:
            raise DatasetError(f"{file} is corrupt or not Parquet ({err})") from None
    return datasets.Dataset.from_parquet(files, split=split)


def _card_configs(path: Path) -> dict[str, dict[str, list[str]]]:
    """config -> split -> data file patterns, from the YAML header of ``path/README.md`` (empty if there is none)."""
    import yaml

    card = path / "README.md"
    text = card.read_text() if card.is_file() else ""
    if not text.startswith("---"):
        return {}
    try:
        header = yaml.safe_load(text.split("---", 2)[1]) or {}
    except yaml.YAMLError as err:
        raise DatasetError(f"the YAML header of {card} is not valid YAML ({err})") from None
    found: dict[str, dict[str, list[str]]] = {}
    for entry in header.get("configs") or []:
        files = entry.get("data_files") or []
        splits: dict[str, list[str]] = {}
        for item in [files] if isinstance(files, str) else files:
            item = {"split": "train", "path": item} if isinstance(item, str) else item  # data_files: a bare pattern
            patterns = item["path"] if isinstance(item["path"], list) else [item["path"]]
            splits.setdefault(item.get("split", "train"), []).extend(patterns)
        found[entry.get("config_name", "default")] = splits
    return found


def check_livn_layout(dataset, name: str):
    """``dataset`` if it has the columns livn's code reads (``trial_it``/``trial_t`` nested per trial, ``features``,
    ``t_end``), else a :class:`DatasetError` naming the column and what it holds."""
    for column, depth in LIVN_COLUMNS.items():
        if column not in dataset.column_names:
            raise DatasetError(f"{name} is not in livn's layout: it has no column {column!r} (columns: "
                               f"{dataset.column_names})")
        feature, found = dataset.features[column], 0
        while hasattr(feature, "feature"):  # datasets' Sequence and List both nest through .feature
            feature, found = feature.feature, found + 1
        if found != depth:
            raise DatasetError(f"{name}: column {column!r} holds lists nested {found} deep, livn's layout nests it "
                               f"{depth} deep ({dataset.features[column]})")
    return dataset


def dataset_meta(folder: str | Path) -> dict:
    """How the trials of a livn_rl dataset folder were made (its ``meta.json``)."""
    return read_meta(folder)


__all__ = ["LIVN_COLUMNS", "LIVN_HUB_DATASET", "check_livn_layout", "dataset_meta", "load_dataset"]
