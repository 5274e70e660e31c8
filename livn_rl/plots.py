"""Figures of a simulation: spike raster, population rates, and the culture on its MEA.

The functions draw on matplotlib ``Axes`` you pass in; :func:`simulation_figure` composes them into one
:class:`~matplotlib.figure.Figure`. Figures are created with ``matplotlib.figure.Figure`` rather than pyplot, so
nothing here touches pyplot's global state or needs a display.

>>> fig = simulation_figure(recording, system, system.mea, pulses=pulses, title="S2, 10 pulses on channel 5")
>>> fig.savefig("s2.png", dpi=150)
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle
from matplotlib.transforms import offset_copy

from livn_rl.atomic import atomic_path
from livn_rl.analysis import burst_threshold_hz, detect_bursts, population_rates
from livn_rl.mea import MEA
from livn_rl.recording import Recording
from livn_rl.stimulus import Pulse
from livn_rl.systems import System

#: Colours of excitatory populations (blues) and inhibitory ones (reds), in order of appearance.
EXCITATORY_COLOURS = ("#2f6db5", "#5fa8d3", "#1b3f73", "#7b9fd1")
INHIBITORY_COLOURS = ("#d1453b", "#f08a4b", "#8c1c13", "#e86a92")
STIMULUS_COLOUR = "#e0a100"


def population_colours(system: System) -> dict[str, str]:
    """A colour per population: blue-ish for excitatory ones, red-ish for inhibitory ones.

    :param system: the system whose populations to colour
    """
    colours, n_exc, n_inh = {}, 0, 0
    for pop in system.populations:
        if pop.excitatory:
            colours[pop.name] = EXCITATORY_COLOURS[n_exc % len(EXCITATORY_COLOURS)]
            n_exc += 1
        else:
            colours[pop.name] = INHIBITORY_COLOURS[n_inh % len(INHIBITORY_COLOURS)]
            n_inh += 1
    return colours


def _population_label(pop, suffix: str = "") -> str:
    kind = "exc." if pop.excitatory else "inh."
    cell = f" {pop.cell}" if pop.cell else ""
    return f"{pop.name} ({kind}{cell}, n={pop.size:,}){suffix}"


def plot_raster(ax: Axes, recording: Recording, system: System, copy: int = 0) -> None:
    """Spike raster (neuron index against time), coloured by population, with a legend.

    :param ax: axes to draw on
    :param recording: what the engine recorded
    :param system: the system that produced it (for its populations)
    :param copy: which copy of a multi-copy recording to show
    """
    n = system.n_neurons
    colours = population_colours(system)
    mine = recording.neuron_copy == copy
    t, i = recording.neuron_t_ms[mine], recording.neuron_i[mine]
    # tick height ~ one neuron row for small systems, a dot for large ones
    size = float(np.clip(1800.0 / max(n, 1), 2.0, 14.0))
    handles = []
    for pop in system.populations:
        sel = (i >= pop.start) & (i < pop.stop)
        ax.scatter(
            t[sel], i[sel], s=size, marker="|" if n <= 400 else ".", c=colours[pop.name], linewidths=0.8 if n <= 400 else 0,
            rasterized=True,
        )
        if 0 < pop.start:
            ax.axhline(pop.start - 0.5, color="0.75", lw=0.6, zorder=0)
        rate = sel.sum() / max(pop.size, 1) / (recording.duration_ms / 1000.0)
        handles.append(
            Line2D([], [], color=colours[pop.name], marker="s", ls="", label=_population_label(pop, f": {rate:.1f} Hz"))
        )
    ax.set_xlim(recording.t_start_ms, recording.t_stop_ms)
    ax.set_ylim(-0.5, n - 0.5)
    ax.set_ylabel("neuron")
    # above the axes, right-aligned: inside it would hide spikes
    # one row for up to three populations, two columns beyond: a long row would squeeze the axes
    ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.005), borderaxespad=0.0, fontsize=8,
              frameon=False, ncol=len(handles) if len(handles) <= 3 else 2, handletextpad=0.3, columnspacing=1.2)
    if not ax.get_title(loc="left"):
        ax.set_title(f"spikes ({t.size:,} in {recording.duration_ms:g} ms)", fontsize=10, loc="left")


def plot_population_rate(
    ax: Axes, recording: Recording, system: System, bin_ms: float = 10.0, copy: int = 0, show_bursts: bool = True
) -> None:
    """Mean firing rate per neuron of every population over time (Hz), with detected network bursts shaded.

    :param ax: axes to draw on
    :param recording: what the engine recorded
    :param system: the system that produced it
    :param bin_ms: bin width (ms)
    :param copy: which copy to show
    :param show_bursts: shade network bursts (see :func:`livn_rl.analysis.detect_bursts`) and draw their threshold
    """
    colours = population_colours(system)
    centres, rates = population_rates(recording, system, bin_ms=bin_ms, copy=copy)
    for pop in system.populations:
        ax.plot(centres, rates[pop.name], color=colours[pop.name], lw=1.1, label=pop.name)
    if show_bursts:
        _, total = recording.population_rate_hz(None, bin_ms=bin_ms, copy=copy)
        threshold = burst_threshold_hz(total)
        bursts = detect_bursts(recording, system, bin_ms=bin_ms, copy=copy)
        for burst in bursts:
            ax.axvspan(burst.start_ms, burst.stop_ms, color="0.5", alpha=0.15, lw=0)
        ax.axhline(threshold, color="0.4", ls=":", lw=0.8)
        ax.plot(centres, total, color="0.25", lw=0.8, alpha=0.7, label="all")
        peak = max([threshold] + [float(r.max()) for r in rates.values() if r.size])
        ax.set_ylim(0, peak * 1.22)  # room for the note and the threshold line
        ax.text(
            0.005, 0.95, f"{len(bursts)} network burst{'s' * (len(bursts) != 1)} (all > {threshold:.0f} Hz, shaded)",
            transform=ax.transAxes, fontsize=8, va="top", color="0.3",
        )
    ax.set_xlim(recording.t_start_ms, recording.t_stop_ms)
    if not show_bursts:
        ax.set_ylim(bottom=0)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"rate (Hz, {bin_ms:g} ms bins)")
    _rate_legend(ax)


def _rate_legend(ax: Axes) -> None:
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, loc="upper right", fontsize=8, framealpha=0.85, ncol=max(1, len(handles)))


def _as_events(pulses: Iterable[Pulse | tuple[int, float]]) -> list[tuple[int, float]]:
    events = []
    for p in pulses:
        if isinstance(p, Pulse):
            events.append((int(p.channel), float(p.onset_ms)))
        else:
            channel, onset = p
            events.append((int(channel), float(onset)))
    return events


def plot_stimulus(
    ax: Axes,
    pulses: Iterable[Pulse | tuple[int, float]],
    offset_ms: float = 0.0,
    label: bool = True,
    markers: bool = True,
) -> None:
    """Mark stimulation pulses as faint vertical lines behind the data, with a small triangle at the top edge.

    :param ax: axes to draw on, usually a raster or rate plot
    :param pulses: :class:`~livn_rl.stimulus.Pulse` objects or ``(channel, onset_ms)`` pairs
    :param offset_ms: added to every onset (the recording's start time when onsets are relative to it)
    :param label: add a legend entry per stimulated channel
    :param markers: draw the triangles at the top of the axes
    """
    events = _as_events(pulses)
    if not events:
        return
    channels = sorted({c for c, _ in events})
    styles = ["-", "--", "-.", ":"]
    for k, channel in enumerate(channels):
        onsets = np.array([t + offset_ms for c, t in events if c == channel])
        for j, t in enumerate(onsets):
            ax.axvline(
                t, color=STIMULUS_COLOUR, lw=0.9, ls=styles[k % len(styles)], alpha=0.45, zorder=0.5,
                label=f"stim. ch {channel}" if (label and j == 0) else None,
            )
        if markers:  # just inside the top edge, so nothing drawn above the axes collides with them
            inside = offset_copy(ax.get_xaxis_transform(), fig=ax.figure, y=-4.0, units="points")
            ax.plot(onsets, np.ones_like(onsets), marker="v", ls="", ms=6, color=STIMULUS_COLOUR, mec="0.3", mew=0.5,
                    transform=inside, clip_on=False, zorder=5)


def plot_mea(
    ax: Axes,
    system: System,
    mea: MEA,
    channel_rates_hz: Sequence[float] | np.ndarray | None = None,
    stimulated: Iterable[int] = (),
    cmap: str = "viridis",
    drive: np.ndarray | None = None,
) -> None:
    """The culture seen from above: somata as small dots coloured by population, electrodes as squares coloured by
    their recorded rate (with a colourbar), channel indices, and a faint circle of radius ``mea.reach_um`` (the
    distance at which half of a cell's spikes are detected) around each electrode.

    :param ax: axes to draw on
    :param system: the culture (for soma positions and populations)
    :param mea: the electrode array
    :param channel_rates_hz: detected spike rate of each channel (Hz); electrodes are grey without it
    :param stimulated: channels to outline as stimulated
    :param cmap: colormap of the channel rates
    :param drive: how strongly each neuron is stimulated directly, 0 to 1 (reference circuits driven without the
        MEA): driven neurons are ringed, more opaque the stronger
    """
    colours = population_colours(system)
    pos = np.asarray(system.positions_um)
    n = system.n_neurons
    dot = float(np.clip(600.0 / max(n, 1) ** 0.75, 0.3, 14.0))
    for pop in system.populations:
        p = pos[pop.start : pop.stop]
        ax.scatter(
            p[:, 0], p[:, 1], s=dot, c=colours[pop.name], alpha=0.55 if n > 2000 else 0.8, lw=0,
            label=f"{pop.name} soma", zorder=2, rasterized=True,
        )
    driven = np.flatnonzero(drive) if drive is not None else np.zeros(0, int)
    if driven.size:
        edges = np.zeros((driven.size, 4))
        edges[:] = to_rgba(STIMULUS_COLOUR)
        edges[:, 3] = 0.15 + 0.85 * np.clip(np.asarray(drive, float)[driven], 0.0, 1.0)
        ax.scatter(pos[driven, 0], pos[driven, 1], s=dot * 4 + 12, facecolors="none", edgecolors=edges, lw=1.0,
                   zorder=2.5, rasterized=True)
    e = mea.positions_um
    for x, y in e[:, :2]:
        ax.add_patch(Circle((x, y), mea.reach_um, fill=False, ec="0.6", lw=0.5, ls="--", alpha=0.45, zorder=1))
    span = float(max(np.ptp(np.concatenate([pos[:, 0], e[:, 0]])), np.ptp(np.concatenate([pos[:, 1], e[:, 1]])), 1.0))
    marker_pts = float(np.clip(2600.0 / mea.n_channels, 60.0, 220.0))
    if channel_rates_hz is not None:
        rates = np.asarray(channel_rates_hz, dtype=float)
        if rates.shape != (mea.n_channels,):
            raise ValueError(f"channel_rates_hz must have one value per channel ({mea.n_channels}), got shape {rates.shape}")
        vmax = max(float(rates.max()), 1e-9)
        sc = ax.scatter(e[:, 0], e[:, 1], s=marker_pts, c=rates, cmap=cmap, vmin=0, vmax=vmax, marker="s",
                        ec="k", lw=0.7, zorder=3)
        bar = ax.figure.colorbar(sc, ax=ax, shrink=0.8, pad=0.02, fraction=0.05)
        bar.set_label("detected rate per channel (Hz)")
        normed = rates / vmax
        text_colours = [("white" if v < 0.55 else "black") for v in normed]  # legible on dark and light viridis
    else:
        ax.scatter(e[:, 0], e[:, 1], s=marker_pts, c="0.8", marker="s", ec="k", lw=0.7, zorder=3)
        text_colours = ["black"] * mea.n_channels
    stimulated = sorted(set(int(c) for c in stimulated))
    if stimulated:
        ax.scatter(e[stimulated, 0], e[stimulated, 1], s=marker_pts * 2.6, marker="s", facecolors="none",
                   edgecolors=STIMULUS_COLOUR, lw=2.0, zorder=3.5, label="stimulated")
    fontsize = 7 if mea.n_channels <= 16 else 5.5
    for c, (x, y) in enumerate(e[:, :2]):
        ax.text(x, y, str(c), ha="center", va="center", fontsize=fontsize, color=text_colours[c], zorder=4,
                fontweight="bold")
    x_all, y_all = np.concatenate([pos[:, 0], e[:, 0]]), np.concatenate([pos[:, 1], e[:, 1]])
    # true proportions, unless the layout is a long strip (the lateral line) that would shrink to a line
    ax.set_aspect("equal" if np.ptp(x_all) <= 4 * max(np.ptp(y_all), 1.0) else "auto")
    margin = 0.04 * span
    ax.set_xlim(x_all.min() - margin, x_all.max() + margin)
    ax.set_ylim(y_all.min() - margin, y_all.max() + margin)
    ax.set_xlabel("x (um)")
    ax.set_ylabel("y (um)")
    handles = [Line2D([], [], marker="o", ls="", color=colours[p.name], label=f"{p.name} soma") for p in system.populations]
    handles.append(Line2D([], [], marker="o", ls="--", mfc="none", mec="none", color="0.55",
                          label=f"reach {mea.reach_um:.0f} um"))
    if stimulated:
        handles.append(Line2D([], [], marker="s", ls="", mfc="none", mec=STIMULUS_COLOUR, mew=2, label="stimulated"))
    if driven.size:
        handles.append(Line2D([], [], marker="o", ls="", mfc="none", mec=STIMULUS_COLOUR, mew=1, label="driven"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(handles), fontsize=7,
              frameon=False, handletextpad=0.3, columnspacing=0.9)
    ax.set_title(f"{system.name} on {mea.n_channels} electrodes", fontsize=10, loc="left")


def simulation_figure(
    recording: Recording,
    system: System,
    mea: MEA,
    pulses: Sequence[Pulse | tuple[int, float]] | None = None,
    title: str | None = None,
    bin_ms: float = 10.0,
    copy: int = 0,
) -> Figure:
    """One figure of a run: raster (top left), population rates below it on the same time axis, and the MEA map
    with per-channel rates (right). Save it with ``fig.savefig(path, dpi=150)``.

    :param recording: what the engine recorded
    :param system: the system that produced it
    :param mea: the electrode array it was recorded with
    :param pulses: stimulation pulses to mark (onsets relative to the recording's start)
    :param title: figure title
    :param bin_ms: bin width of the population rate (ms)
    :param copy: which copy of a multi-copy recording to show
    """
    fig = Figure(figsize=(15, 6.8), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(1.9, 1.0), height_ratios=(2.3, 1.0))
    ax_raster = fig.add_subplot(grid[0, 0])
    ax_rate = fig.add_subplot(grid[1, 0], sharex=ax_raster)
    ax_mea = fig.add_subplot(grid[:, 1])
    events = _as_events(pulses or [])
    plot_raster(ax_raster, recording, system, copy=copy)
    plot_population_rate(ax_rate, recording, system, bin_ms=bin_ms, copy=copy)
    if events:
        for ax in (ax_raster, ax_rate):
            plot_stimulus(ax, events, offset_ms=recording.t_start_ms, label=ax is ax_rate, markers=ax is ax_raster)
        _rate_legend(ax_rate)  # again, now with the stimulus entries
        channels = sorted({c for c, _ in events})
        ax_raster.set_title(
            ax_raster.get_title(loc="left") + f";  {len(events)} pulse{'s' * (len(events) > 1)} (\u25bc) on "
            f"channel{'s' * (len(channels) > 1)} " + ", ".join(map(str, channels)),
            fontsize=10, loc="left",
        )
    ax_raster.tick_params(labelbottom=False)
    rates = recording.channel_rates_hz[copy]
    plot_mea(ax_mea, system, mea, channel_rates_hz=rates, stimulated=[c for c, _ in events])
    if title:
        fig.suptitle(title, fontsize=12, x=0.01, ha="left", fontweight="bold")
    return fig


def save_figure(fig: Figure, path: str, dpi: int = 150) -> None:
    """Save ``fig`` (any format matplotlib knows from the suffix), with a white background.

    :param fig: the figure
    :param path: output path
    :param dpi: resolution of raster formats
    """
    with atomic_path(path) as partial:
        fig.savefig(partial, dpi=dpi, facecolor="white")


__all__ = [
    "plot_mea", "plot_population_rate", "plot_raster", "plot_stimulus", "population_colours", "save_figure",
    "simulation_figure",
]
