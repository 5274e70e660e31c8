"""``livn-rl lateral-line``: train the lateral-line circuit on several seeds, with the no-STDP control, and write a
run folder (see :mod:`livn_rl.experiments.lateral_line.runs`)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from livn_rl.cli.common import Interrupted, UsageError, add_command

__all__ = ["add_parser", "cmd_lateral_line"]

DESCRIPTION = """\
Train the lateral-line reference circuit (LL afferents -> MON -> TS, STDP on MON->TS) to map the position of a
vibrating sphere, then test its TS place map with plasticity frozen. Each seed runs twice on the same stimuli: with
STDP and as the control with every STDP disabled (unless --no-stdp or --no-control). The map quality
(sigma_theta: RMS population-vector error in radians; delta_trial: trial-to-trial variability; valid_fraction)
is measured before and after training.

Writes <out>/<run-name>/: params.json (the full resolved configuration), run_summary.json (topology, per-seed test
TS spike counts and map quality, STDP against control), figures/ and artifacts/<tag>_seed_<seed>.npz (learned
weights and connectivity, with a JSON sidecar; tag 'stdp' or 'no_stdp').
"""

EPILOG = """\
presets:
  fast   100 LL, 800 MON, 80 TS, 40 trials of 250 ms (about a minute per
         seed and mode on 2 cores after the first compile)
  full   100 LL, 3,200 MON, 300 TS, 1,000 trials of 400 ms

parameters (--set SECTION.FIELD=VALUE, repeatable; values are JSON):
  line      n, body_length_cm, baseline_rate_hz, gain_hz, max_rate_hz,
            rate_mode (raw|modulation), baseline_subtraction
  source    sphere_radius_cm, vibration_hz, vibration_amplitude_cm,
            vibration_angle_deg, reference_distance_cm, distance_range_cm,
            test_distance_cm, speed_cm_s
  neuron    tau_m_ms, v_rest_mv, v_th_mv, v_reset_mv, t_ref_ms, tau_e_ms,
            tau_i_ms
  mon       n, fan_in, sigma_cm, p_connect, weight_mv, global_inhibition_mv,
            background_rate_hz, background_weight_mv, stdp.*
  ts        n, out_degree, sigma_cm, w_init_range_mv, lateral_radius,
            lateral_peak_mv, feedback_inhibition, n_inhibitory, p_ts_to_pool,
            ts_to_pool_mv, pool_to_ts_mv, background_rate_hz,
            background_weight_mv, stdp.*
  *.stdp    enabled, a_pre_mv, a_post_mv, tau_pre_ms, tau_post_ms, w_max_mv,
            normalise
  training  n_trials, trial_ms, rest_ms, noise_start_hz, noise_end_hz,
            test_mode (sweep|snapshots), test_window_ms, test_positions,
            test_repeats, plastic_test, min_spikes, dt_ms

examples:
  livn-rl lateral-line --preset fast --run-name demo --seeds 3
  livn-rl lateral-line --preset fast --run-name wide --set ts.sigma_cm=6 \\
      --set source.distance_range_cm=[0.5,2.0]
  livn-rl lateral-line --preset fast --run-name control --no-stdp
  livn-rl lateral-line --preset full --run-name full --seeds 1 --overwrite
"""


def add_parser(commands) -> None:
    """Add the ``lateral-line`` subcommand to the ``livn-rl`` parser."""
    from livn_rl.systems.lateral_line.config import PRESETS

    parser = add_command(commands, "lateral-line", help="train the lateral-line circuit's STDP place map and write a run folder",
                         description=DESCRIPTION, epilog=EPILOG, handler=cmd_lateral_line)
    parser.add_argument("--preset", choices=PRESETS, default="fast", help="parameter preset (default: fast)")
    parser.add_argument("--run-name", default="lateral_line", metavar="NAME",
                        help="name of the run folder; path separators are replaced by '_' (default: lateral_line)")
    parser.add_argument("--out-dir", default="out", metavar="DIR", help="parent of the run folder (default: out)")
    parser.add_argument("--seeds", type=int, default=3, metavar="N", help="number of seeds, 0..N-1 (default: 3)")
    parser.add_argument("--first-seed", type=int, default=0, metavar="S", help="first seed (default: 0)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--no-stdp", action="store_true", help="run only the control (every STDP disabled)")
    mode.add_argument("--no-control", action="store_true", help="run only with STDP (skip the control)")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="PARAM=VALUE",
                        help="override a parameter, e.g. --set mon.n=400 (repeatable; see below)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run folder of the same name")
    parser.add_argument("--no-figures", dest="figures", action="store_false", help="skip the figures")
    parser.add_argument("--target", choices=("auto", "cython", "numpy"), default="auto",
                        help="Brian2 code generation target (default: auto)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def cmd_lateral_line(args: argparse.Namespace) -> int:
    from livn_rl.systems.lateral_line.config import preset
    from livn_rl.experiments.lateral_line.runs import prepare_run_folder, sanitise_run_name

    if args.seeds < 1:
        raise UsageError(f"--seeds must be a whole number >= 1, got {args.seeds}")
    if args.first_seed < 0:
        raise UsageError(f"--first-seed must be a whole number >= 0, got {args.first_seed}")
    try:
        config = preset(args.preset).with_overrides(args.overrides)
        name = sanitise_run_name(args.run_name)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if name != args.run_name:
        print(f"run name {args.run_name!r} sanitised to {name!r}", file=sys.stderr)
    try:
        folder = prepare_run_folder(args.out_dir, name, args.overwrite)
    except (FileExistsError, OSError) as err:
        raise UsageError(str(err)) from None
    modes = [False] if args.no_stdp else [True] if args.no_control else [True, False]
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    (folder / "params.json").write_text(json.dumps({
        "preset": args.preset, "overrides": args.overrides, "seeds": seeds,
        "modes": ["stdp" if m else "no_stdp" for m in modes], "target": args.target, "config": config.to_dict(),
    }, indent=2))
    results: list = []
    controls: list = []
    try:
        return _run(args, config, folder, seeds, modes, results, controls)
    except KeyboardInterrupt:
        summary = "run_summary.json was written" if (folder / "run_summary.json").exists() else \
            "run_summary.json was not written"
        raise Interrupted(
            f"kept the {len(results) + len(controls)} finished run(s) of {len(seeds) * len(modes)} (artifacts"
            f"{' and figures' if args.figures else ''}) in {folder}; {summary}; run the command again with "
            "--overwrite to start over"
        ) from None


def _run(args, config, folder, seeds: list[int], modes: list[bool], results: list, controls: list) -> int:
    """Train and test every seed and mode, appending to ``results`` (STDP) and ``controls`` as each finishes."""
    from livn_rl.experiments.lateral_line import figures
    from livn_rl.experiments.lateral_line.runs import comparison, save_artifact, topology
    from livn_rl.experiments.lateral_line.training import run_lateral_line

    start = time.perf_counter()
    for seed in seeds:
        for stdp in modes:
            result = run_lateral_line(config, seed, stdp=stdp, target=args.target, progress=not args.quiet)
            save_artifact(folder, result, args.preset)
            (results if stdp else controls).append(result)
            q = result.post.quality
            print(f"seed {seed} {'STDP   ' if stdp else 'control'}: sigma_theta {result.pre.quality['sigma_theta']:.3f} -> "
                  f"{q['sigma_theta']:.3f} rad, delta_trial {q['delta_trial']:.3f} rad, valid {q['valid_fraction']:.2f}, "
                  f"test TS spikes {int(result.post.ts_counts.sum())} ({result.seconds:.0f} s)")
            if args.figures:
                _figures(folder, result, figures)
    every = results + controls
    summary = {
        "topology": topology(every[0]),
        "seeds": {("stdp" if r.stdp else "no_stdp") + f"_seed_{r.seed}": r.summary() for r in every},
        "comparison": comparison(results, controls),
        "seconds": round(time.perf_counter() - start, 1),
    }
    (folder / "run_summary.json").write_text(json.dumps(summary, indent=2))
    if args.figures:
        fig = figures.seeds_figure(results, controls)
        fig.savefig(folder / "figures" / "multi_seed_summary.png", dpi=110)
    for key, value in summary["comparison"].items():
        print(f"{key}: {value}")
    print(f"wrote {folder} ({summary['seconds']:.0f} s)")
    return 0


def _figures(folder, result, figures) -> None:
    tag = f"{'stdp' if result.stdp else 'no_stdp'}_seed_{result.seed}"
    for name, make in (("summary", figures.summary_figure), ("test_raster", figures.test_raster_figure),
                       ("ts_tuning", figures.tuning_figure), ("ts_vs_position", figures.ts_vs_position_figure),
                       ("weight_profile", figures.weight_profile_figure)):
        make(result).savefig(folder / "figures" / f"{name}_{tag}.png", dpi=110)
