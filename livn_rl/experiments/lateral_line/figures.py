"""Figures of a lateral-line run: the training summary, the test, TS tuning, weight profiles and the seed summary.

Every function returns a ``matplotlib.figure.Figure`` (no pyplot state) for a :class:`~.training.RunResult`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from livn_rl.recording import Recording
from livn_rl.systems.lateral_line.metrics import CHANCE_SIGMA_THETA, decoded_position_cm, tuning_curves
from livn_rl.experiments.lateral_line.training import RunResult

__all__ = [
    "COLOURS", "seeds_figure", "summary_figure", "test_raster_figure", "ts_vs_position_figure", "tuning_figure",
    "weight_profile_figure",
]

COLOURS = {"LL": "#7f7f7f", "MON": "#2f6db5", "TS": "#1b7f3b", "INH": "#d1453b"}


def _raster(ax, recording: Recording, result: RunResult, title: str) -> None:
    for pop in result.system.populations:
        mask = (recording.neuron_i >= pop.start) & (recording.neuron_i < pop.stop)
        ax.scatter(recording.neuron_t_ms[mask], recording.neuron_i[mask], s=0.3, color=COLOURS[pop.name],
                   label=f"{pop.name} (n={pop.size})", rasterized=True)
        ax.axhline(pop.start, color="k", lw=0.3)
    ax.set(xlabel="time (ms)", ylabel="neuron", title=title, ylim=(0, result.system.n_neurons))
    ax.legend(loc="upper right", fontsize=6, markerscale=10)


def summary_figure(result: RunResult) -> Figure:
    """Stimulus, rasters of the first and last training trial, population rates, MON->TS weight histograms before
    and after, weight stabilisation and map quality over training."""
    c = result.config
    fig = Figure(figsize=(15, 11), layout="constrained")
    axes = fig.subplots(3, 3)
    ax = axes[0, 0]
    trials = np.arange(1, c.training.n_trials + 1)
    sc = ax.scatter(trials, result.trial_position_cm, c=result.trial_distance_cm, s=8, cmap="viridis")
    fig.colorbar(sc, ax=ax, label="distance Y (cm)")
    ax.set(xlabel="training trial", ylabel="source position (cm)", title="stimulus: held source per trial")
    ax = axes[0, 1]
    x = result.system.body_x_cm[result.system.population("LL").indices]
    for y in sorted({min(c.source.distance_range_cm), max(c.source.distance_range_cm)}):
        steady, modulated = result.system.afferent_rates(c.line.body_length_cm / 2, y)
        ll = result.system.population("LL")
        shown = steady[ll.start : ll.stop] + np.abs(modulated[ll.start : ll.stop])
        ax.plot(x, shown, label=f"Y = {y:g} cm")
    ax.set(xlabel="afferent position (cm)", ylabel="rate (Hz)", title=f"LL rates, source mid-body ({c.line.rate_mode})")
    ax.legend(fontsize=7)
    for k, (t, rec) in enumerate(result.kept_trials[:2]):
        _raster(axes[0, 2] if k == 0 else axes[1, 0], rec, result,
                f"trial {t + 1}: source at {result.trial_position_cm[t]:.1f} cm")
    ax = axes[1, 1]
    for name, rates in result.trial_population_rates_hz.items():
        ax.plot(trials, rates, color=COLOURS[name], label=name)
    ax.set(xlabel="training trial", ylabel="mean rate (Hz)", title="population rates during trials")
    ax.legend(fontsize=7)
    ax = axes[1, 2]
    w_max = c.ts.stdp.w_max_mv
    bins = np.linspace(0, w_max, 41)
    ax.hist(result.weights_before_mv["mon_ts"], bins, alpha=0.6, label="before")
    ax.hist(result.weights_after_mv["mon_ts"], bins, alpha=0.6, label="after")
    ax.set(xlabel="MON->TS weight (mV)", ylabel="synapses", title="MON->TS weights")
    ax.legend(fontsize=7)
    ax = axes[2, 0]
    ax.plot(trials, result.weight_change_mv, color="k", label="mean |dw| per trial")
    ax.set(xlabel="training trial", ylabel="mean |dw| (mV)", title="weight stabilisation")
    twin = ax.twinx()
    twin.plot(np.arange(c.training.n_trials + 1), result.weight_mean_mv, color="#e0a100", label="mean w")
    twin.set_ylabel("mean weight (mV)", color="#e0a100")
    ax = axes[2, 1]
    quality = result.training_quality()
    ax.plot(quality["trial"], quality["sigma_theta"], "o-", label="sigma_theta (training trials)")
    ax.axhline(result.pre.quality["sigma_theta"], color="gray", ls="--", label="pre-test")
    ax.axhline(result.post.quality["sigma_theta"], color="k", ls="-", label="post-test")
    ax.axhline(CHANCE_SIGMA_THETA, color="r", ls=":", label="chance")
    ax.set(xlabel="training trial", ylabel="sigma_theta (rad)", title="map quality over training", ylim=(0, None))
    ax.legend(fontsize=7)
    ax = axes[2, 2]
    ax.plot(quality["trial"], quality["valid_fraction"], "o-", label="valid fraction")
    ax.plot(quality["trial"], quality["delta_trial"], "s-", label="delta_trial (rad)")
    ax.set(xlabel="training trial", title="validity and trial-to-trial variability")
    ax.legend(fontsize=7)
    fig.suptitle(f"lateral line, seed {result.seed}, {'STDP' if result.stdp else 'no STDP (control)'}")
    return fig


def test_raster_figure(result: RunResult) -> Figure:
    """Rasters of the first repeat of the pre-test and the post-test, with the source position."""
    fig = Figure(figsize=(13, 7), layout="constrained")
    axes = fig.subplots(2, 2, height_ratios=(4, 1), sharex="col")
    for k, (name, test) in enumerate((("pre-test", result.pre), ("post-test", result.post))):
        _raster(axes[0, k], test.recording, result, f"{name}: sweep of the source")
        hold = test.recording.duration_ms / test.position_cm.size
        times = test.recording.t_start_ms + (np.arange(test.position_cm.size) + 0.5) * hold
        axes[1, k].plot(times, test.position_cm, color="k")
        axes[1, k].set(xlabel="time (ms)", ylabel="source (cm)")
    return fig


def tuning_figure(result: RunResult) -> Figure:
    """TS tuning curves (mean spikes per window against source position), before and after training."""
    c = result.config
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, (name, test) in zip(axes, (("pre-test", result.pre), ("post-test", result.post))):
        centres, curves = tuning_curves(test.ts_counts, test.position_cm[None, :], c.line.body_length_cm,
                                        min(20, test.position_cm.size))
        image = ax.imshow(curves.T, aspect="auto", origin="lower", cmap="magma",
                          extent=(0, c.line.body_length_cm, 0, curves.shape[1]))
        fig.colorbar(image, ax=ax, label="spikes per window")
        ax.plot(result.ts_positions_cm, np.arange(curves.shape[1]) + 0.5, color="c", lw=0.8, label="nominal")
        ax.set(xlabel="source position (cm)", ylabel="TS neuron", title=f"TS tuning, {name}")
        ax.legend(fontsize=7, loc="lower right")
    return fig


def ts_vs_position_figure(result: RunResult) -> Figure:
    """TS spikes against source position and the population-vector decoded position, after training."""
    c = result.config
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    axes = fig.subplots(1, 2)
    test = result.post
    counts = test.ts_counts.sum(axis=0)  # (windows, TS)
    w, k = np.nonzero(counts)
    axes[0].scatter(test.position_cm[w], k, s=4 * counts[w, k], alpha=0.5, color=COLOURS["TS"])
    axes[0].set(xlabel="source position (cm)", ylabel="TS neuron", title="TS spikes vs source position (post-test)")
    for name, t, colour in (("pre", result.pre, "gray"), ("post", result.post, "k")):
        decoded = decoded_position_cm(t.ts_counts, result.ts_positions_cm, c.line.body_length_cm)
        for r in range(decoded.shape[0]):
            axes[1].plot(t.position_cm, decoded[r], ".", color=colour, ms=3, label=f"{name}-test" if r == 0 else None)
    axes[1].plot([0, c.line.body_length_cm], [0, c.line.body_length_cm], "r:", label="ideal")
    axes[1].set(xlabel="source position (cm)", ylabel="decoded position (cm)", title="population-vector decoding")
    axes[1].legend(fontsize=7)
    return fig


def weight_profile_figure(result: RunResult) -> Figure:
    """Mean MON->TS weight against the offset between the MON and the TS neuron's positions, before and after."""
    system = result.system
    projection = system.connections["mon_ts"]
    offset = system.body_x_cm[projection["j"]] - system.body_x_cm[projection["i"]]
    edges = np.linspace(-system.config.line.body_length_cm, system.config.line.body_length_cm, 41)
    centres = (edges[:-1] + edges[1:]) / 2
    which = np.clip(np.digitize(offset, edges) - 1, 0, centres.size - 1)
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    for name, weights in (("before", result.weights_before_mv["mon_ts"]), ("after", result.weights_after_mv["mon_ts"])):
        sums = np.bincount(which, weights, centres.size)
        n = np.bincount(which, minlength=centres.size)
        ax.plot(centres[n > 0], sums[n > 0] / n[n > 0], "o-", ms=3, label=name)
    ax.set(xlabel="TS position - MON position (cm)", ylabel="mean MON->TS weight (mV)",
           title="MON->TS weight profile")
    ax.legend()
    return fig


def seeds_figure(results: list[RunResult], controls: list[RunResult]) -> Figure:
    """sigma_theta and delta_trial of every seed: pre-test, post-test with STDP, post-test of the control."""
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    axes = fig.subplots(1, 2)
    by_seed = {r.seed: r for r in controls}
    for ax, key in zip(axes, ("sigma_theta", "delta_trial")):
        for r in results:
            values = [r.pre.quality[key], r.post.quality[key]]
            ax.plot([0, 1], values, "o-", color="#1b7f3b", alpha=0.7)
            if r.seed in by_seed:
                ax.plot([1.15], [by_seed[r.seed].post.quality[key]], "s", color="gray")
        for r in controls if not results else []:
            ax.plot([0, 1.15], [r.pre.quality[key], r.post.quality[key]], "s-", color="gray")
        ax.set_xticks([0, 1, 1.15], ["pre", "post\nSTDP", "post\ncontrol"])
        ax.set(ylabel=f"{key} (rad)", title=f"{key} per seed", ylim=(0, None))
    fig.suptitle(f"lateral line: {len(results)} STDP seed(s), {len(controls)} control seed(s)")
    return fig
