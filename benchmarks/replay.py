"""Replay throughput: transitions per second of turning a dataset into an env's transitions.

Samples one dataset of S2 (50 ms trials, population encoder, 200 trials per episode) into a scratch folder, then
times :func:`livn_rl.data.transitions` into ``livn_rl/Pendulum-S2-v0`` (the identity check, loading, decoding every
response, stepping the task) and reports the median of ``--repeats`` runs. With ``--livn-layout`` it also replays
the same samples cut down to livn's columns in a local copy laid out as livn's hub dataset, whose neuron-level spikes
are observed through the env's MEA offline (``MEA.channel_spikes``) before decoding. Writes
``benchmarks/results/replay.json``. Run it with another checkout on ``PYTHONPATH`` to compare versions.

    python benchmarks/replay.py
    python benchmarks/replay.py --samples 3200 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import livn_rl
from livn_rl.data import sample_dataset, transitions


def _timed(source: Path, options: dict, args) -> list[float]:
    transitions(source, "livn_rl/Pendulum-S2-v0", **options)  # warm-up: imports, the cache of the Parquet files
    seconds = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        data = transitions(source, "livn_rl/Pendulum-S2-v0", **options)
        seconds.append(time.perf_counter() - started)
    assert len(data["obs"]) == args.samples
    return seconds


def _livn_copy(ours: Path, folder: Path) -> None:
    """Our samples with livn's columns only, laid out as livn's hub dataset (config S2, split train)."""
    import pyarrow.parquet as pq

    (folder / "S2").mkdir(parents=True)
    table = pq.read_table([str(p) for p in sorted((ours / "data").glob("*.parquet"))])
    pq.write_table(table.select(["trial", "episode", "features", "trial_it", "trial_t", "t_end"]),
                   folder / "S2" / "train-00000-of-00001.parquet")
    (folder / "README.md").write_text("---\nconfigs:\n- config_name: S2\n  data_files:\n  - split: train\n"
                                      "    path: S2/train-*\n---\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=1600, help="trials in the dataset (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="timed replays (default %(default)s)")
    parser.add_argument("--livn-layout", action="store_true",
                        help="also time the replay of the same samples in livn's layout (offline MEA observation)")
    parser.add_argument("--out", default="benchmarks/results/replay.json", help="results file")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="livn_rl_replay_"))
    try:
        sample_dataset("S2", scratch / "d", samples=args.samples, encoder="population", progress=False)
        seconds = _timed(scratch / "d", {}, args)
        livn_seconds = None
        if args.livn_layout:
            _livn_copy(scratch / "d", scratch / "livn")
            livn_seconds = _timed(scratch / "livn", {"config": "S2"}, args)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    median = float(np.median(seconds))
    out = {"command": "python benchmarks/replay.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "livn_rl": str(Path(livn_rl.__file__).parent), "samples": args.samples,
           "seconds": [round(s, 3) for s in seconds], "median_seconds": round(median, 3),
           "transitions_per_second": round(args.samples / median, 1),
           "machine": f"{platform.machine()}, Python {platform.python_version()}"}
    if livn_seconds is not None:
        livn_median = float(np.median(livn_seconds))
        out["livn_layout"] = {"seconds": [round(s, 3) for s in livn_seconds], "median_seconds": round(livn_median, 3),
                              "transitions_per_second": round(args.samples / livn_median, 1),
                              "ratio_to_ours": round(livn_median / median, 2)}
    print(json.dumps(out, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
