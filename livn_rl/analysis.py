"""Small analyses of a :class:`~livn_rl.recording.Recording`: population rates, network bursts, local responses.

Everything here is plain numpy, cheap, and used by the ``livn-rl simulate`` summary and by :mod:`livn_rl.plots`.

>>> centres, rates = population_rates(recording, system, bin_ms=10.0)   # {"E": (n_bins,), "I": (n_bins,)}
>>> bursts = detect_bursts(recording, system)                          # [Burst(start_ms, stop_ms, peak_hz)]
>>> currents, rates = fi_curve(recording, currents_na)                 # neuron k received currents_na[k]
>>> isi_stats(recording)["cv"]                                          # per neuron
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np

from livn_rl.mea import MEA
from livn_rl.recording import Recording
from livn_rl.stimulus import Pulse
from livn_rl.systems import System

__all__ = [
    "Burst", "burst_threshold_hz", "detect_bursts", "fi_curve", "firing_rate", "grid_shape", "isi_stats", "mean_rates",
    "population_rates", "rheobase", "spike_trains", "stimulation_responses", "stimulation_window", "window_rate_hz",
]


@dataclass(frozen=True)
class Burst:
    """One network burst: a run of bins whose population rate exceeds the detection threshold.

    :param start_ms: start of the first bin above threshold (ms)
    :param stop_ms: end of the last bin above threshold (ms)
    :param peak_hz: highest population rate inside the burst (Hz per neuron)
    """

    start_ms: float
    stop_ms: float
    peak_hz: float

    @property
    def duration_ms(self) -> float:
        return self.stop_ms - self.start_ms

    def to_dict(self) -> dict:
        return {k: round(float(v), 3) for k, v in asdict(self).items()}


def population_rates(
    recording: Recording, system: System, bin_ms: float = 10.0, copy: int = 0
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Mean firing rate per neuron of every population of ``system``, in bins of ``bin_ms``.

    :param recording: what the engine recorded
    :param system: the system that produced it (for its populations)
    :param bin_ms: bin width (ms)
    :param copy: which copy of a multi-copy recording to analyse
    :returns: bin centres (ms) and ``{population name: rates (Hz)}``
    """
    centres = np.empty(0)
    rates: dict[str, np.ndarray] = {}
    for pop in system.populations:
        centres, rates[pop.name] = recording.population_rate_hz(pop.indices, bin_ms=bin_ms, copy=copy)
    return centres, rates


def mean_rates(recording: Recording, system: System, copy: int = 0) -> dict[str, float]:
    """Mean firing rate (Hz per neuron) of every population over the whole recording.

    :param recording: what the engine recorded
    :param system: the system that produced it
    :param copy: which copy to analyse
    """
    per_neuron = recording.neuron_rates_hz[copy]
    return {pop.name: float(per_neuron[pop.start : pop.stop].mean()) if pop.size else 0.0 for pop in system.populations}


def burst_threshold_hz(rate_hz: np.ndarray, factor: float = 5.0, min_rate_hz: float = 20.0) -> float:
    """The burst threshold for a binned population rate: ``max(factor * mean rate, min_rate_hz)``.

    :param rate_hz: binned population rate (Hz per neuron)
    :param factor: how many times the mean rate a bin must exceed
    :param min_rate_hz: absolute floor of the threshold (Hz per neuron)
    """
    mean = float(np.mean(rate_hz)) if np.size(rate_hz) else 0.0
    return max(factor * mean, float(min_rate_hz))


def detect_bursts(
    recording: Recording,
    system: System,
    bin_ms: float = 10.0,
    factor: float = 5.0,
    min_rate_hz: float = 20.0,
    merge_gap_ms: float = 20.0,
    copy: int = 0,
) -> list[Burst]:
    """Network bursts: runs of ``bin_ms`` bins where the rate of the whole network exceeds
    ``max(factor * its mean, min_rate_hz)``; runs less than ``merge_gap_ms`` apart count as one burst.

    :param recording: what the engine recorded
    :param system: the system that produced it
    :param bin_ms: bin width of the population rate (ms)
    :param factor: threshold as a multiple of the mean network rate
    :param min_rate_hz: absolute floor of the threshold (Hz per neuron), so that a silent culture has no bursts
    :param merge_gap_ms: runs separated by less than this are merged (ms)
    :param copy: which copy to analyse
    """
    centres, rate = recording.population_rate_hz(None, bin_ms=bin_ms, copy=copy)
    if rate.size == 0:
        return []
    above = rate > burst_threshold_hz(rate, factor, min_rate_hz)
    if not above.any():
        return []
    padded = np.concatenate([[False], above, [False]]).astype(np.int8)
    starts = np.flatnonzero(np.diff(padded) == 1)
    stops = np.flatnonzero(np.diff(padded) == -1)  # one past the last bin of each run
    edges_lo = centres - bin_ms / 2
    edges_hi = np.minimum(centres + bin_ms / 2, recording.t_stop_ms)
    runs: list[list[int]] = []
    for s, e in zip(starts, stops):
        if runs and edges_lo[s] - edges_hi[runs[-1][1] - 1] < merge_gap_ms:
            runs[-1][1] = e
        else:
            runs.append([s, e])
    return [Burst(float(edges_lo[s]), float(edges_hi[e - 1]), float(rate[s:e].max())) for s, e in runs]


def stimulation_window(
    pulses: Sequence[Pulse], channel: int, duration_ms: float, single_pulse_window_ms: float = 50.0
) -> tuple[float, float] | None:
    """The period during which ``channel`` is stimulated: from its first pulse to one inter-pulse interval after
    its last (``single_pulse_window_ms`` after a lone pulse), cut at ``duration_ms``. ``None`` if it has no pulse.

    :param pulses: every pulse of the run (onsets relative to the start of the recording)
    :param channel: electrode index
    :param duration_ms: length of the recording (ms)
    :param single_pulse_window_ms: response window after a lone pulse (ms)
    """
    onsets = np.sort([p.onset_ms for p in pulses if p.channel == channel])
    if onsets.size == 0:
        return None
    tail = float(np.median(np.diff(onsets))) if onsets.size > 1 else single_pulse_window_ms
    return float(onsets[0]), float(min(duration_ms, onsets[-1] + max(tail, 1.0)))


def window_rate_hz(recording: Recording, neurons: np.ndarray, start_ms: float, stop_ms: float, copy: int = 0) -> float | None:
    """Mean rate (Hz per neuron) of ``neurons`` over ``[start_ms, stop_ms)``; ``None`` for an empty window or set.

    :param recording: what the engine recorded
    :param neurons: neuron indices
    :param start_ms: window start, in the recording's time (ms)
    :param stop_ms: window end (ms)
    :param copy: which copy to analyse
    """
    neurons = np.asarray(neurons)
    if neurons.size == 0 or stop_ms <= start_ms:
        return None
    mask = (recording.neuron_copy == copy) & (recording.neuron_t_ms >= start_ms) & (recording.neuron_t_ms < stop_ms)
    mask &= np.isin(recording.neuron_i, neurons)
    return float(mask.sum() / neurons.size / ((stop_ms - start_ms) / 1000.0))


def stimulation_responses(
    recording: Recording,
    system: System,
    mea: MEA,
    pulses: Iterable[Pulse],
    radius_um: float = 100.0,
    copy: int = 0,
) -> list[dict]:
    """For every stimulated channel, the mean rate of the neurons within ``radius_um`` of its electrode during its
    stimulation period (see :func:`stimulation_window`) and before any stimulation started, plus the rate that the
    electrode itself recorded in both periods.

    :param recording: what the engine recorded (pulse onsets are taken relative to its start)
    :param system: the system that produced it
    :param mea: the electrode array
    :param pulses: the pulses that were applied
    :param radius_um: neighbourhood radius around the electrode (um, 3-D distance to the soma)
    :param copy: which copy to analyse
    :returns: one dict per channel, in channel order
    """
    pulses = list(pulses)
    if not pulses:
        return []
    t0 = recording.t_start_ms
    first_onset = min(p.onset_ms for p in pulses)
    distances = mea.distances_um(system.positions_um)
    channel_mask = recording.channel_copy == copy
    out = []
    for channel in sorted({p.channel for p in pulses}):
        window = stimulation_window(pulses, channel, recording.duration_ms)
        assert window is not None
        near = np.flatnonzero(distances[channel] <= radius_um)
        during = (t0 + window[0], t0 + window[1])
        before = (t0, t0 + first_onset)

        def channel_rate(start: float, stop: float) -> float | None:
            if stop <= start:
                return None
            t = recording.channel_t_ms[channel_mask & (recording.channel_c == channel)]
            return float(((t >= start) & (t < stop)).sum() / ((stop - start) / 1000.0))

        ch_pulses = [p for p in pulses if p.channel == channel]
        out.append(
            {
                "channel": channel,
                "n_pulses": len(ch_pulses),
                "amplitude_ua": max(p.amplitude_ua for p in ch_pulses),
                "window_ms": [round(window[0], 3), round(window[1], 3)],
                "baseline_ms": [0.0, round(first_onset, 3)],
                "radius_um": radius_um,
                "n_neurons_near": int(near.size),
                "rate_before_hz": window_rate_hz(recording, near, *before, copy=copy),
                "rate_during_hz": window_rate_hz(recording, near, *during, copy=copy),
                "channel_rate_before_hz": channel_rate(*before),
                "channel_rate_during_hz": channel_rate(*during),
            }
        )
    return out


def grid_shape(mea: MEA) -> tuple[int, int] | None:
    """``(rows, cols)`` if the electrodes form a full rectangular grid in row-major order (as
    :meth:`MEA.grid <livn_rl.mea.MEA.grid>` lays them out: x varies fastest, y grows with the row), else ``None``.

    :param mea: the electrode array
    """
    xy = np.round(mea.positions_um[:, :2], 6)
    xs, ys = np.unique(xy[:, 0]), np.unique(xy[:, 1])
    if xs.size * ys.size != mea.n_channels:
        return None
    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    if not np.array_equal(np.column_stack([gx.ravel(), gy.ravel()]), xy):
        return None
    return int(ys.size), int(xs.size)


# ------------------------------------------------------------------------ single-neuron statistics (any recording)
def _neurons(recording: Recording, neurons: Sequence[int] | np.ndarray | None) -> np.ndarray:
    members = np.arange(recording.n_neurons) if neurons is None else np.asarray(neurons, dtype=np.int64).ravel()
    if members.size and (members.min() < 0 or members.max() >= recording.n_neurons):
        raise ValueError(f"neurons must be indices in 0..{recording.n_neurons - 1}, got {members.tolist()}")
    return members


def _window(recording: Recording, start_ms: float | None, stop_ms: float | None) -> tuple[float, float]:
    start = recording.t_start_ms if start_ms is None else float(start_ms)
    stop = recording.t_stop_ms if stop_ms is None else float(stop_ms)
    if not (np.isfinite(start) and np.isfinite(stop) and stop > start):
        raise ValueError(f"the analysis window must have start_ms < stop_ms, got [{start!r}, {stop!r})")
    return start, stop


def spike_trains(
    recording: Recording, neurons: Sequence[int] | None = None, copy: int = 0,
    start_ms: float | None = None, stop_ms: float | None = None,
) -> list[np.ndarray]:
    """The sorted spike times (ms) of each neuron in ``[start_ms, stop_ms)``.

    :param recording: what the engine recorded
    :param neurons: neuron indices (all by default)
    :param copy: which copy to analyse
    :param start_ms: window start (default: the recording's start)
    :param stop_ms: window end (default: the recording's end)
    """
    members = _neurons(recording, neurons)
    start, stop = _window(recording, start_ms, stop_ms)
    t = recording.neuron_t_ms
    mask = (recording.neuron_copy == copy) & (t >= start) & (t < stop)
    ids, times = recording.neuron_i[mask], t[mask]
    order = np.lexsort((times, ids))
    ids, times = ids[order], times[order]
    bounds = np.searchsorted(ids, np.stack([members, members + 1]))
    return [times[lo:hi] for lo, hi in bounds.T]


def firing_rate(
    recording: Recording, neurons: Sequence[int] | None = None, copy: int = 0,
    start_ms: float | None = None, stop_ms: float | None = None,
) -> np.ndarray:
    """Spike count over window length: the rate (Hz) of each neuron in ``[start_ms, stop_ms)``.

    :param recording: what the engine recorded
    :param neurons: neuron indices (all by default)
    :param copy: which copy to analyse
    :param start_ms: window start (default: the recording's start)
    :param stop_ms: window end (default: the recording's end)
    """
    start, stop = _window(recording, start_ms, stop_ms)
    trains = spike_trains(recording, neurons, copy, start, stop)
    return np.array([train.size for train in trains], dtype=float) / ((stop - start) / 1000.0)


def isi_stats(
    recording: Recording, neurons: Sequence[int] | None = None, copy: int = 0,
    start_ms: float | None = None, stop_ms: float | None = None,
) -> dict[str, np.ndarray]:
    """Inter-spike-interval statistics of each neuron in ``[start_ms, stop_ms)``.

    :param recording: what the engine recorded
    :param neurons: neuron indices (all by default)
    :param copy: which copy to analyse
    :param start_ms: window start (default: the recording's start)
    :param stop_ms: window end (default: the recording's end)
    :returns: ``{"mean_ms", "cv", "rate_hz", "n_intervals"}``, one value per neuron: the mean interval, its
        coefficient of variation (SD / mean), ``1000 / mean_ms`` and the number of intervals; NaN (rate 0) for
        neurons with fewer than two spikes
    """
    trains = spike_trains(recording, neurons, copy, start_ms, stop_ms)
    mean = np.full(len(trains), np.nan)
    cv = np.full(len(trains), np.nan)
    counts = np.zeros(len(trains), dtype=np.int64)
    for k, train in enumerate(trains):
        intervals = np.diff(train)
        counts[k] = intervals.size
        if intervals.size:
            mean[k] = intervals.mean()
            cv[k] = intervals.std() / mean[k] if mean[k] > 0 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(counts > 0, 1000.0 / mean, 0.0)
    return {"mean_ms": mean, "cv": cv, "rate_hz": rate, "n_intervals": counts}


def fi_curve(
    recording: Recording, currents: Sequence[float] | np.ndarray, neurons: Sequence[int] | None = None,
    copy: int = 0, start_ms: float | None = None, stop_ms: float | None = None, method: str = "isi",
) -> tuple[np.ndarray, np.ndarray]:
    """The frequency-current (F-I) curve of a recording in which neuron ``neurons[k]`` received the constant current
    ``currents[k]``, sorted by current.

    :param recording: what the engine recorded
    :param currents: the current of each neuron (any unit: it is returned as given, e.g. nA as plain numbers)
    :param neurons: the neurons, in the order of ``currents`` (default: ``0 .. len(currents) - 1``)
    :param copy: which copy to analyse
    :param start_ms: window start (default: the recording's start), e.g. after an onset transient
    :param stop_ms: window end (default: the recording's end)
    :param method: ``"isi"``: ``1 / mean interval`` (exact for regular firing; the count rate for neurons with
        fewer than two spikes), or ``"count"``: spikes over window length
    :returns: currents (ascending) and rates (Hz)
    """
    currents = np.asarray(currents, dtype=float).ravel()
    members = np.arange(currents.size) if neurons is None else _neurons(recording, neurons)
    if members.size != currents.size:
        raise ValueError(f"fi_curve needs one current per neuron: {currents.size} currents for {members.size} neurons")
    if method not in ("isi", "count"):
        raise ValueError(f"method must be 'isi' or 'count', got {method!r}")
    rates = firing_rate(recording, members, copy, start_ms, stop_ms)
    if method == "isi":
        stats = isi_stats(recording, members, copy, start_ms, stop_ms)
        rates = np.where(stats["n_intervals"] > 0, stats["rate_hz"], rates)
    order = np.argsort(currents, kind="stable")
    return currents[order], rates[order]


def rheobase(currents: Sequence[float] | np.ndarray, rates_hz: Sequence[float] | np.ndarray, min_rate_hz: float = 0.0) -> float | None:
    """The rheobase measured on an F-I curve: the smallest current whose rate exceeds ``min_rate_hz``.

    On a grid of currents it is an upper bound within one grid step of the true rheobase (the analytic one of a LIF
    neuron is :meth:`LIFSystem.rheobase <livn_rl.systems.lif.LIFSystem.rheobase>`). ``None`` if nothing fires.

    :param currents: tested currents (any unit, returned as given)
    :param rates_hz: the rate at each current (Hz)
    :param min_rate_hz: rate that counts as firing (Hz)
    """
    currents = np.asarray(currents, dtype=float).ravel()
    rates_hz = np.asarray(rates_hz, dtype=float).ravel()
    if currents.shape != rates_hz.shape:
        raise ValueError(f"currents and rates_hz must have the same length, got {currents.size} and {rates_hz.size}")
    firing = currents[rates_hz > min_rate_hz]
    return float(firing.min()) if firing.size else None
