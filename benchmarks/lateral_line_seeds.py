"""Combine lateral-line run folders made by separate processes (one seed each) into one table and one figure.

`livn-rl lateral-line --multi-seed N` runs its seeds one after the other in one process; on a machine with several
cores, one process per seed finishes sooner. This reads each folder's ``run_summary.json`` and prints the
table of docs/lateral_line.md (map quality before training, after it with STDP and of the paired control), the
wall time of every run and the mean over seeds, and draws the original's multi-seed summary
(``brian2_multiseed_summary_n<N>.png``) from them.

    python benchmarks/lateral_line_seeds.py out/ll_thesis_seed_123 out/ll_thesis_seed_124 out/ll_thesis_seed_125 \
        --figure docs/figures/ll_thesis_multiseed.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from livn_rl.experiments.lateral_line.figures import save_figure
from livn_rl.experiments.lateral_line.figures_training import multiseed_summary


def read_runs(folders: list[Path]) -> tuple[list[dict], list[dict]]:
    """The STDP runs and the controls of every folder's ``run_summary.json`` (each run once, by seed)."""
    stdp, controls = {}, {}
    for folder in folders:
        path = folder / "run_summary.json"
        if not path.is_file():
            sys.exit(f"{folder} has no run_summary.json: is it a `livn-rl lateral-line` run folder?")
        summary = json.loads(path.read_text())
        if not summary.get("complete", False):
            print(f"warning: {path} says the run did not complete; its finished seeds are used", file=sys.stderr)
        for entry in summary["seeds"].values():
            runs = stdp if entry["stdp"] else controls
            if entry["seed"] in runs:
                sys.exit(f"seed {entry['seed']} ({'STDP' if entry['stdp'] else 'control'}) appears in two folders")
            runs[entry["seed"]] = entry
    return [stdp[s] for s in sorted(stdp)], [controls[s] for s in sorted(controls)]


def table(stdp: list[dict], controls: list[dict]) -> str:
    """Markdown: per seed, sigma_theta and delta_trial pre / STDP post / control post, valid fraction, test spikes,
    mean MON->TS weight and wall time; then the mean over seeds."""
    by_seed = {c["seed"]: c for c in controls}
    rows = ["| seed | sigma_theta pre | STDP post | control post | delta_trial pre | STDP post | control post | "
            "valid STDP / control | TS spikes STDP / control | mean weight before -> after (mV) | wall STDP / control (s) |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    columns = []
    for run in stdp:
        control = by_seed.get(run["seed"])
        values = [run["pre_test"]["sigma_theta"], run["post_test"]["sigma_theta"],
                  control["post_test"]["sigma_theta"] if control else None,
                  run["pre_test"]["delta_trial"], run["post_test"]["delta_trial"],
                  control["post_test"]["delta_trial"] if control else None]
        columns.append([np.nan if v is None else v for v in values]
                       + [run["post_test"]["valid_fraction"], control["post_test"]["valid_fraction"] if control else np.nan])
        cells = [f"{v:.3f}" if v is not None else "-" for v in values]
        cells[1], cells[4] = f"**{cells[1]}**", f"**{cells[4]}**"
        valid = f"{run['post_test']['valid_fraction']:.2f} / " + (f"{control['post_test']['valid_fraction']:.2f}" if control else "-")
        spikes = f"{run['test_ts_spikes']} / " + (str(control["test_ts_spikes"]) if control else "-")
        weight = f"{run['mean_weight_mv']['before']:.2f} -> {run['mean_weight_mv']['after']:.2f}"
        wall = f"{run['seconds']:.0f} / " + (f"{control['seconds']:.0f}" if control else "-")
        rows.append(f"| {run['seed']} | " + " | ".join(cells + [valid, spikes, weight, wall]) + " |")
    means = np.nanmean(np.array(columns, dtype=float), axis=0)
    cells = [f"{v:.3f}" for v in means[:6]]
    cells[1], cells[4] = f"**{cells[1]}**", f"**{cells[4]}**"
    rows.append("| mean | " + " | ".join(cells + [f"{means[6]:.2f} / {means[7]:.2f}", "", "", ""]) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("folders", nargs="+", type=Path, metavar="RUN_FOLDER", help="run folders of livn-rl lateral-line")
    parser.add_argument("--figure", type=Path, help="write the multi-seed summary figure (PNG) here")
    args = parser.parse_args(argv)
    stdp, controls = read_runs(args.folders)
    if not stdp:
        sys.exit("no STDP run in these folders (made with --disable-all-stdp?)")
    print(table(stdp, controls))
    if args.figure is not None:
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        print(f"figure: {save_figure(multiseed_summary(stdp, controls), args.figure)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
