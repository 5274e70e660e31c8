"""Persistence of the ring attractor's bump against the serotonin gain: a finer scan than the four reference levels.

Runs the reference trial (cue at 100 degrees, 5 s) for a gain on the excitatory cells only (the "increased"
direction) and for a gain on every cell (the "decreased" direction), ``--seeds`` seeds each, and writes the summary
per gain (termination, outcome counts, peak rate) to ``<out>`` (JSON) and as a Markdown table on stdout.

    python benchmarks/ring_gain_scan.py                  # 12 gains x 5 seeds, about 3 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--e-gains", type=float, nargs="+", default=[0.94, 0.96, 0.97, 0.98, 0.99, 1.0],
                        help="gains on E cells only (I cells at 1)")
    parser.add_argument("--all-gains", type=float, nargs="+", default=[1.01, 1.02, 1.04, 1.06, 1.1, 1.2],
                        help="gains on every cell")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 per gain (default 5)")
    parser.add_argument("--target", default="auto", help="Brian2 target (auto, cython, numpy)")
    parser.add_argument("--out", default="benchmarks/results/ring_gain_scan.json", help="JSON output")
    args = parser.parse_args(argv)

    from livn_rl.experiments.ring import run_trials, summarise

    specs = [{"E": g, "I": 1.0} for g in args.e_gains] + [{"E": g, "I": g} for g in args.all_gains]
    started = time.perf_counter()
    summary = summarise(run_trials(specs, range(args.seeds), target=args.target, progress=True))
    rows = []
    print("| gain on E | gain on I | termination (ms) | outcome | peak rate (Hz) |\n|---|---|---|---|---|")
    for spec, (label, row) in zip(specs, summary.items()):
        outcome = ", ".join(f"{n} {reason}" for reason, n in row["reasons"].items())
        term, peak = row["termination_ms"], row["peak_hz"]
        print(f"| {spec['E']:g} | {spec['I']:g} | {term['mean']:.0f} +- {term['sd']:.0f} | {outcome} | "
              f"{peak['mean']:.1f} +- {peak['sd']:.1f} |")
        rows.append({"gain_E": spec["E"], "gain_I": spec["I"], **row})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({
        "command": "python benchmarks/ring_gain_scan.py " + " ".join(
            f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in vars(args).items()),
        "wall_s": round(time.perf_counter() - started, 1), "rows": rows,
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
