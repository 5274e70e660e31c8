"""The lateral line's figures about the test (the original's kinds, see
:mod:`~livn_rl.experiments.lateral_line.figures`): the test phase alone, TS and MON tuning, spikes against the
source position, the MON->TS drive and its winner, and the TS rate around the train->test transition.

The test's first repeat gives the rasters and spike-position plots; tuning and drive average over all repeats.
Every function returns a ``matplotlib.figure.Figure`` (no pyplot state).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from livn_rl.recording import Recording
from livn_rl.systems.lateral_line.metrics import decoded_position_cm
from livn_rl.experiments.lateral_line.plotting import (
    COLOURS, SMOOTH_MS, examples, mon_ts_drive_mv, raster, smoothed_rate, spike_positions, test_rates_hz,
)
from livn_rl.experiments.lateral_line.training import RunResult

__all__ = [
    "mon_spikes_vs_x_test", "mon_ts_drive_heatmap", "mon_ts_drive_winner", "mon_tuning_examples", "test_phase_only",
    "ts_pop_rate_train_test_transition", "ts_spikes_vs_x_test", "ts_tuning",
]


def _title(result: RunResult) -> str:
    return f"seed {result.seed}, {'STDP' if result.stdp else 'control (no STDP)'}"


def test_phase_only(result: RunResult) -> Figure:
    """The test alone, time from its start: source position, LL, MON and TS rasters and the population rates
    (20 ms moving average), before training (left) and after (right)."""
    fig = Figure(figsize=(14, 12), layout="constrained")
    axes = fig.subplots(5, 2, sharex="col", height_ratios=(1, 1.2, 2, 1.5, 1.2))
    for column, (name, test) in enumerate((("pre-test (before training)", result.pre),
                                           ("test after training", result.post))):
        rec = test.recording
        t0 = rec.t_start_ms
        hold = rec.duration_ms / test.position_cm.size
        axes[0, column].step(np.arange(test.position_cm.size) * hold, test.position_cm, where="post", color="k")
        axes[0, column].set(ylabel="sphere x (cm)", title=name)
        for row, population in ((1, "LL"), (2, "MON"), (3, "TS")):
            raster(axes[row, column], rec, result, "", (population,), t0_ms=t0)
            axes[row, column].set_xlabel("")
        for population in ("MON", "TS"):
            t, rate = smoothed_rate(rec, result, population)
            axes[4, column].plot(t - t0, rate, color=COLOURS[population], label=population)
        axes[4, column].set(xlabel="time since the test started (ms)", ylabel=f"rate (Hz, {SMOOTH_MS:g} ms smooth)")
        axes[4, column].legend(fontsize=7)
    fig.suptitle(f"test phase only: {_title(result)}")
    return fig


def ts_tuning(result: RunResult, n_examples: int = 8) -> Figure:
    """TS tuning: every TS neuron's rate against the source position after training (heat map, with the nominal
    map), and example neurons before (dashed) and after (solid)."""
    c = result.config
    fig = Figure(figsize=(13, 4.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    after = test_rates_hz(result.post.ts_counts, result)
    image = left.imshow(after.T, aspect="auto", origin="lower", cmap="magma", interpolation="nearest",
                        extent=(0, c.line.body_length_cm, 0, after.shape[1]))
    fig.colorbar(image, ax=left, label="rate (Hz)")
    left.plot(result.ts_positions_cm, np.arange(after.shape[1]) + 0.5, color="c", lw=0.8, label="nominal map")
    left.set(xlabel="source position x (cm)", ylabel="TS neuron", title="TS rates during the test after training")
    left.legend(fontsize=7, loc="lower right")
    before = test_rates_hz(result.pre.ts_counts, result)
    for n, k in enumerate(examples(after.shape[1], n_examples)):
        colour = f"C{n % 10}"
        right.plot(result.post.position_cm, after[:, k], color=colour, label=f"TS {k}")
        right.plot(result.pre.position_cm, before[:, k], "--", color=colour, lw=0.8)
    right.set(xlabel="source position x (cm)", ylabel="rate (Hz)", title="example TS neurons (dashed: before training)")
    right.legend(fontsize=7, ncol=2)
    fig.suptitle(f"TS tuning: {_title(result)}")
    return fig


def _spikes_vs_x(result: RunResult, population: str) -> Figure:
    fig = Figure(figsize=(12, 5), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, (name, test) in zip(axes, (("before training", result.pre), ("after training", result.post))):
        x, index = spike_positions(test, result, population)
        ax.scatter(x, index, s=1.5, alpha=0.5, color=COLOURS[population], rasterized=True)
        size = result.system.population(population).size
        length = result.config.line.body_length_cm
        ax.plot([0, length], [0, size], "k:", lw=0.8, label="nominal map")
        ax.set(xlabel="source position x at the spike (cm)", ylabel=f"{population} index", title=f"test {name}",
               xlim=(0, length), ylim=(0, size))
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"{population} spikes against the source position: {_title(result)}")
    return fig


def ts_spikes_vs_x_test(result: RunResult) -> Figure:
    """Every TS spike of the test at (source position, TS index): the somatotopy, before and after training."""
    fig = _spikes_vs_x(result, "TS")
    ax = fig.axes[1].inset_axes([0.62, 0.06, 0.35, 0.35])
    c = result.config
    for name, test, colour in (("pre", result.pre, "gray"), ("post", result.post, "k")):
        decoded = decoded_position_cm(test.ts_counts, result.ts_positions_cm, c.line.body_length_cm)
        ax.plot(np.broadcast_to(test.position_cm, decoded.shape).ravel(), decoded.ravel(), ".", ms=1.5, color=colour)
    ax.plot([0, c.line.body_length_cm], [0, c.line.body_length_cm], "r:", lw=0.8)
    ax.set_title("PV decoded x (black: after)", fontsize=7)
    ax.tick_params(labelsize=6)
    return fig


def mon_spikes_vs_x_test(result: RunResult) -> Figure:
    """Every MON spike of the test at (source position, MON index)."""
    return _spikes_vs_x(result, "MON")


def mon_tuning_examples(result: RunResult, n_examples: int = 8) -> Figure:
    """Example MON neurons: rate against the source position during the test after training."""
    rates = test_rates_hz(result.post.mon_counts, result)
    fig = Figure(figsize=(9, 4.8), layout="constrained")
    ax = fig.subplots()
    mon = result.system.population("MON")
    for k in examples(mon.size, n_examples):
        ax.plot(result.post.position_cm, rates[:, k],
                label=f"MON {k} ({result.system.body_x_cm[mon.start + k]:.1f} cm)")
    ax.set(xlabel="source position x (cm)", ylabel="rate (Hz)", title=f"MON tuning examples: {_title(result)}")
    ax.legend(fontsize=7, ncol=2)
    return fig


def _drive(result: RunResult) -> np.ndarray:
    return mon_ts_drive_mv(result, result.post, result.weights_after_mv["mon_ts"])


def mon_ts_drive_heatmap(result: RunResult) -> Figure:
    """The feed-forward MON->TS drive (sum of MON spikes x weight x gain) per TS neuron against the source
    position, after training."""
    c = result.config
    drive = _drive(result)
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(drive.T, aspect="auto", origin="lower", cmap="viridis", interpolation="nearest",
                      extent=(0, c.line.body_length_cm, 0, drive.shape[1]))
    fig.colorbar(image, ax=ax, label="drive per test window (mV)")
    ax.plot(result.ts_positions_cm, np.arange(drive.shape[1]) + 0.5, color="w", lw=0.8, ls=":", label="nominal map")
    ax.set(xlabel="source position x (cm)", ylabel="TS neuron", title=f"MON->TS drive: {_title(result)}")
    ax.legend(fontsize=7, loc="lower right")
    return fig


def mon_ts_drive_winner(result: RunResult) -> Figure:
    """The TS neuron with the largest MON->TS drive (winner take all) against the source position."""
    c = result.config
    drive = _drive(result)
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.subplots()
    driven = drive.max(axis=1) > 0
    ax.plot(result.post.position_cm[driven], drive.argmax(axis=1)[driven], "o", ms=3, color=COLOURS["TS"],
            label="argmax drive")
    ax.plot([0, c.line.body_length_cm], [0, drive.shape[1]], "k:", lw=0.8, label="nominal map")
    ax.set(xlabel="source position x (cm)", ylabel="winning TS index", ylim=(0, drive.shape[1]),
           title=f"MON->TS drive winner: {_title(result)}")
    ax.legend(fontsize=7)
    return fig


def ts_pop_rate_train_test_transition(result: RunResult) -> Figure:
    """TS population rate (20 ms moving average) over the last training trial, the rest after it and the test's
    first repeat, with the start of the test marked."""
    parts = [result.kept_trials[-1][1]] if result.kept_trials else []  # the last training trial
    parts += [result.last_rest] if result.last_rest is not None else []
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    ax = fig.subplots()
    test_start = result.post.recording.t_start_ms
    rec = Recording.concatenate(parts + [result.post.recording])
    t, rate = smoothed_rate(rec, result, "TS")
    ax.plot(t - test_start, rate, color=COLOURS["TS"])
    ax.axvline(0.0, color="k", ls="--", label="test starts (plasticity " +
               ("on)" if result.config.training.plastic_test else "frozen)"))
    if result.kept_trials:
        trial = result.kept_trials[-1][1]
        ax.axvspan(trial.t_start_ms - test_start, trial.t_stop_ms - test_start, color="0.9", label="last training trial")
    else:
        ax.text(0.02, 0.92, "no training trials", transform=ax.transAxes, fontsize=8, color="0.4")
    ax.set(xlabel="time relative to the start of the test (ms)", ylabel=f"TS rate (Hz, {SMOOTH_MS:g} ms smooth)",
           title=f"TS population rate around the train->test transition: {_title(result)}")
    ax.legend(fontsize=7)
    return fig
