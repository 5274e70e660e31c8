"""The lateral line's figures about training and the learned weights (the original's kinds, see
:mod:`~livn_rl.experiments.lateral_line.figures`): the spatial two-stage summary, learning curves, LL->MON
weights, the MON->TS weight profile and receptive fields, and the multi-seed summary.

Every function returns a ``matplotlib.figure.Figure`` (no pyplot state).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from livn_rl.systems.lateral_line.metrics import CHANCE_SIGMA_THETA
from livn_rl.experiments.lateral_line.plotting import COLOURS, examples, local_projection, no_data, raster
from livn_rl.experiments.lateral_line.training import RunResult

__all__ = [
    "learning_curves", "llmon_weights", "mon_to_ts_receptive_fields", "mon_ts_weight_profile", "multiseed_summary",
    "spatial_two_stage",
]


def _title(result: RunResult) -> str:
    return f"lateral line, seed {result.seed}, {'STDP' if result.stdp else 'control (no STDP)'}"


def _weight_dynamics(ax, result: RunResult) -> None:
    """Mean +- SD of the MON->TS weights and the tracked synapses over training, mean |dw| per trial on a twin axis."""
    trials = np.arange(result.weight_mean_mv.size)
    mean, sd = result.weight_mean_mv, result.weight_std_mv
    ax.fill_between(trials, mean - sd, mean + sd, color="#e0a100", alpha=0.25, lw=0, label="mean +- SD")
    ax.plot(trials, mean, color="#e0a100", lw=1.5, label="mean")
    ax.plot(trials, result.tracked_weights_mv, lw=0.7, alpha=0.8)
    ax.set(xlabel="training trial", ylabel="MON->TS weight (mV at unit gain)",
           title=f"weight stabilisation ({result.tracked_synapses.size} tracked synapses)")
    ax.legend(fontsize=7, loc="upper left")
    if result.weight_change_mv.size:
        twin = ax.twinx()
        twin.plot(trials[1:], result.weight_change_mv, color="k", lw=0.8)
        twin.set_ylabel("mean |dw| per trial (black)")


def _map_quality(ax, result: RunResult) -> None:
    quality = result.training_quality()
    if quality["trial"].size:
        ax.plot(quality["trial"], quality["sigma_theta"], "o-", label="sigma_theta (training trials)")
        ax.plot(quality["trial"], quality["delta_trial"], "s-", label="delta_trial (training trials)")
    ax.axhline(result.pre.quality["sigma_theta"], color="gray", ls="--", label="sigma_theta pre-test")
    ax.axhline(result.post.quality["sigma_theta"], color="k", ls="-", label="sigma_theta post-test")
    ax.axhline(CHANCE_SIGMA_THETA, color="r", ls=":", label="chance")
    ax.set(xlabel="training trial", ylabel="radians", title="PV map quality over training", ylim=(0, None))
    ax.legend(fontsize=7)


def spatial_two_stage(result: RunResult) -> Figure:
    """Stimulus overview, LL rate profile, LL/MON/TS rasters of the first and last training trial, population rates,
    MON->TS weight histograms before and after, weight stabilisation and PV map quality over training."""
    c = result.config
    fig = Figure(figsize=(15, 11), layout="constrained")
    axes = fig.subplots(3, 3)
    ax = axes[0, 0]
    trials = np.arange(1, c.training.n_trials + 1)
    if trials.size:
        sc = ax.scatter(trials, result.trial_position_cm, c=result.trial_distance_cm, s=8, cmap="viridis")
        fig.colorbar(sc, ax=ax, label="distance Y (cm)")
        ax.set(xlabel="training trial", ylabel="source position x (cm)", title="stimulus: held source per trial")
    else:
        no_data(ax, "no training trials")
    ax = axes[0, 1]
    ll = result.system.population("LL")
    x = result.system.body_x_cm[ll.indices]
    for y in sorted({min(c.source.distance_range_cm), max(c.source.distance_range_cm)}):
        steady, modulated = result.system.afferent_rates(c.line.body_length_cm / 2, y)
        ax.plot(x, steady[ll.start : ll.stop] + np.abs(modulated[ll.start : ll.stop]), label=f"Y = {y:g} cm")
    ax.set(xlabel="afferent position (cm)", ylabel="rate (Hz)", title=f"LL rates, source mid-body ({c.line.rate_mode})")
    ax.legend(fontsize=7)
    for ax, k in ((axes[0, 2], 0), (axes[1, 0], 1)):
        if k < len(result.kept_trials):
            t, rec = result.kept_trials[k]
            raster(ax, rec, result, f"trial {t + 1}: source at {result.trial_position_cm[t]:.1f} cm")
        else:
            no_data(ax, "no training trial kept")
    ax = axes[1, 1]
    for name, rates in result.trial_population_rates_hz.items():
        ax.plot(trials, rates, color=COLOURS[name], label=name)
    ax.set(xlabel="training trial", ylabel="mean rate (Hz)", title="population rates during trials")
    ax.legend(fontsize=7)
    ax = axes[1, 2]
    bins = np.linspace(0, c.ts.stdp.w_max_mv, 41)
    ax.hist(result.weights_before_mv["mon_ts"], bins, alpha=0.6, label="before")
    ax.hist(result.weights_after_mv["mon_ts"], bins, alpha=0.6, label="after")
    ax.set(xlabel="MON->TS weight", ylabel="synapses", title="MON->TS weights before and after training")
    ax.legend(fontsize=7)
    _weight_dynamics(axes[2, 0], result)
    _map_quality(axes[2, 1], result)
    ax = axes[2, 2]
    quality = result.training_quality()
    if quality["trial"].size:
        ax.plot(quality["trial"], quality["valid_fraction"], "o-", label="valid fraction (training trials)")
    ax.axhline(result.post.quality["valid_fraction"], color="k", label="valid fraction post-test")
    ax.set(xlabel="training trial", ylabel="fraction of windows", title="windows with enough TS spikes", ylim=(0, 1.05))
    ax.legend(fontsize=7)
    fig.suptitle(f"spatial two-stage summary: {_title(result)}")
    return fig


def learning_curves(result: RunResult) -> Figure:
    """MON->TS weight dynamics (mean, SD, tracked synapses, mean |dw|) and PV map quality against training time."""
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    _weight_dynamics(left, result)
    _map_quality(right, result)
    fig.suptitle(f"learning curves: {_title(result)}")
    return fig


def llmon_weights(result: RunResult, n_examples: int = 6) -> Figure:
    """Stem plots of the LL->MON weights (mV) of example MON neurons against the afferent's index."""
    pre, post, w = local_projection(result, "ll_mon", result.weights_after_mv["ll_mon"])
    chosen = examples(result.system.population("MON").size, n_examples)
    fig = Figure(figsize=(12, 1.6 * len(chosen) + 1), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(chosen), 1, sharex=True))
    n_ll = result.system.population("LL").size
    for ax, m in zip(axes, chosen):
        mine = post == m
        if mine.any():
            ax.stem(pre[mine], w[mine], basefmt=" ")
        ax.set(xlim=(-0.5, n_ll - 0.5), ylabel="mV")
        ax.set_title(f"MON {m} (at {result.system.body_x_cm[result.system.population('MON').start + m]:.2f} cm)",
                     fontsize=8, loc="left")
    axes[-1].set_xlabel("LL afferent index")
    fig.suptitle(f"LL->MON weights of example MON neurons: {_title(result)}")
    return fig


def mon_ts_weight_profile(result: RunResult) -> Figure:
    """Mean incoming MON->TS weight per TS neuron with the fraction at the ceiling, and the mean weight against the
    offset between the TS and MON neurons' positions, before and after training."""
    c = result.config
    pre, post, _ = local_projection(result, "mon_ts", result.weights_after_mv["mon_ts"])
    n_ts = result.system.population("TS").size
    fig = Figure(figsize=(13, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    counts = np.maximum(np.bincount(post, minlength=n_ts), 1)
    for name, weights, style in (("before", result.weights_before_mv["mon_ts"], "--"),
                                 ("after", result.weights_after_mv["mon_ts"], "-")):
        left.plot(np.arange(n_ts), np.bincount(post, weights, n_ts) / counts, style, label=f"mean weight {name}")
    at_max = result.weights_after_mv["mon_ts"] >= c.ts.stdp.w_max_mv - 1e-9
    twin = left.twinx()
    twin.plot(np.arange(n_ts), np.bincount(post, at_max, n_ts) / counts, color="#d1453b", lw=0.8)
    twin.set_ylabel("fraction at w_max after training (red)")
    left.set(xlabel="TS index", ylabel="mean incoming MON->TS weight", title="MON->TS weight profile")
    left.legend(fontsize=7, loc="upper left")
    system = result.system
    projection = system.connections["mon_ts"]
    offset = system.body_x_cm[projection["j"]] - system.body_x_cm[projection["i"]]
    edges = np.linspace(-c.line.body_length_cm, c.line.body_length_cm, 41)
    centres = (edges[:-1] + edges[1:]) / 2
    which = np.clip(np.digitize(offset, edges) - 1, 0, centres.size - 1)
    n = np.bincount(which, minlength=centres.size)
    for name, weights in (("before", result.weights_before_mv["mon_ts"]), ("after", result.weights_after_mv["mon_ts"])):
        sums = np.bincount(which, weights, centres.size)
        right.plot(centres[n > 0], sums[n > 0] / n[n > 0], "o-", ms=3, label=name)
    right.set(xlabel="TS position - MON position (cm)", ylabel="mean MON->TS weight", title="weight against offset")
    right.legend(fontsize=7)
    fig.suptitle(_title(result))
    return fig


def mon_to_ts_receptive_fields(result: RunResult, n_examples: int = 6) -> Figure:
    """Incoming MON->TS weights of example TS neurons against the MON index, before (grey) and after training."""
    pre, post, after = local_projection(result, "mon_ts", result.weights_after_mv["mon_ts"])
    before = result.weights_before_mv["mon_ts"]
    chosen = examples(result.system.population("TS").size, n_examples)
    n_mon = result.system.population("MON").size
    fig = Figure(figsize=(12, 1.7 * len(chosen) + 1), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(chosen), 1, sharex=True))
    for ax, k in zip(axes, chosen):
        mine = post == k
        ax.vlines(pre[mine], 0, before[mine], color="0.75", lw=1.0, label="before")
        ax.plot(pre[mine], after[mine], "o", ms=2.5, color=COLOURS["TS"], label="after")
        ax.axvline((k + 0.5) * n_mon / result.system.population("TS").size, color="k", ls=":", lw=0.8)
        ax.set(xlim=(0, n_mon), ylabel="weight")
        ax.set_title(f"TS {k} (dotted: MON at its nominal position)", fontsize=8, loc="left")
    axes[0].legend(fontsize=7, loc="upper right")
    axes[-1].set_xlabel("MON index")
    fig.suptitle(f"MON->TS receptive fields: {_title(result)}")
    return fig


def _finite(value: float | None) -> float:
    """A number of ``run_summary.json`` (``null`` where no window was valid) as a float (NaN)."""
    return float("nan") if value is None else float(value)


def multiseed_summary(results: list[dict], controls: list[dict]) -> Figure:
    """PV sigma_theta and delta_trial against the seed: pre-test, post-test with STDP and post-test of the control.

    :param results: the STDP runs' entries of ``run_summary.json``'s ``seeds`` (``RunResult.summary()``): ``seed``,
        ``pre_test``, ``post_test``; so the figure can also be drawn from the summaries of separate runs
    :param controls: the controls' entries
    """
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, key in zip(axes, ("sigma_theta", "delta_trial")):
        for runs, label, colour, marker in ((results, "post-test, STDP", COLOURS["TS"], "o"),
                                            (controls, "post-test, control", "0.45", "s")):
            if runs:
                ax.plot([r["seed"] for r in runs], [_finite(r["post_test"][key]) for r in runs], marker + "-", color=colour,
                        label=label)
        first = results or controls
        ax.plot([r["seed"] for r in first], [_finite(r["pre_test"][key]) for r in first], "^--", color="0.7",
                label="pre-test")
        if key == "sigma_theta":
            ax.axhline(CHANCE_SIGMA_THETA, color="r", ls=":", label="chance")
        ax.set(xlabel="seed", ylabel=f"{key} (rad)", title=f"PV {key} per seed", ylim=(0, None))
        ax.set_xticks(sorted({r["seed"] for r in results + controls}))
        ax.legend(fontsize=7)
    fig.suptitle(f"lateral line: {len(results)} STDP run(s), {len(controls)} control run(s)")
    return fig
