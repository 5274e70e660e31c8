"""Load a dataset: a local livn_rl dataset folder, a local copy of a hub dataset, or a hub name."""

from __future__ import annotations

from pathlib import Path

from livn_rl.data.store import DatasetError, completed_shards, read_meta, shard_path, shard_sizes

#: Where the public livn datasets live on the Hugging Face hub (one config per system, e.g. "S2").
LIVN_HUB_DATASET = "livn-org/livn"


def load_dataset(source: str | Path, config: str | None = None, *, split: str = "train", allow_incomplete: bool = False):
    """A ``datasets.Dataset`` of trials.

    :param source: a folder written by ``livn-rl sample`` (checked shard by shard); a local folder holding a copy
        of a hub dataset (Parquet files and a dataset card); or a hub name such as ``"livn-org/livn"``, loaded with
        ``datasets.load_dataset`` when the network allows
    :param config: the hub dataset's config (the system, e.g. ``"S2"``); not used for livn_rl folders
    :param split: the split to load (livn_rl folders have ``"train"`` only)
    :param allow_incomplete: load the finished shards of a dataset whose sampling was stopped (default: refuse)
    """
    import datasets

    path = Path(source)
    if path.is_dir() and (path / "meta.json").exists():
        if split != "train":
            raise DatasetError(f"livn_rl dataset folders have one split, 'train'; got split={split!r}")
        meta = read_meta(path)
        done = completed_shards(path, meta)
        missing = [k for k, finished in enumerate(done) if not finished]
        if missing and not allow_incomplete:
            trials = sum(n for n, finished in zip(shard_sizes(meta), done) if finished)
            raise DatasetError(
                f"{path} is incomplete: {trials} of {meta['samples']} trials, shard(s) {missing[:5]}"
                f"{'...' if len(missing) > 5 else ''} missing. Run the sampler again to finish it "
                f"(`{meta['command']}`), or pass allow_incomplete=True"
            )
        files = [str(shard_path(path, k)) for k, finished in enumerate(done) if finished]
        if not files:
            raise DatasetError(f"{path} holds no finished shard yet")
        return datasets.Dataset.from_parquet(files, split="train")
    if path.is_dir():  # a local copy of a hub dataset
        try:
            return datasets.load_dataset(str(path), config, split=split)
        except (ValueError, FileNotFoundError) as err:
            raise DatasetError(f"{path} is neither a livn_rl dataset (no meta.json) nor a readable copy of a hub "
                               f"dataset with config {config!r}: {err}") from None
    if path.exists() or str(source).startswith((".", "/")) or str(source).count("/") != 1:
        raise DatasetError(f"dataset {str(source)!r} not found: expected a dataset folder or a hub name such as "
                           f"{LIVN_HUB_DATASET!r}")
    try:
        return datasets.load_dataset(str(source), config, split=split)
    except Exception as err:  # the hub raises many kinds: offline, missing repo, missing config, bad split
        raise DatasetError(
            f"could not load {str(source)!r} (config {config!r}, split {split!r}) from the Hugging Face hub: "
            f"{type(err).__name__}: {err}. Without network, download it once elsewhere and pass the local folder"
        ) from err


def dataset_meta(folder: str | Path) -> dict:
    """How the trials of a livn_rl dataset folder were made (its ``meta.json``)."""
    return read_meta(folder)


__all__ = ["LIVN_HUB_DATASET", "dataset_meta", "load_dataset"]
