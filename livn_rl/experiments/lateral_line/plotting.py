"""What the lateral line's figures share: population colours, rasters, smoothed population rates and the test's
per-window readouts (rates against the source position, the MON->TS weight matrix)."""

from __future__ import annotations

import numpy as np

from livn_rl.recording import Recording
from livn_rl.experiments.lateral_line.training import RunResult, TestResult

__all__ = [
    "COLOURS", "SMOOTH_MS", "examples", "local_projection", "mon_ts_drive_mv", "no_data", "raster", "smoothed_rate",
    "spike_positions", "test_rates_hz",
]

COLOURS = {"LL": "#7f7f7f", "MON": "#2f6db5", "TS": "#1b7f3b", "INH": "#d1453b"}
#: Width of the moving average of the population rates, as the original's "20 ms smooth".
SMOOTH_MS = 20.0


def raster(ax, recording: Recording, result: RunResult, title: str, populations: tuple[str, ...] | None = None,
           t0_ms: float = 0.0) -> None:
    """Spikes of the chosen populations (all by default), coloured by population, times shifted by ``-t0_ms``."""
    shown = [p for p in result.system.populations if populations is None or p.name in populations]
    for pop in shown:
        mask = (recording.neuron_i >= pop.start) & (recording.neuron_i < pop.stop)
        ax.scatter(recording.neuron_t_ms[mask] - t0_ms, recording.neuron_i[mask], s=0.3, color=COLOURS[pop.name],
                   label=f"{pop.name} (n={pop.size})", rasterized=True)
        ax.axhline(pop.start, color="k", lw=0.3)
    ax.set(xlabel="time (ms)", ylabel="neuron", title=title, ylim=(shown[0].start, shown[-1].stop))
    ax.legend(loc="upper right", fontsize=6, markerscale=10)


def smoothed_rate(recording: Recording, result: RunResult, population: str,
                  smooth_ms: float = SMOOTH_MS) -> tuple[np.ndarray, np.ndarray]:
    """Mean rate per neuron of a population (Hz) in 1 ms bins, averaged over a moving ``smooth_ms`` window."""
    pop = result.system.population(population)
    t, rate = recording.population_rate_hz(pop.indices, bin_ms=1.0)
    width = max(1, int(round(smooth_ms)))
    return t, np.convolve(rate, np.ones(width) / width, mode="same")


def test_rates_hz(counts: np.ndarray, result: RunResult) -> np.ndarray:
    """Rates (Hz) per test window and neuron, averaged over the test's repeats: ``(n_windows, n)``."""
    tr = result.config.training
    hold_ms = tr.test_window_ms if tr.test_mode == "sweep" else tr.trial_ms
    return counts.mean(axis=0) / (hold_ms / 1000.0)


def spike_positions(test: TestResult, result: RunResult, population: str) -> tuple[np.ndarray, np.ndarray]:
    """For every spike of ``population`` in the test's first repeat: the source position at that time (cm) and the
    neuron's index within its population."""
    rec, pop = test.recording, result.system.population(population)
    hold = rec.duration_ms / test.position_cm.size
    mask = (rec.neuron_i >= pop.start) & (rec.neuron_i < pop.stop)
    window = np.clip(((rec.neuron_t_ms[mask] - rec.t_start_ms) // hold).astype(int), 0, test.position_cm.size - 1)
    return test.position_cm[window], rec.neuron_i[mask] - pop.start


def local_projection(result: RunResult, key: str, weights_mv: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A projection's presynaptic and postsynaptic indices within their populations, with the given weights."""
    pre_pop, post_pop = {"ll_mon": ("LL", "MON"), "mon_ts": ("MON", "TS")}[key]
    projection = result.system.connections[key]
    return (projection["i"] - result.system.population(pre_pop).start,
            projection["j"] - result.system.population(post_pop).start, np.asarray(weights_mv))


def mon_ts_drive_mv(result: RunResult, test: TestResult, weights_mv: np.ndarray) -> np.ndarray:
    """The feed-forward MON->TS drive per test window and TS neuron with the given MON->TS weights:
    ``sum_m spikes_m w_mk gain`` (mV per window, MON spikes averaged over the repeats), ``(n_windows, n_TS)``."""
    mon, ts = result.system.population("MON"), result.system.population("TS")
    pre, post, w = local_projection(result, "mon_ts", weights_mv)
    matrix = np.zeros((mon.size, ts.size))
    np.add.at(matrix, (pre, post), w)
    return test.mon_counts.mean(axis=0) @ matrix * result.config.ts.gain_mv


def examples(size: int, count: int) -> np.ndarray:
    """``count`` neuron indices spread evenly over a population of ``size`` (fewer if it is smaller)."""
    return np.unique(np.linspace(0, size - 1, min(count, size) + 2)[1:-1].round().astype(int))


def no_data(ax, message: str) -> None:
    """An empty panel that says why it is empty."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=9, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
