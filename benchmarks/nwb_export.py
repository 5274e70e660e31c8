"""NWB export speed: writing, reading back and inspecting the files of recordings and datasets.

A recording of ``--seconds`` of S2 (with a pulse train) and a dataset of ``--trials`` S2 trials (50 ms, population
encoder, 8 copies) are made once; then each is exported ``--repeats`` times (median wall time), read back with
``from_nwb`` and checked with nwbinspector. Reports wall times, file sizes and the ratio of export time to the
simulated time it holds. Writes ``benchmarks/results/nwb_export.json``.

    python benchmarks/nwb_export.py
    python benchmarks/nwb_export.py --seconds 10 --trials 2000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from livn_rl import Simulation, make_system, pulse_train
from livn_rl.data import sample_dataset
from livn_rl.export import Session, SystemInfo, from_nwb, inspect_nwb, pulse_table, to_nwb
from livn_rl.stimulus import render


def _timed(function, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return float(np.median(times)), result


def _measure(name: str, source, scratch: Path, simulated_s: float, repeats: int, **options) -> dict:
    out = scratch / f"{name}.nwb"
    export_s, _ = _timed(lambda: to_nwb(source, out, overwrite=True, **options), repeats)
    read_s, recording = _timed(lambda: from_nwb(out), repeats)
    inspect_s, messages = _timed(lambda: inspect_nwb(out), 1)
    row = {"source": name, "simulated_s": simulated_s, "spikes": int(recording.neuron_i.size),
           "detections": int(recording.channel_c.size), "export_s": round(export_s, 3), "from_nwb_s": round(read_s, 3),
           "nwbinspector_s": round(inspect_s, 3), "file_mb": round(out.stat().st_size / 1e6, 3),
           "export_s_per_simulated_s": round(export_s / simulated_s, 4),
           "inspector_violations": sum(m.importance.value >= 1 for m in messages)}
    print(row, flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="simulated seconds of S2 (default %(default)s)")
    parser.add_argument("--trials", type=int, default=2000, help="dataset trials (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="exports per source (default %(default)s)")
    parser.add_argument("--out", default="benchmarks/results/nwb_export.json", help="results file")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    scratch = Path(tempfile.mkdtemp(prefix="livn_rl_nwb_"))
    try:
        system = make_system("S2")
        duration = args.seconds * 1000.0
        pulses = pulse_train(5, 10.0, 100.0, int(args.seconds * 2), 2.0)
        sim = Simulation(system, seed=0)
        try:
            recording = sim.run(duration, stimulus=render(pulses, system.mea.n_channels, duration, sim.dt_ms))
        finally:
            sim.close()
        session = Session("recording", SystemInfo.from_system(system), recording, sim.dt_ms, pulse_table(pulses),
                          metadata={"description": f"{args.seconds:g} s of S2", "seed": 0,
                                    "created": "2025-01-01T00:00:00+00:00"})
        saved = session.save(scratch / "run.npz")
        rows = [_measure("recording", saved, scratch, args.seconds, args.repeats)]
        folder = scratch / "dataset"
        sample_dataset("S2", folder, samples=args.trials, encoder="population", progress=False)
        rows.append(_measure("dataset", folder, scratch, args.trials * 0.05, args.repeats))
        rows.append(_measure("dataset_shard0", folder, scratch, min(args.trials, 1600) * 0.05, args.repeats, shard=0))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    out = {"command": "python benchmarks/nwb_export.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "load_average": list(os.getloadavg()), "results": rows,
           "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
