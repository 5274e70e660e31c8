"""The ring attractor's reference experiment: 5 s trials per serotonin level and seed, their table and figures.

A trial runs the ring for ``trial_ms`` (5 s) at dt = 0.1 ms with the cue of its config (100 degrees from 1 to
1.25 s by default) and measures, on the excitatory spikes (:mod:`livn_rl.systems.ring.analysis`): the termination
time in the original notebook's convention (seconds after the cue, the failing window's centre) and in ours (the
failing window's start, ms of the trial) with its reason, the bump's width during the delay, its drift and its
distance from the cue. Optionally it records the state traces the original returns for chosen cells.

>>> from livn_rl.experiments.ring import run_trials, summarise
>>> trials = run_trials(["normal", "increased"], seeds=[42, 43])
>>> summarise(trials)["increased"]["termination_s_after_cue"]["mean"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from livn_rl.atomic import atomic_path
from livn_rl.engine import Simulation
from livn_rl.systems.ring.analysis import (
    STEP_MS, WINDOW_MS, bump_drift, bump_width, decode_bump, termination, termination_after_cue_s, window_rates,
)
from livn_rl.systems.ring.network import SEROTONIN_LEVELS, RingAttractorSystem, wrap_deg

__all__ = [
    "DECODE_STEP_MS", "DECODE_WINDOW_MS", "DEFAULT_SEED_START", "DT_MS", "STATE_TRACES", "bump_figure", "gif_name",
    "run_trial", "run_trials", "serotonin_gif", "state_arrays", "summarise", "table_markdown",
]

#: Integration step of the reference trials (ms).
DT_MS = 0.1
#: Decoding windows for the bump's trajectory (ms).
DECODE_WINDOW_MS = 100.0
DECODE_STEP_MS = 50.0
#: The original seeds every level with ``np.random.seed(42)``: our seed lists start there.
DEFAULT_SEED_START = 42
#: The state traces the original's simulation returns, as the ring's variables (besides ``v``), with the unit and
#: factor each is saved in: the recovery current ``u``, the synaptic input ``I_syn`` and its part per receptor,
#: the background's current, the conductances per receptor and the background's conductance.
STATE_TRACES = {
    "u": ("pA", 1e12), "I_syn": ("pA", 1e12), "I_ampa": ("pA", 1e12), "I_nmda": ("pA", 1e12),
    "I_gaba_a": ("pA", 1e12), "I_gaba_b": ("pA", 1e12), "I_background": ("pA", 1e12), "g_ampa": ("nS", 1e9),
    "g_nmda": ("nS", 1e9), "g_gaba_a": ("nS", 1e9), "g_gaba_b": ("nS", 1e9), "g_background": ("nS", 1e9),
}


def run_trial(simulation, seed: int) -> dict[str, Any]:
    """Reset ``simulation`` (of a :class:`RingAttractorSystem`) to ``seed``, run one trial and measure it.

    :returns: ``level``, ``seed``, the spikes (``neuron_i``, ``t_ms``), ``termination_s_after_cue`` and
        ``termination_reason_after_cue`` (the original's convention), the ``termination`` (ours: dict),
        ``width_deg``, ``drift_deg``, ``cue_error_deg`` (mean distance of the decoded angle from the cue during the
        delay), ``peak_hz`` (the fastest cell's rate in the criterion's windows, averaged over the windows up to the
        termination), the ``decoded`` trajectory (over the whole trial) and, if the simulation records cells,
        their ``states`` (:func:`state_arrays`)
    """
    system: RingAttractorSystem = simulation.system
    cfg = system.config
    n_exc = system.populations[0].size
    trial_ms, cue_stop = float(cfg["trial_ms"]), float(cfg["cue_stop_ms"])
    simulation.reset(int(seed))
    rec = simulation.run(trial_ms)
    i, t = rec.neuron_i, rec.neuron_t_ms
    end = termination(i, t, n_exc, cue_stop, trial_ms)
    after_cue_s, after_cue_reason = termination_after_cue_s(i, t, n_exc, cue_stop, trial_ms, dt_ms=simulation.dt_ms)
    decoded = decode_bump(i, t, n_exc, 0.0, trial_ms, DECODE_WINDOW_MS, DECODE_STEP_MS)
    held = end.time_ms > cue_stop  # at least the first window after the cue passed
    width = bump_width(i, t, n_exc, cue_stop, end.time_ms) if held else float("nan")
    drift = bump_drift(decoded, cue_stop, end.time_ms) if held else float("nan")
    delay = (decoded["t_ms"] >= cue_stop) & (decoded["t_ms"] <= end.time_ms) & np.isfinite(decoded["angle_deg"])
    cue_error = float(np.mean(np.abs(wrap_deg(decoded["angle_deg"][delay] - cfg["cue_angle_deg"])))) if held and delay.any() else float("nan")
    starts = np.arange(cue_stop, end.time_ms + STEP_MS / 2, STEP_MS)
    starts = starts[starts + WINDOW_MS <= trial_ms]
    peak = float(window_rates(i, t, n_exc, starts, WINDOW_MS).max(axis=1).mean()) if starts.size else float("nan")
    trial = {
        "level": system.serotonin_label, "seed": int(seed), "neuron_i": i, "t_ms": t,
        "termination_s_after_cue": after_cue_s, "termination_reason_after_cue": after_cue_reason,
        "termination": end.to_dict(), "width_deg": width, "drift_deg": drift, "cue_error_deg": cue_error, "peak_hz": peak,
        "decoded": decoded,
    }
    if rec.voltage_index.size:
        trial["states"] = state_arrays(rec, system)
    return trial


def state_arrays(recording, system: RingAttractorSystem) -> dict[str, np.ndarray]:
    """The recorded cells' state traces as the CLI saves them: ``t_ms``, ``cells``, ``serotonin_gain`` (per cell),
    ``v_mV`` and every :data:`STATE_TRACES` variable as ``<name>_<unit>``, each ``(n_cells, n_t)``. The membrane
    receives ``serotonin_gain * I_syn`` plus the injected currents."""
    arrays = {"t_ms": recording.voltage_t_ms, "cells": recording.voltage_index,
              "serotonin_gain": system.serotonin_gain[recording.voltage_index], "v_mV": recording.voltage_mv[0]}
    for name, (unit, factor) in STATE_TRACES.items():
        arrays[f"{name}_{unit}"] = recording.traces[name][0] * factor
    return arrays


def run_trials(levels: Sequence[str | dict] = SEROTONIN_LEVELS, seeds: Iterable[int] = (42, 43, 44), *,
               target: str = "auto", progress: bool = False, record_cells: Sequence[int] = (),
               **ring_kwargs: Any) -> list[dict[str, Any]]:
    """One trial per serotonin level and seed (one network per level, reset per seed).

    :param levels: serotonin levels (names from the config, or ``{"E": gain, "I": gain}`` mappings)
    :param seeds: trial seeds (initial state and background spikes; the ring's structure has no randomness)
    :param target: Brian2 code generation target
    :param progress: show a progress bar over trials
    :param record_cells: cells (0-359 excitatory, 360-449 inhibitory) whose state traces each trial records
    :param ring_kwargs: further :class:`RingAttractorSystem` arguments (``cue_angle_deg=...``, ``j_ee=...``)
    """

    seeds = [int(s) for s in seeds]
    if not seeds or any(s < 0 for s in seeds):
        raise ValueError(f"seeds must be one or more whole numbers >= 0, got {seeds!r}")
    systems = [RingAttractorSystem(serotonin=level, **ring_kwargs) for level in levels]  # checks every level first
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(systems) * len(seeds), unit="trial", desc="ring trials")
    trials = []
    try:
        for system in systems:
            with Simulation(system, seed=seeds[0], dt_ms=DT_MS, target=target, record_voltages=list(record_cells),
                            record_traces=tuple(STATE_TRACES) if len(record_cells) else ()) as sim:
                for seed in seeds:
                    trials.append(run_trial(sim, seed))
                    if bar is not None:
                        bar.set_postfix_str(f"{system.serotonin_label} seed {seed}")
                        bar.update()
    finally:
        if bar is not None:
            bar.close()
    return trials


def _stats(values: list[float]) -> dict[str, float | None]:
    finite = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    if finite.size == 0:
        return {"mean": None, "sd": None, "n": 0}
    return {"mean": float(finite.mean()), "sd": float(finite.std()), "n": int(finite.size)}


def summarise(trials: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per level over its seeds (means, SDs and the number of trials where the value exists): the termination time
    in the original's convention (s after the cue) and in ours (ms; and the delay held, ms after the cue), the
    reasons, bump width, |drift|, cue error and peak rate."""
    table: dict[str, dict[str, Any]] = {}
    for level in dict.fromkeys(t["level"] for t in trials):
        rows = [t for t in trials if t["level"] == level]
        reasons = [t["termination"]["reason"] for t in rows]
        table[level] = {
            "seeds": [t["seed"] for t in rows],
            "termination_s_after_cue": _stats([t["termination_s_after_cue"] for t in rows]),
            "termination_ms": _stats([t["termination"]["time_ms"] for t in rows]),
            "held_ms": _stats([t["termination"]["duration_ms"] for t in rows]),
            "reasons": {r: reasons.count(r) for r in ("persisted", "extinct", "runaway") if r in reasons},
            "width_deg": _stats([t["width_deg"] for t in rows]),
            "abs_drift_deg": _stats([abs(t["drift_deg"]) for t in rows]),
            "cue_error_deg": _stats([t["cue_error_deg"] for t in rows]),
            "peak_hz": _stats([t["peak_hz"] for t in rows]),
        }
    return table


def table_markdown(summary: dict[str, dict[str, Any]]) -> str:
    """The summary as a Markdown table (mean +- SD over seeds; n/a where no trial held a bump)."""

    def cell(stats: dict, digits: int = 0) -> str:
        if stats["mean"] is None:
            return "n/a"
        return f"{stats['mean']:.{digits}f} +- {stats['sd']:.{digits}f}" + ("" if stats["n"] == n else f" (n={stats['n']})")

    lines = ["| serotonin | termination (s after cue, original) | termination (ms, ours) | held after cue (ms) | outcome | "
             "bump width (deg) | abs drift (deg) | cue error (deg) | peak rate (Hz) |", "|---|---|---|---|---|---|---|---|---|"]
    for level, row in summary.items():
        n = len(row["seeds"])
        outcome = ", ".join(f"{count} {reason}" for reason, count in row["reasons"].items())
        lines.append(f"| {level} | {cell(row['termination_s_after_cue'], 2)} | {cell(row['termination_ms'])} | "
                     f"{cell(row['held_ms'])} | {outcome} | "
                     f"{cell(row['width_deg'])} | {cell(row['abs_drift_deg'], 1)} | {cell(row['cue_error_deg'], 1)} | "
                     f"{cell(row['peak_hz'], 1)} |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------- figures
def gif_name(level: str) -> str:
    """The original's GIF name of a level: ``<level>_serotonin.gif`` (in the output's ``images/`` folder)."""
    return f"{level}_serotonin.gif"


def serotonin_gif(trial: dict[str, Any], system: RingAttractorSystem, path: str | Path, frames: int = 50) -> None:
    """An animated raster of one trial as the original draws it: excitatory spikes (blue, neurons 0-360) above,
    inhibitory (red, 0-90) below, time in seconds over the whole trial; frame ``k`` adds the spikes up to
    ``(k + 1) / frames`` of the trial (100 ms per frame for 50 frames over 5 s, played in real time), and a bar
    under the axes grows over the cue from 1.0 s to 1.25 s (from frame 10, a frame's tenth of a second at a
    time, as the original). The subtitle adds the seed and, once reached, the termination time in the original's
    convention."""
    from matplotlib.animation import PillowWriter
    from matplotlib.figure import Figure

    cfg = system.config
    trial_s = float(cfg["trial_ms"]) / 1000.0
    cue_start_s, cue_stop_s = cfg["cue_start_ms"] / 1000.0, cfg["cue_stop_ms"] / 1000.0
    n_exc, n_inh = system.populations[0].size, system.populations[1].size
    i, t_s = trial["neuron_i"], trial["t_ms"] / 1000.0
    exc = i < n_exc
    fig = Figure(figsize=(12, 6))
    top, bottom = fig.subplots(2, 1, sharex=True)
    dots_e = top.scatter([], [], s=4, c="blue", linewidths=0)
    dots_i = bottom.scatter([], [], s=4, c="red", linewidths=0)
    top.set(title="Excitatory neurons spikes", ylabel="Neuron", ylim=(0, n_exc), xlim=(0, trial_s))
    bottom.set(title="Inhibitory neurons spikes", ylabel="Neuron", ylim=(0, n_inh), xlabel="Time (in s)")
    top.set_xlabel("Time (in s)")
    top.tick_params(labelbottom=True)
    bottom.tick_params(axis="x", pad=12)
    (bar,) = bottom.plot([], [], color="blue", lw=5, solid_capstyle="butt", clip_on=False,
                         transform=bottom.get_xaxis_transform())
    fig.suptitle(f"{trial['level'].replace('_', ' ').title()} Serotonin", fontsize=14)
    status = fig.text(0.5, 0.925, "", ha="center", fontsize=9, color="0.35")
    fig.subplots_adjust(left=0.07, right=0.98, top=0.86, bottom=0.1, hspace=0.45)
    end_s = cue_stop_s + trial["termination_s_after_cue"]
    reason = trial["termination_reason_after_cue"]
    writer = PillowWriter(fps=frames / trial_s)
    with writer.saving(fig, str(path), dpi=60):
        for k in range(frames):
            shown_to = (k + 1) * trial_s / frames
            shown = t_s <= shown_to
            dots_e.set_offsets(np.column_stack([t_s[shown & exc], i[shown & exc]]))
            dots_i.set_offsets(np.column_stack([t_s[shown & ~exc], i[shown & ~exc] - n_exc]))
            frame_start = k * trial_s / frames
            if frame_start >= cue_start_s:
                bar.set_data([cue_start_s, min(frame_start, cue_stop_s)], [-0.09, -0.09])
            ended = reason != "persisted" and shown_to >= end_s
            status.set_text(f"seed {trial['seed']}" + (f"; attractor ended ({reason}) {trial['termination_s_after_cue']:.2f} s "
                                                      f"after the cue" if ended else ""))
            writer.grab_frame()


def bump_figure(trials: list[dict[str, Any]], system: RingAttractorSystem, path: str | Path) -> None:
    """The decoded bump position (population vector) over time for every trial of one level, with its strength."""
    from matplotlib.figure import Figure

    cfg = system.config
    fig = Figure(figsize=(7.0, 4.8))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    for k, trial in enumerate(trials):
        d = trial["decoded"]
        colour = f"C{k % 10}"
        end = trial["termination"]
        top.scatter(d["t_ms"], d["angle_deg"], s=4 + 30 * d["strength"], color=colour,
                    label=f"seed {trial['seed']}: {end['reason']}" + ("" if end["reason"] == "persisted" else f" at {end['time_ms']:g} ms"))
        bottom.plot(d["t_ms"], d["strength"], color=colour, lw=1)
        if end["reason"] != "persisted":
            for ax in (top, bottom):
                ax.axvline(end["time_ms"], color=colour, ls="--", lw=0.8)
    for ax in (top, bottom):
        ax.axvspan(cfg["cue_start_ms"], cfg["cue_stop_ms"], color="orange", alpha=0.25, lw=0)
    top.axhline(cfg["cue_angle_deg"] % 360.0, color="k", lw=0.6, ls=":", label="cue angle")
    top.set_ylim(0, 360)
    top.set_yticks([0, 90, 180, 270, 360])
    top.set_ylabel("decoded angle (deg)")
    top.legend(fontsize=7, loc="upper right")
    top.set_title(f"bump position, serotonin {trials[0]['level']} (dot size: strength; orange: cue)", fontsize=10)
    bottom.set_ylabel("strength")
    bottom.set_ylim(0, 1)
    bottom.set_xlim(0, cfg["trial_ms"])
    bottom.set_xlabel(f"time (ms; population vector of E spikes in {DECODE_WINDOW_MS:g} ms windows)")
    fig.tight_layout()
    with atomic_path(path) as partial:
        fig.savefig(partial, dpi=120)
