"""``livn-rl lateral-line``: train the lateral-line circuit on several seeds, with the no-STDP control, and write a
run folder (see :mod:`livn_rl.experiments.lateral_line.runs`). It takes the original script's flags by their names
(:mod:`livn_rl.systems.lateral_line.original`) beside ``--set`` for every other parameter."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from livn_rl.atomic import copy_file, write_json
from livn_rl.cli.common import Interrupted, UsageError, add_command

__all__ = ["add_parser", "cmd_lateral_line"]

DESCRIPTION = """\
Train the lateral-line reference circuit (LL afferents -> MON -> TS, STDP on MON->TS) to map the position of a
vibrating sphere, then test its TS place map with plasticity frozen. The original script's modes, flags, run
folder, JSON keys and figure names carry over (docs/lateral_line.md has the table). Each seed runs with STDP and,
on the same network and stimuli, as the control with every STDP disabled (--no-control: STDP only, as the original
runs; --disable-all-stdp: the control only). The map quality (sigma_theta: RMS population-vector error in radians;
delta_trial: trial-to-trial variability; valid_fraction) is measured before and after training.

Writes <out-dir>/<run-name>/: params.json (mode, seed_start, multi_seed, run_folder, network_params), run_summary.json
(ll_mon_topo, mon_ts_topo, mon_ts_sigma, mon_ts_gain_mV, and seed, ts_spikes_during_test_window, pv_map_quality for
one seed or a runs array for several; ours beside), figures/brian2_<kind>_u_<speed>_nMON_<n>_nTS_<n>[_seed_<s>].png
(thirteen kinds per run), artifacts/<save-tag>_seed_<seed>.npz with its _params.json sidecar (a paired control's:
<save-tag>_control_seed_<seed>).
"""

EPILOG = """\
modes (--mode, or --preset with the same names):
  ll_thesis, full   100 LL, 3,200 MON, 300 TS, 1,000 trials of 400 ms (the
                    original's default; about 11 min per seed and run on 2
                    quiet cores, twice that with the paired control)
  ll_fast, fast     100 LL, 800 MON, 80 TS, 40 trials of 250 ms (about a
                    minute per seed and run after the first compile)

other parameters (--set SECTION.FIELD=VALUE, repeatable; values are JSON):
  line      n, body_length_cm, baseline_rate_hz, gain_hz, max_rate_hz,
            rate_mode (raw|modulation), baseline_subtraction, rate_gain,
            baseline_subtract_hz
  source    sphere_radius_cm, vibration_hz, vibration_amplitude_cm,
            vibration_angle_deg, reference_distance_cm, distance_range_cm,
            test_distance_cm, speed_cm_s
  neuron    tau_m_ms, v_rest_mv, v_th_mv, v_reset_mv, t_ref_ms, tau_e_ms,
            tau_i_ms
  mon       n, fan_in, sigma_cm, p_connect, topography, weight_mv,
            global_inhibition_mv, background_rate_hz, background_weight_mv,
            stdp.*
  ts        n, out_degree, sigma_cm, topography, gain_mv, w_init_range_mv,
            lateral_radius, lateral_peak_mv, feedback_inhibition,
            n_inhibitory, p_ts_to_pool, ts_to_pool_mv, pool_to_ts_mv,
            background_rate_hz, background_weight_mv, stdp.*
  *.stdp    enabled, a_pre_mv, a_post_mv, tau_pre_ms, tau_post_ms, w_max_mv,
            normalise
  training  n_trials, trial_ms, rest_ms, noise_start_hz, noise_end_hz,
            learning_rate_end, test_mode (sweep|snapshots), test_window_ms,
            test_positions, test_repeats, plastic_test, min_spikes, dt_ms
A parameter can be set by an original flag or by --set, not both.

examples:
  livn-rl lateral-line --mode ll_fast --multi-seed 3 --run-name demo
  livn-rl lateral-line --mode ll_fast --run-name untrained --n-training-trials 0
  livn-rl lateral-line --mode ll_fast --run-name wide --mon-ts-sigma 48 \\
      --training-distance-min-cm 0.5 --training-distance-max-cm 2.0
  livn-rl lateral-line --mode ll_fast --run-name control --disable-all-stdp
  livn-rl lateral-line --mode ll_fast --set ts.stdp.normalise=true
  livn-rl lateral-line --mode ll_thesis --multi-seed 3 --no-control
"""


def add_parser(commands) -> None:
    """Add the ``lateral-line`` subcommand to the ``livn-rl`` parser."""
    from livn_rl.systems.lateral_line.original import MODES, ORIGINAL_PARAMETERS

    parser = add_command(commands, "lateral-line", help="train the lateral-line circuit's STDP place map and write a run folder",
                         description=DESCRIPTION, epilog=EPILOG, handler=cmd_lateral_line)
    run = parser.add_argument_group("run layout and seeds (the original's names)")
    run.add_argument("--mode", "--preset", dest="mode", choices=[*MODES, *MODES.values()], default="ll_thesis",
                     help="parameter preset (default: ll_thesis); full and fast are the same as ll_thesis and ll_fast")
    run.add_argument("--run-name", default=None, metavar="NAME",
                     help="run folder name; path separators become '_' (default: the start time, YYYYMMDD_HHMMSS)")
    run.add_argument("--out-dir", default="out", metavar="DIR",
                     help="parent of the run folder (default: out; the original's is Runs)")
    run.add_argument("--multi-seed", "--seeds", dest="multi_seed", type=int, default=1, metavar="N",
                     help="number of consecutive seeds (default: 1)")
    run.add_argument("--seed-start", "--first-seed", dest="seed_start", type=int, default=123, metavar="S",
                     help="first seed (default: 123)")
    run.add_argument("--save-tag", default="latest", metavar="TAG",
                     help="base name of artifacts/<tag>_seed_<seed>.npz and its _params.json (default: latest)")
    run.add_argument("--save-weights-dir", default=None, metavar="DIR",
                     help="also copy every artifact (npz and sidecar) into DIR (default: only the run folder)")
    which = run.add_mutually_exclusive_group()
    which.add_argument("--disable-all-stdp", "--no-stdp", dest="disable_all_stdp", action="store_true",
                       help="run only the control: every STDP increment zero (no learning)")
    which.add_argument("--no-control", action="store_true",
                       help="run only with STDP, as the original does (default: STDP and the paired control)")
    original = parser.add_argument_group("the original's parameters (applied after the preset and --set; the field "
                                         "each sets is in brackets)")
    for p in ORIGINAL_PARAMETERS:
        text = f"{p.help} [{p.path}]"
        if p.kind is bool and p.fixed is not None:
            original.add_argument(p.flag, dest=p.name, action="store_true", default=None, help=text)
        elif p.kind is bool:
            original.add_argument(p.flag, dest=p.name, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            original.add_argument(p.flag, dest=p.name, type=p.kind, choices=p.choices, default=None, help=text,
                                  metavar=None if p.choices else "N" if p.kind is int else "X")
    other = parser.add_argument_group("everything else")
    other.add_argument("--set", action="append", default=[], dest="overrides", metavar="PARAM=VALUE",
                       help="override a parameter, e.g. --set mon.n=400 (repeatable; see below)")
    other.add_argument("--overwrite", action="store_true", help="replace an existing run folder of the same name")
    other.add_argument("--no-figures", dest="figures", action="store_false", help="skip the figures")
    other.add_argument("--target", choices=("auto", "cython", "numpy"), default="auto",
                       help="Brian2 code generation target (default: auto)")
    other.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def resolve_config(args: argparse.Namespace):
    """The run's configuration: the mode's preset, then ``--set``, then the original's flags (whose conversions use
    the sizes after ``--set``). A parameter set twice is a usage error."""
    from livn_rl.systems.lateral_line.config import preset
    from livn_rl.systems.lateral_line.original import ORIGINAL_PARAMETERS, apply_original, mode_preset

    given = {p.name: getattr(args, p.name) for p in ORIGINAL_PARAMETERS if getattr(args, p.name) is not None}
    flags = {p.name: p.flag for p in ORIGINAL_PARAMETERS}
    set_paths = {text.split("=", 1)[0].strip() for text in args.overrides}
    for p in ORIGINAL_PARAMETERS:
        if p.name in given and p.path.split("[")[0] in set_paths:
            raise UsageError(f"{p.flag} and --set {p.path.split('[')[0]}=... set the same parameter; give one of them")
    try:
        config = preset(mode_preset(args.mode)).with_overrides(args.overrides)
    except ValueError as err:
        raise UsageError(str(err)) from None
    try:
        return apply_original(config, given), {flags[name]: value for name, value in given.items()}
    except ValueError as err:
        culprit = next((p for p in ORIGINAL_PARAMETERS if p.name in given and p.path.split("[")[0] in str(err)), None)
        prefix = "" if culprit is None else f"{culprit.flag} {given[culprit.name]} sets {culprit.path.split('[')[0]}: "
        raise UsageError(prefix + str(err)) from None


def cmd_lateral_line(args: argparse.Namespace) -> int:
    from livn_rl.experiments.lateral_line.runs import (
        default_run_name, params_document, prepare_run_folder, sanitise_run_name,
    )

    if args.multi_seed < 1:
        raise UsageError(f"--multi-seed must be a whole number >= 1, got {args.multi_seed}")
    if args.seed_start < 0:
        raise UsageError(f"--seed-start must be a whole number >= 0, got {args.seed_start}")
    if not re.fullmatch(r"[A-Za-z0-9._-]+", args.save_tag):
        raise UsageError(f"--save-tag must be letters, digits, '.', '_' or '-', got {args.save_tag!r}")
    config, original_given = resolve_config(args)
    requested = args.run_name if args.run_name is not None else default_run_name()
    try:
        name = sanitise_run_name(requested)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if name != requested:
        print(f"run name {requested!r} sanitised to {name!r}", file=sys.stderr)
    weights_dir = None
    if args.save_weights_dir is not None:
        weights_dir = Path(args.save_weights_dir).expanduser()
        if weights_dir.exists() and not weights_dir.is_dir():
            raise UsageError(f"--save-weights-dir {args.save_weights_dir!r} is a file; give a folder")
    try:
        folder = prepare_run_folder(args.out_dir, name, args.overwrite)
        if weights_dir is not None:
            weights_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, OSError) as err:
        raise UsageError(str(err)) from None
    runs = [False] if args.disable_all_stdp else [True] if args.no_control else [True, False]
    seeds = list(range(args.seed_start, args.seed_start + args.multi_seed))
    write_json(folder / "params.json", params_document(
        mode=args.mode, seed_start=args.seed_start, multi_seed=args.multi_seed, run_folder=name, config=config,
        original_flags=original_given, overrides=args.overrides, seeds=seeds,
        runs=["stdp" if r else "no_stdp" for r in runs], save_tag=args.save_tag, target=args.target,
    ))
    main_runs: list = []
    controls: list = []
    try:
        return _run(args, config, folder, seeds, runs, weights_dir, main_runs, controls)
    except KeyboardInterrupt:
        summary = ("its run_summary.json says \"complete\": false" if (folder / "run_summary.json").exists()
                   else "no run_summary.json yet")
        raise Interrupted(
            f"kept the {len(main_runs) + len(controls)} finished run(s) of {len(seeds) * len(runs)} (artifacts"
            f"{' and figures' if args.figures else ''}) in {folder}; {summary}; run the command again with --overwrite "
            "to start over"
        ) from None


def _run(args, config, folder: Path, seeds: list[int], runs: list[bool], weights_dir: Path | None,
         main_runs: list, controls: list) -> int:
    """Train and test every seed and run, appending to ``main_runs`` and ``controls`` (paired controls) as each
    finishes, and write the run folder's files."""
    from livn_rl.systems.lateral_line.original import mode_preset
    from livn_rl.experiments.lateral_line.figures import save_run_figures, save_seed_figures
    from livn_rl.experiments.lateral_line.runs import save_artifact, summary_document
    from livn_rl.experiments.lateral_line.training import run_lateral_line

    if args.target != "numpy" and not args.quiet:
        print("building the circuit (with Cython, a new network size compiles first: 15-90 s)...", file=sys.stderr,
              flush=True)
    start = time.perf_counter()
    for seed in seeds:
        for stdp in runs:
            result = run_lateral_line(config, seed, stdp=stdp, target=args.target, progress=not args.quiet)
            paired_control = not stdp and len(runs) == 2
            npz = save_artifact(folder, result, save_tag=args.save_tag, mode=args.mode, control=paired_control)
            if weights_dir is not None:
                for path in (npz, npz.with_name(npz.stem + "_params.json")):
                    copy_file(path, weights_dir / path.name)
            (controls if paired_control else main_runs).append(result)
            q = result.post.quality
            print(f"seed {seed} {'STDP   ' if stdp else 'control'}: sigma_theta {result.pre.quality['sigma_theta']:.3f} -> "
                  f"{q['sigma_theta']:.3f} rad, delta_trial {q['delta_trial']:.3f} rad, valid {q['valid_fraction']:.2f}, "
                  f"test TS spikes {int(result.post.ts_counts.sum())} ({result.seconds:.0f} s)", flush=True)
            if args.figures:
                save_seed_figures(folder, result, several_seeds=len(seeds) > 1, control=paired_control)
            write_json(folder / "run_summary.json", summary_document(
                config, main_runs, controls, multi_seed=len(seeds), seconds=time.perf_counter() - start, complete=False))
    summary = summary_document(config, main_runs, controls, multi_seed=len(seeds),
                               seconds=time.perf_counter() - start, complete=True)
    write_json(folder / "run_summary.json", summary)
    if args.figures:
        save_run_figures(folder, main_runs, controls, thesis=mode_preset(args.mode) == "full")
    for key, value in summary["comparison"].items():
        print(f"{key}: {value}")
    print(f"wrote {folder} ({summary['seconds']:.0f} s)")
    return 0
