"""The ring attractor's reference experiment: 5 s trials per serotonin level and seed, their table and figures.

A trial runs the ring for ``trial_ms`` (5 s) at dt = 0.1 ms with the cue of its config (100 degrees from 1 to
1.25 s by default) and measures, on the excitatory spikes (:mod:`livn_rl.systems.ring.analysis`): the termination time and its
reason, the bump's width during the delay, its drift and its distance from the cue.

>>> from livn_rl.experiments.ring import run_trials, summarise
>>> trials = run_trials(["normal", "increased"], seeds=[0, 1])
>>> summarise(trials)["normal"]["termination_ms"]["mean"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from livn_rl.engine import Simulation
from livn_rl.systems.ring.analysis import STEP_MS, WINDOW_MS, bump_drift, bump_width, decode_bump, termination, window_rates
from livn_rl.systems.ring.network import SEROTONIN_LEVELS, RingAttractorSystem, wrap_deg

__all__ = [
    "DECODE_STEP_MS", "DECODE_WINDOW_MS", "DT_MS", "bump_figure", "raster_gif", "run_trial", "run_trials", "summarise",
    "table_markdown",
]

#: Integration step of the reference trials (ms).
DT_MS = 0.1
#: Decoding windows for the bump's trajectory (ms).
DECODE_WINDOW_MS = 100.0
DECODE_STEP_MS = 50.0


def run_trial(simulation, seed: int) -> dict[str, Any]:
    """Reset ``simulation`` (of a :class:`RingAttractorSystem`) to ``seed``, run one trial and measure it.

    :returns: ``level``, ``seed``, the spikes (``neuron_i``, ``t_ms``), the ``termination`` (dict), ``width_deg``,
        ``drift_deg``, ``cue_error_deg`` (mean distance of the decoded angle from the cue during the delay),
        ``peak_hz`` (the fastest cell's rate in the criterion's windows, averaged over the windows up to the
        termination) and the ``decoded`` trajectory (over the whole trial)
    """
    system: RingAttractorSystem = simulation.system
    cfg = system.config
    n_exc = system.populations[0].size
    trial_ms, cue_stop = float(cfg["trial_ms"]), float(cfg["cue_stop_ms"])
    simulation.reset(int(seed))
    rec = simulation.run(trial_ms)
    i, t = rec.neuron_i, rec.neuron_t_ms
    end = termination(i, t, n_exc, cue_stop, trial_ms)
    decoded = decode_bump(i, t, n_exc, 0.0, trial_ms, DECODE_WINDOW_MS, DECODE_STEP_MS)
    held = end.time_ms > cue_stop  # at least the first window after the cue passed
    width = bump_width(i, t, n_exc, cue_stop, end.time_ms) if held else float("nan")
    drift = bump_drift(decoded, cue_stop, end.time_ms) if held else float("nan")
    delay = (decoded["t_ms"] >= cue_stop) & (decoded["t_ms"] <= end.time_ms) & np.isfinite(decoded["angle_deg"])
    cue_error = float(np.mean(np.abs(wrap_deg(decoded["angle_deg"][delay] - cfg["cue_angle_deg"])))) if held and delay.any() else float("nan")
    starts = np.arange(cue_stop, end.time_ms + STEP_MS / 2, STEP_MS)
    starts = starts[starts + WINDOW_MS <= trial_ms]
    peak = float(window_rates(i, t, n_exc, starts, WINDOW_MS).max(axis=1).mean()) if starts.size else float("nan")
    return {
        "level": system.serotonin_label, "seed": int(seed), "neuron_i": i, "t_ms": t,
        "termination": end.to_dict(), "width_deg": width, "drift_deg": drift, "cue_error_deg": cue_error, "peak_hz": peak,
        "decoded": decoded,
    }


def run_trials(levels: Sequence[str | dict] = SEROTONIN_LEVELS, seeds: Iterable[int] = (0, 1, 2), *, target: str = "auto",
               progress: bool = False, **ring_kwargs: Any) -> list[dict[str, Any]]:
    """One trial per serotonin level and seed (one network per level, reset per seed).

    :param levels: serotonin levels (names from the config, or ``{"E": gain, "I": gain}`` mappings)
    :param seeds: trial seeds (initial state and background spikes; the ring's structure has no randomness)
    :param target: Brian2 code generation target
    :param progress: show a progress bar over trials
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
            with Simulation(system, seed=seeds[0], dt_ms=DT_MS, target=target) as sim:
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
    """Per level: termination time (ms), delay held (ms after the cue), reasons, bump width, |drift| and cue error
    over its seeds (means, SDs and the number of trials where the value exists)."""
    table: dict[str, dict[str, Any]] = {}
    for level in dict.fromkeys(t["level"] for t in trials):
        rows = [t for t in trials if t["level"] == level]
        reasons = [t["termination"]["reason"] for t in rows]
        table[level] = {
            "seeds": [t["seed"] for t in rows],
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

    lines = ["| serotonin | termination (ms) | held after cue (ms) | outcome | bump width (deg) | abs drift (deg) | "
             "cue error (deg) | peak rate (Hz) |", "|---|---|---|---|---|---|---|---|"]
    for level, row in summary.items():
        n = len(row["seeds"])
        outcome = ", ".join(f"{count} {reason}" for reason, count in row["reasons"].items())
        lines.append(f"| {level} | {cell(row['termination_ms'])} | {cell(row['held_ms'])} | {outcome} | "
                     f"{cell(row['width_deg'])} | {cell(row['abs_drift_deg'], 1)} | {cell(row['cue_error_deg'], 1)} | "
                     f"{cell(row['peak_hz'], 1)} |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------- figures
def raster_gif(trial: dict[str, Any], system: RingAttractorSystem, path: str | Path, frame_ms: float = 100.0) -> None:
    """An animated raster of one trial: excitatory cells (by preferred angle) above, inhibitory below, revealed
    ``frame_ms`` at a time, with a bar under the cue period and the termination time once it is reached."""
    from matplotlib.animation import PillowWriter
    from matplotlib.figure import Figure

    cfg = system.config
    trial_ms = float(cfg["trial_ms"])
    n_exc, n_inh = system.populations[0].size, system.populations[1].size
    i, t = trial["neuron_i"], trial["t_ms"]
    exc = i < n_exc
    fig = Figure(figsize=(7.0, 4.6))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [4, 1.2]})
    dots_e = top.scatter([], [], s=1.2, c="tab:red", marker="|", linewidths=0.6)
    dots_i = bottom.scatter([], [], s=1.2, c="tab:blue", marker="|", linewidths=0.6)
    top.set_ylim(0, 360)
    top.set_yticks([0, 90, 180, 270, 360])
    top.set_ylabel("E cell, preferred angle (deg)")
    top.axhline(cfg["cue_angle_deg"] % 360.0, color="k", lw=0.5, ls=":")
    bottom.set_ylim(-0.5, n_inh - 0.5)
    bottom.set_ylabel("I cell")
    bottom.set_xlim(0, trial_ms)
    bottom.set_xlabel("time (ms)")
    # the cue bar, under the excitatory raster
    top.axvspan(cfg["cue_start_ms"], cfg["cue_stop_ms"], ymin=-0.075, ymax=-0.025, color="orange", clip_on=False)
    top.text(cfg["cue_stop_ms"] + 30, -0.05, f"cue at {cfg['cue_angle_deg']:g} deg", transform=top.get_xaxis_transform(),
             va="center", fontsize=7, clip_on=False)
    cursor = [ax.axvline(0.0, color="grey", lw=0.8) for ax in (top, bottom)]
    end = trial["termination"]
    title = fig.suptitle("")
    fig.subplots_adjust(left=0.12, right=0.97, top=0.92, bottom=0.12, hspace=0.16)
    frames = np.arange(frame_ms, trial_ms + frame_ms / 2, frame_ms)
    writer = PillowWriter(fps=10)
    with writer.saving(fig, str(path), dpi=80):
        for stop in frames:
            shown = t < stop
            dots_e.set_offsets(np.column_stack([t[shown & exc], system.exc_angles_deg[i[shown & exc]]]))
            dots_i.set_offsets(np.column_stack([t[shown & ~exc], i[shown & ~exc] - n_exc]))
            for line in cursor:
                line.set_xdata([stop, stop])
            state = f"; {end['reason']} at {end['time_ms']:g} ms" if end["reason"] != "persisted" and stop >= end["time_ms"] else ""
            title.set_text(f"ring attractor, serotonin {trial['level']}, seed {trial['seed']}: t = {stop:g} ms{state}")
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
    fig.savefig(str(path), dpi=120)
