"""``livn-rl simulate``: simulate a system with stimulation, print a summary and save a figure (JSON, the recording)."""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Sequence

from livn_rl.atomic import write_json
from livn_rl.cli.common import (
    CONTROL_DT_MS, DT_MS, UsageError, add_command, check_output, config_mea, resolve_config, usage_errors,
)

__all__ = ["add_parser", "cmd_simulate"]

#: Neighbourhood of a stimulated electrode whose rate the summary reports (um).
RESPONSE_RADIUS_UM = 100.0

SIMULATE_DESCRIPTION = """\
Simulate a system for --duration ms, optionally stimulating electrodes, then print a summary (rates per
population and per channel, network bursts, the response near each stimulated electrode) and save a figure
(raster, population rates, MEA map). Everything is checked before the network is built.
"""

SIMULATE_EPILOG = """\
stimulus syntax (--stimulate, repeatable):
  CH:AMPuA@ONSETms           one biphasic pulse of AMP uA on channel CH
                             (cathodic first, 0.2 ms per phase)
  CH:AMPuA@ONSETmsxN/RATEHz  a train of N such pulses at RATE Hz
                             (20 Hz when /RATEHz is left out)
  Channels count from 0 in row-major order (x fastest, see 'livn-rl systems
  NAME'); onsets are ms from the start of the run; amplitudes are limited by
  the MEA (50 uA by default).

examples:
  livn-rl simulate S2
  livn-rl simulate S2 --duration 1000 --stimulate 5:10uA@500msx10/20Hz \\
      --out /tmp/s2.png
  livn-rl simulate S2 -s 5:3uA@500ms -s 10:3uA@1200ms --no-background
  livn-rl simulate S3 --duration 500 --target numpy --json out/s3.json
  livn-rl simulate S2 --save out/s2.npz && livn-rl export nwb out/s2.npz \\
      --out out/s2.nwb
  livn-rl simulate my_culture.yaml --seed 7

targets: 'cython' compiles the model once (about a minute, cached afterwards)
and then runs fast; 'numpy' starts at once but runs slower; 'auto' uses Cython
when a compiler works.
"""


def add_parser(commands) -> None:
    """Add ``simulate`` to the ``livn-rl`` sub-parsers."""
    sim = add_command(commands, "simulate", help="simulate a system (with stimulation), print a summary and save a figure",
                      description=SIMULATE_DESCRIPTION, epilog=SIMULATE_EPILOG, handler=cmd_simulate)
    sim.add_argument("system", metavar="SYSTEM", help="a predefined system (S1..S4) or a YAML/JSON culture config")
    sim.add_argument("--duration", "-d", type=float, default=2000.0, metavar="MS",
                     help="simulated time in ms, a whole number of ms (default: 2000)")
    sim.add_argument("--stimulate", "-s", action="append", default=[], metavar="SPEC",
                     help="a pulse or pulse train, e.g. 5:3uA@500ms or 5:3uA@500msx10/20Hz (repeatable)")
    sim.add_argument("--seed", type=int, default=0, metavar="N",
                     help="seed of the initial state and background noise (default: 0); the culture's structure is "
                          "fixed by its config")
    sim.add_argument("--no-background", dest="background", action="store_false",
                     help="switch off the background noise current (only stimulation drives the culture)")
    sim.add_argument("--target", choices=("auto", "cython", "numpy"), default="auto",
                     help="Brian2 code generation target (default: auto)")
    sim.add_argument("--out", "-o", metavar="PATH",
                     help="figure path; the suffix picks the format (default: out/<system>_simulation.png)")
    sim.add_argument("--json", metavar="PATH", dest="json_path", help="also write the summary as JSON to PATH")
    sim.add_argument("--save", metavar="FILE", help="also save the whole recording (every spike, every detection, the "
                                                   "stimulation and the system) to FILE (.npz), for `livn-rl export nwb`")
    sim.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _check_duration(duration: float) -> float:
    if not math.isfinite(duration) or duration <= 0:
        raise UsageError(f"--duration must be a finite number of ms > 0, got {duration:g}")
    steps = duration / CONTROL_DT_MS
    if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
        raise UsageError(f"--duration must be a whole number of ms (multiple of {CONTROL_DT_MS:g} ms), got {duration:g}")
    return float(round(steps) * CONTROL_DT_MS)


def _parse_stimuli(specs: Sequence[str], mea, duration_ms: float):
    """Parse and check every --stimulate SPEC against the MEA and the run; returns (pulses, rendered currents)."""
    from livn_rl.stimulus import parse_pulse_spec, render

    pulses = []
    for spec in specs:
        try:
            train = parse_pulse_spec(spec)
        except ValueError as err:
            raise UsageError(f"--stimulate: {err}") from None
        first = train[0]
        if first.channel >= mea.n_channels:
            raise UsageError(
                f"--stimulate {spec!r}: channel {first.channel} does not exist; the MEA has {mea.n_channels} channels "
                f"(0..{mea.n_channels - 1})"
            )
        if first.amplitude_ua > mea.max_current_ua:
            raise UsageError(
                f"--stimulate {spec!r}: {first.amplitude_ua:g} uA exceeds the MEA limit of {mea.max_current_ua:g} uA"
            )
        if first.amplitude_ua == 0:
            raise UsageError(f"--stimulate {spec!r}: the amplitude is 0 uA, so it would do nothing")
        last = train[-1]
        if last.onset_ms >= duration_ms:
            which = "its pulse" if len(train) == 1 else f"its last pulse (of {len(train)})"
            raise UsageError(
                f"--stimulate {spec!r}: {which} starts at {last.onset_ms:g} ms, not before the end of the run "
                f"({duration_ms:g} ms); lengthen --duration or start earlier"
            )
        if len(train) > 1 and train[1].onset_ms - first.onset_ms < first.duration_ms:
            raise UsageError(f"--stimulate {spec!r}: the pulses overlap; lower the rate")
        pulses.extend(train)
    if not pulses:
        return [], None
    with usage_errors("--stimulate: "):
        currents = render(pulses, mea.n_channels, duration_ms, DT_MS)
    try:
        mea.check_current(currents)
    except ValueError as err:
        raise UsageError(f"--stimulate: {err} (pulses on one channel add up where they overlap)") from None
    return pulses, currents


def _rate_grid_lines(rates, mea) -> list[str]:
    """Per-channel rates as a grid seen from above (top row = largest y), or a list when the MEA is no grid."""
    from livn_rl.analysis import grid_shape

    shape = grid_shape(mea)
    width = len(str(mea.n_channels - 1))
    values = [f"{r:.1f}" for r in rates]
    value_width = max(len(v) for v in values)
    cells = [f"[{c:>{width}}] {v:>{value_width}}" for c, v in enumerate(values)]
    if shape is None:
        per_line = 8
        return ["  " + "   ".join(cells[k : k + per_line]) for k in range(0, len(cells), per_line)]
    rows, cols = shape
    return ["  " + "   ".join(cells[r * cols : (r + 1) * cols]) for r in reversed(range(rows))]


def _fmt_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} Hz"


def cmd_simulate(args: argparse.Namespace) -> int:
    """``livn-rl simulate SYSTEM ...``: validate, build, run, summarise, plot."""
    import numpy as np

    # ---- validate everything before building anything
    config = resolve_config(args.system)
    mea = config_mea(config)
    duration = _check_duration(args.duration)
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    pulses, currents = _parse_stimuli(args.stimulate, mea, duration)
    from matplotlib.figure import Figure

    formats = sorted(Figure().canvas.get_supported_filetypes())
    out = check_output(args.out or f"out/{config.name}_simulation.png", "--out", formats)
    json_out = check_output(args.json_path, "--json", ("json",)) if args.json_path else None
    save_out = check_output(args.save, "--save", ("npz",)) if args.save else None

    # ---- build and run
    from livn_rl.analysis import (
        burst_threshold_hz, detect_bursts, mean_rates, population_rates, stimulation_responses,
    )
    from livn_rl.engine import Simulation
    from livn_rl.plots import save_figure, simulation_figure
    from livn_rl.systems import make_system

    t_build = time.perf_counter()
    with usage_errors(f"system {config.name!r} cannot be simulated: "):
        system = make_system(config)
        system.mea.check_coverage(system.positions_um)
    mea = system.mea
    print(f"{system.name}: {system.n_neurons:,} neurons ("
          + " / ".join(f"{p.size:,} {p.name}" for p in system.populations) + "), "
          + (f"{system.n_synapses:,} synapses, " if hasattr(system, "n_synapses") else "")
          + f"{mea.n_channels} channels; seed {args.seed}, background {'on' if args.background else 'off'}, "
          f"target {args.target}", flush=True)
    if args.target != "numpy" and not args.quiet:
        print("building the network (with Cython, the first build of a model compiles it: about a minute)...",
              file=sys.stderr, flush=True)
    sim = Simulation(system, seed=args.seed, target=args.target, background=args.background, dt_ms=DT_MS,
                     control_dt_ms=CONTROL_DT_MS)
    build_s = time.perf_counter() - t_build
    t_run = time.perf_counter()
    try:
        recording = sim.run(duration, stimulus=currents, progress=not args.quiet)
    finally:
        sim.close()
    run_s = time.perf_counter() - t_run

    # ---- analyse
    pop_rates = mean_rates(recording, system)
    bursts = detect_bursts(recording, system)
    _, total = recording.population_rate_hz(None, bin_ms=10.0)
    threshold = burst_threshold_hz(total)
    channel_rates = recording.channel_rates_hz[0]
    responses = stimulation_responses(recording, system, mea, pulses, radius_um=RESPONSE_RADIUS_UM)

    # ---- report
    speed = (duration / 1000.0) / run_s if run_s > 0 else float("inf")
    print(f"simulated {duration:g} ms in {build_s + run_s:.1f} s wall (build {build_s:.1f} s, run {run_s:.1f} s; "
          f"{speed:.2f}x real time)")
    print("mean rate per population:")
    for pop in system.populations:
        print(f"  {pop.name} ({pop.cell or '?'}, n={pop.size:,}): {pop_rates[pop.name]:7.2f} Hz")
    times = ", ".join(f"{b.start_ms:g}" for b in bursts[:12]) + (", ..." if len(bursts) > 12 else "")
    windows = [tuple(r["window_ms"]) for r in responses]
    evoked = sum(any(lo <= b.start_ms - recording.t_start_ms < hi for lo, hi in windows) for b in bursts)
    split = f" ({evoked} during stimulation)" if windows else ""
    print(f"network bursts: {len(bursts)}{split}" + (f", starting at {times} ms" if bursts else ""))
    print(f"  (a burst: whole-network rate in 10 ms bins above {threshold:.1f} Hz = max(5 x mean rate, 20 Hz))")
    print(f"detected spike rate per channel (Hz){', as seen from above (top row = largest y)' if _is_grid(mea) else ''}:")
    for line in _rate_grid_lines(channel_rates, mea):
        print(line)
    print(f"  mean {channel_rates.mean():.1f} Hz; noise alone gives {mea.false_positive_rate_hz:.2g} Hz per channel")
    if responses:
        first = min(p.onset_ms for p in pulses)
        print(f"stimulation response of the neurons within {RESPONSE_RADIUS_UM:g} um of each stimulated electrode")
        print(f"  (before = 0-{first:g} ms; during = from its first pulse to one interval after its last):")
        for r in responses:
            before, during = r["rate_before_hz"], r["rate_during_hz"]
            gain = f" (x{during / before:.1f})" if before and during is not None else ""
            pulses_text = f"{r['n_pulses']} x {r['amplitude_ua']:g} uA" if r["n_pulses"] > 1 else f"{r['amplitude_ua']:g} uA"
            print(f"  channel {r['channel']:>2}, {pulses_text}, {r['window_ms'][0]:g}-{r['window_ms'][1]:g} ms: "
                  f"{r['n_neurons_near']} neurons {_fmt_rate(before)} -> {_fmt_rate(during)}{gain}; "
                  f"electrode recorded {_fmt_rate(r['channel_rate_before_hz'])} -> {_fmt_rate(r['channel_rate_during_hz'])}")

    # ---- figure and JSON
    stim_text = "; ".join(_describe_spec(spec) for spec in args.stimulate) if args.stimulate else "no stimulation"
    title = (f"{system.name}: {duration:g} ms, {stim_text}, seed {args.seed}"
             + ("" if args.background else ", no background"))
    fig = simulation_figure(recording, system, mea, pulses=pulses, title=title)
    save_figure(fig, str(out), dpi=150)
    print(f"figure: {out}")
    if save_out is not None:
        _save_recording(save_out, args, system, recording, pulses, duration)
        print(f"recording: {save_out}")
    if json_out is not None:
        centres, rates_t = population_rates(recording, system)
        summary = {
            "system": system.name,
            "system_spec": args.system,
            "n_neurons": system.n_neurons,
            "n_channels": mea.n_channels,
            "seed": args.seed,
            "background": args.background,
            "target": args.target,
            "duration_ms": duration,
            "wall_s": {"build": round(build_s, 3), "run": round(run_s, 3)},
            "stimulate": list(args.stimulate),
            "pulses": [{"channel": p.channel, "onset_ms": p.onset_ms, "amplitude_ua": p.amplitude_ua} for p in pulses],
            "mean_rate_hz": {k: round(v, 4) for k, v in pop_rates.items()},
            "channel_rate_hz": [round(float(v), 4) for v in channel_rates],
            "mea_grid": list(_grid(mea)) if _is_grid(mea) else None,
            "bursts": {"threshold_hz": round(threshold, 3), "bin_ms": 10.0, "count": len(bursts),
                       "during_stimulation": evoked, "events": [b.to_dict() for b in bursts]},
            "stimulation_responses": responses,
            "population_rate_hz": {"bin_ms": 10.0, "t_ms": np.round(centres, 3).tolist(),
                                   **{k: np.round(v, 3).tolist() for k, v in rates_t.items()}},
            "n_spikes": int(recording.neuron_i.size),
            "n_channel_spikes": int(recording.channel_c.size),
            "figure": str(out),
            "recording": str(save_out) if save_out is not None else None,
        }
        write_json(json_out, _rounded(summary))
        print(f"json: {json_out}")
    return 0


def _save_recording(path, args: argparse.Namespace, system, recording, pulses, duration: float) -> None:
    """The whole run as a session file (lossless; read by `livn-rl export nwb`)."""
    from livn_rl.data.sampling import package_versions
    from livn_rl.export import Session, SystemInfo, pulse_table
    from livn_rl.export.metadata import EXPORT_PACKAGES
    from livn_rl.export.session import now_iso

    words = ["livn-rl", "simulate", args.system, "--duration", f"{duration:g}", "--seed", str(args.seed),
             *(w for spec in args.stimulate for w in ("--stimulate", spec)), "--target", args.target,
             *([] if args.background else ["--no-background"]), "--save", str(path)]
    stim_text = "; ".join(_describe_spec(spec) for spec in args.stimulate) or "no stimulation"
    metadata = {
        "description": f"{duration:g} ms of {system.name} simulated by livn-rl simulate ({stim_text}), seed {args.seed}, "
                       f"background {'on' if args.background else 'off'}",
        "seed": args.seed, "background": args.background, "target": args.target, "stimulate": list(args.stimulate),
        "created": now_iso(), "command": " ".join(words), "versions": package_versions(EXPORT_PACKAGES),
    }
    Session("recording", SystemInfo.from_system(system), recording, DT_MS, pulse_table(pulses), metadata=metadata).save(path)


def _describe_spec(spec: str) -> str:
    """A --stimulate SPEC in words, e.g. '10 x 10 uA at 20 Hz on channel 5 from 500 ms'."""
    from livn_rl.stimulus import parse_pulse_spec

    train = parse_pulse_spec(spec)
    p = train[0]
    if len(train) == 1:
        return f"{p.amplitude_ua:g} uA on channel {p.channel} at {p.onset_ms:g} ms"
    rate = 1000.0 / (train[1].onset_ms - p.onset_ms)
    return f"{len(train)} x {p.amplitude_ua:g} uA at {rate:g} Hz on channel {p.channel} from {p.onset_ms:g} ms"


def _rounded(value, digits: int = 4):
    """``value`` with every float rounded, for a readable JSON file."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v, digits) for v in value]
    return value


def _grid(mea):
    from livn_rl.analysis import grid_shape

    return grid_shape(mea)


def _is_grid(mea) -> bool:
    return _grid(mea) is not None
