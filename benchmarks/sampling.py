"""Sampling throughput: trials per second of ``livn-rl sample`` by batched copies and worker processes.

Each configuration samples the same number of trials of S2 (50 ms windows, population encoder) into a fresh
folder after a warm-up that compiles its network, and reports trials per second (median of ``--repeats`` runs)
and the ratio to one copy in one process. Writes ``benchmarks/results/sampling.json``.

    python benchmarks/sampling.py
    python benchmarks/sampling.py --samples 3200 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from livn_rl.data import sample_dataset

CONFIGS = [(1, 1), (8, 1), (16, 1), (8, 2)]  # (copies, workers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--system", default="S2", help="system (default %(default)s)")
    parser.add_argument("--samples", type=int, default=3200, help="trials per run (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per configuration (default %(default)s)")
    parser.add_argument("--out", default="benchmarks/results/sampling.json", help="results file")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="livn_rl_sampling_"))
    results = []
    try:
        for copies, workers in CONFIGS:
            common = dict(encoder="population", window_ms=50.0, trials_per_episode=200, n_copies=copies,
                          workers=workers, progress=False)
            sample_dataset(args.system, scratch / "warm", samples=copies * 200, **common)  # compile once
            shutil.rmtree(scratch / "warm")
            rates = []
            for r in range(args.repeats):
                folder = scratch / f"c{copies}w{workers}r{r}"
                report = sample_dataset(args.system, folder, samples=args.samples, seed=r, **common)
                rates.append(report.trials_per_second)
                shutil.rmtree(folder)
            results.append({"copies": copies, "workers": workers, "trials_per_second": float(np.median(rates)),
                            "runs": [round(x, 1) for x in rates]})
            print(results[-1], flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    base = results[0]["trials_per_second"]
    for r in results:
        r["ratio_to_one_copy"] = round(r["trials_per_second"] / base, 2)
    out = {"command": "python benchmarks/sampling.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "system": args.system, "samples": args.samples, "window_ms": 50.0, "results": results,
           "machine": f"{platform.machine()}, Python {platform.python_version()}"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
