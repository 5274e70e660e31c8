"""``livn-rl ring``: the ring attractor's reference experiment from the command line (trials, table, figures)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from livn_rl.atomic import write_text
from livn_rl.cli.common import Interrupted, UsageError, add_command

__all__ = ["add_parser", "cmd_ring"]

DESCRIPTION = """\
Run the ring attractor's reference trials: for each serotonin level and seed, 5 s of the ring (360 RS + 90 FS
Izhikevich cells, dt 0.1 ms) with a cue at 100 degrees from 1 to 1.25 s. Seeds start at 42, as the original's
np.random.seed(42). Writes the table (table.md, summary.json) of, per level, the mean and SD over seeds of the
termination time in the original's convention (termination_s_after_cue: 500 ms windows stepped by 50 ms over the
excitatory spikes after the cue; the state ends in the first window where a cell fires above 100 Hz or none above
12 Hz; the window's centre in seconds after the cue, the trial's end after the cue if none fails) and in ours (the
window's start in ms of the trial), bump width, drift and cue error. Per level, images/<level>_serotonin.gif
(the original's animated raster of the first seed) and bump_<level>.png (the decoded bump of every seed); with
--record-states, the state traces of chosen cells in states/<level>_seed_<seed>.npz.
"""

EPILOG = """\
examples:
  livn-rl ring                                   all four levels, seeds 42 43 44, into out/ring
  livn-rl ring --seeds 1                         one trial per level with seed 42, as the original runs
  livn-rl ring --serotonin normal increased --seeds 5 --out out/ring5
  livn-rl ring --serotonin normal --cue-angle 250 --no-gif
  livn-rl ring --serotonin increased --seeds 1 --record-states 100 250 400
                                                 v, u, synaptic input per receptor, conductances and
                                                 background of three cells (states/increased_seed_42.npz)

Existing outputs are never overwritten: choose a new --out or pass --overwrite.
Levels: normal (gain 1 everywhere), increased (0.97 on E cells), decreased
(1.02 everywhere), slightly_decreased (1.01 everywhere); see docs/ring.md.
"""


def add_parser(commands) -> None:
    """Add the ``ring`` command to the ``livn-rl`` sub-parsers."""
    from livn_rl.systems.ring.network import SEROTONIN_LEVELS

    ring = add_command(commands, "ring", help="the ring attractor's reference trials: table, raster GIFs, bump figures",
                       description=DESCRIPTION, epilog=EPILOG, handler=cmd_ring)
    ring.add_argument("--serotonin", nargs="+", default=["all"], metavar="LEVEL",
                      help=f"levels to run: {', '.join(SEROTONIN_LEVELS)} or all (default: all)")
    ring.add_argument("--seeds", type=int, default=3, metavar="N", help="trials per level (default: 3)")
    ring.add_argument("--seed-start", type=int, default=42, metavar="S",
                      help="first seed; the trials use S, S+1, ... (default: 42, as the original's np.random.seed(42))")
    ring.add_argument("--cue-angle", type=float, default=None, metavar="DEG", help="cue angle (default: 100)")
    ring.add_argument("--target", choices=("auto", "cython", "numpy"), default="auto",
                      help="Brian2 code generation target (default: auto)")
    ring.add_argument("--out", "-o", default="out/ring", metavar="DIR", help="output folder (default: out/ring)")
    ring.add_argument("--no-gif", dest="gif", action="store_false", help="skip the animated rasters")
    ring.add_argument("--record-states", nargs="+", type=int, default=[], metavar="CELL",
                      help="record the state traces of these cells (0-359 excitatory, 360-449 inhibitory) in every "
                           "trial into states/<level>_seed_<seed>.npz")
    ring.add_argument("--overwrite", action="store_true", help="replace existing outputs in --out")
    ring.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def cmd_ring(args: argparse.Namespace) -> int:
    """Validate, run the trials, write table, JSON and figures."""
    import math

    import numpy as np

    from livn_rl.experiments.ring import bump_figure, gif_name, run_trials, serotonin_gif, summarise, table_markdown
    from livn_rl.systems.ring.network import SEROTONIN_LEVELS, RingAttractorSystem

    levels = list(SEROTONIN_LEVELS) if args.serotonin == ["all"] else list(dict.fromkeys(args.serotonin))
    unknown = [level for level in levels if level not in SEROTONIN_LEVELS]
    if unknown:
        raise UsageError(f"--serotonin: unknown level(s) {unknown}; choose from {', '.join(SEROTONIN_LEVELS)} or all")
    if args.seeds < 1:
        raise UsageError(f"--seeds must be >= 1, got {args.seeds}")
    if args.seed_start < 0:
        raise UsageError(f"--seed-start must be a whole number >= 0, got {args.seed_start}")
    kwargs = {}
    if args.cue_angle is not None:
        if not math.isfinite(args.cue_angle):
            raise UsageError(f"--cue-angle must be a finite angle in degrees, got {args.cue_angle}")
        kwargs["cue_angle_deg"] = args.cue_angle
    n_cells = RingAttractorSystem().n_neurons
    bad = [c for c in args.record_states if not 0 <= c < n_cells]
    if bad:
        raise UsageError(f"--record-states: cell(s) {bad} do not exist; the ring's cells are 0-{n_cells - 1} "
                         f"(0-359 excitatory, 360-{n_cells - 1} inhibitory)")
    cells = list(dict.fromkeys(args.record_states))
    seeds = list(range(args.seed_start, args.seed_start + args.seeds))
    out = Path(args.out).expanduser()
    outputs = [out / "table.md", out / "summary.json"]
    for level in levels:
        outputs.append(out / f"bump_{level}.png")
        if args.gif:
            outputs.append(out / "images" / gif_name(level))
        outputs += [out / "states" / f"{level}_seed_{seed}.npz" for seed in seeds] if cells else []
    existing = [str(p) for p in outputs if p.exists()]
    if existing and not args.overwrite:
        raise UsageError(f"{len(existing)} output(s) exist already, e.g. {existing[0]}; choose another --out or pass --overwrite")
    try:
        for folder in {p.parent for p in outputs}:
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"--out {args.out!r}: cannot create it ({err.strerror})") from None
    if args.target != "numpy" and not args.quiet:
        print("building the ring (with Cython, the first build compiles it: about 30 s)...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    try:
        trials = run_trials(levels, seeds, target=args.target, progress=not args.quiet, record_cells=cells, **kwargs)
    except KeyboardInterrupt:
        raise Interrupted(f"nothing written to {out} (the table and figures are made when every trial is done); "
                          "run the same command again to start over") from None
    run_s = time.perf_counter() - started
    summary = summarise(trials)
    table = table_markdown(summary)
    command = "livn-rl ring " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["ring"] else "livn-rl ring"
    write_text(out / "table.md", f"{table}\n{len(seeds)} seeds per level; command: `{command}`\n")
    write_text(out / "summary.json", json.dumps({
        "levels": levels, "seeds": seeds, "cue_angle_deg": kwargs.get("cue_angle_deg", 100.0), "wall_s": round(run_s, 1),
        "summary": summary,
        "trials": [{k: trial[k] for k in ("level", "seed", "termination_s_after_cue", "termination_reason_after_cue",
                                          "termination", "width_deg", "drift_deg", "cue_error_deg", "peak_hz")}
                   for trial in trials],
        "termination_conventions": {
            "termination_s_after_cue": "the original's: centre of the first failing 500 ms window (steps counted "
                                       "inclusive at both ends), seconds after the cue's end; the trial's end after "
                                       "the cue if none fails",
            "termination.time_ms": "ours: start of the first failing 500 ms window, ms of the trial; the trial's end "
                                   "if none fails (reason persisted)",
        },
    }, indent=2, default=lambda x: None if isinstance(x, float) and not math.isfinite(x) else x))
    print(table)
    print(f"{len(trials)} trials of 5 s in {run_s:.1f} s wall")
    for level in levels:
        system = RingAttractorSystem(serotonin=level, **kwargs)
        rows = [t for t in trials if t["level"] == level]
        bump_figure(rows, system, out / f"bump_{level}.png")
        if args.gif:
            serotonin_gif(rows[0], system, out / "images" / gif_name(level))
        for trial in rows if cells else []:
            np.savez_compressed(out / "states" / f"{level}_seed_{trial['seed']}.npz", **trial["states"])
    print(f"wrote {', '.join(str(p) for p in outputs)}")
    return 0
