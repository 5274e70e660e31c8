"""Built-in encoders: values in [-1, 1] to stimulation pulses of one window.

Every encoder takes inputs in [-1, 1] (the agent's action convention), so any of them can sit directly behind a
stable-baselines3 policy. Amplitudes are magnitudes of biphasic, cathodic-first pulses by default; amplitudes of 0
mean no pulse.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np

from livn_rl.checks import check_number, check_whole
from livn_rl.encoders.base import Encoder, StimulationContext, check_features
from livn_rl.stimulus import Pulse

__all__ = ["PopulationEncoder", "PulseEncoder", "RateEncoder", "TimingEncoder", "population_layout"]


def _unit(x: np.ndarray) -> np.ndarray:
    """[-1, 1] -> [0, 1], clipped."""
    return (np.clip(x, -1.0, 1.0) + 1.0) / 2.0


def _box(n: int) -> gym.spaces.Box:
    return gym.spaces.Box(-1.0, 1.0, (n,), np.float32)


class _PulseShape:
    """Pulse parameters shared by the built-in encoders."""

    def _init_shape(self, phase_ms: float, shape: str) -> None:
        Pulse(0, 0.0, 0.0, phase_ms=phase_ms, shape=shape)  # validates both
        self.phase_ms = float(phase_ms)
        self.shape = shape

    def _pulse(self, channel: int, onset_ms: float, amplitude_ua: float) -> Pulse:
        return Pulse(int(channel), float(onset_ms), float(amplitude_ua), phase_ms=self.phase_ms, shape=self.shape)

    def _pulse_ms(self) -> float:
        return Pulse(0, 0.0, 0.0, phase_ms=self.phase_ms, shape=self.shape).duration_ms

    def _check_amplitude(self, context: StimulationContext, amplitude_ua: float, name: str) -> None:
        if amplitude_ua > context.mea.max_current_ua:
            raise ValueError(
                f"{type(self).__name__} {name}={amplitude_ua} uA exceeds the MEA's limit of {context.mea.max_current_ua} uA"
            )

    def _latest_onset(self, context: StimulationContext) -> float:
        latest = context.window_ms - self._pulse_ms()
        if latest < 0:
            raise ValueError(f"a {self._pulse_ms()} ms pulse does not fit into a {context.window_ms} ms window")
        return latest

    def _rendered_steps(self, context: StimulationContext) -> int:
        """Simulation steps one pulse occupies once rendered (see :func:`~livn_rl.stimulus.render`)."""
        return max(1, int(round(self.phase_ms / context.dt_ms))) * (2 if self.shape == "biphasic" else 1)

    def _snap(self, onset_ms: float, context: StimulationContext) -> float:
        """Round an onset down to the simulation grid so that pulses never spill past the window."""
        return math.floor(onset_ms / context.dt_ms + 1e-9) * context.dt_ms


class PulseEncoder(Encoder, _PulseShape):
    """Single pulses described by (channel, onset, amplitude): the stimulus features of the public livn dataset.

    Input: ``Box(-1, 1, (3 * n_pulses,))``, per pulse (channel, onset, amplitude), each scaled from [-1, 1] to a
    channel index (``n_channels`` equal bins), an onset in ``[0, window - pulse duration]`` (ms) and an amplitude in
    ``[0, max_amplitude_ua]``. Amplitude 0 (input -1) means no pulse; of pulses that would overlap on one channel,
    only the strongest is delivered.

    :param n_pulses: pulses per window
    :param max_amplitude_ua: amplitude at input +1 (uA)
    :param phase_ms: duration of each pulse phase (ms)
    :param shape: ``"biphasic"`` or ``"monophasic"``
    """

    def __init__(self, n_pulses: int = 1, max_amplitude_ua: float = 10.0, phase_ms: float = 0.2, shape: str = "biphasic") -> None:
        check_whole("PulseEncoder n_pulses", n_pulses, 1)
        self.n_pulses = int(n_pulses)
        self.max_amplitude_ua = check_number("PulseEncoder max_amplitude_ua", max_amplitude_ua, 0.0, low_open=True)
        self._init_shape(phase_ms, shape)
        self.input_space = _box(3 * self.n_pulses)

    def bind(self, context: StimulationContext) -> None:
        self._check_amplitude(context, self.max_amplitude_ua, "max_amplitude_ua")
        self._latest_onset(context)
        super().bind(context)

    def features(self, x) -> np.ndarray:
        """The physical pulse features of input ``x``: ``(n_pulses, 3)`` rows of (channel, onset ms, amplitude uA)."""
        context = self._require_context()
        u = _unit(np.asarray(x, dtype=np.float64).reshape(self.n_pulses, 3))
        channel = np.minimum(np.floor(u[:, 0] * context.n_channels), context.n_channels - 1)
        onset = np.array([self._snap(v, context) for v in u[:, 1] * self._latest_onset(context)])
        return np.column_stack([channel, onset, u[:, 2] * self.max_amplitude_ua])

    feature_units = "per pulse: channel index, onset (ms from the start of the window), amplitude (uA); livn's units"

    @property
    def feature_space(self) -> gym.spaces.Box:
        """Per pulse ``[0, n_channels - 1]`` x ``[0, window - pulse duration]`` ms x ``[0, max_amplitude_ua]`` uA."""
        context = self._require_context()
        low = np.zeros(3 * self.n_pulses, np.float32)
        high = np.tile([context.n_channels - 1, self._latest_onset(context), self.max_amplitude_ua], self.n_pulses)
        return gym.spaces.Box(low, high.astype(np.float32), (3 * self.n_pulses,), np.float32)

    def to_features(self, x) -> np.ndarray:
        """``[channel, onset ms, amplitude uA]`` of each pulse, flat: the features of livn's datasets."""
        return self.features(x).ravel().astype(np.float32)

    def from_features(self, features) -> np.ndarray:
        """The input whose pulses are ``features`` (channels must be whole; onsets are snapped to the time step)."""
        context = self._require_context()
        values = check_features(self, features).reshape(self.n_pulses, 3)
        channel, onset, amplitude = values.T
        if np.any(channel != np.round(channel)):
            raise ValueError(f"PulseEncoder channel features must be whole channel indices, got {channel.tolist()}")
        latest = self._latest_onset(context)
        onset = np.round(onset / context.dt_ms) * context.dt_ms  # undo float32 rounding of grid onsets
        unit = np.column_stack([(channel + 0.5) / context.n_channels,
                                onset / latest if latest > 0 else np.zeros_like(onset),
                                amplitude / self.max_amplitude_ua])
        return 2.0 * unit.ravel() - 1.0

    def encode(self, x) -> list[Pulse]:
        """The pulses of input ``x``, in input order. A channel delivers one pulse at a time: of pulses that would
        overlap on one channel only the strongest is kept (overlapping currents add up and could exceed the MEA's
        limit)."""
        context = self._require_context()
        features = self.features(x)
        rendered_ms = self._rendered_steps(context) * context.dt_ms - 1e-9
        kept: list[int] = []
        for i in np.argsort(-features[:, 2], kind="stable"):
            c, t, a = features[i]
            if a > 0 and all(features[k, 0] != c or abs(features[k, 1] - t) >= rendered_ms for k in kept):
                kept.append(int(i))
        return [self._pulse(int(c), t, a) for c, t, a in features[sorted(kept)]]


class RateEncoder(Encoder, _PulseShape):
    """A vector in [-1, 1], one value per channel, to that channel's pulse amplitude or pulse rate.

    ``mode="amplitude"``: each channel gets pulses at ``pulse_rate_hz`` whose amplitude goes from 0 (input -1) to
    ``max_amplitude_ua`` (input +1). ``mode="rate"``: pulses of ``amplitude_ua`` at a rate from 0 to
    ``max_rate_hz``; the pulse phase carries over from window to window, so rates below one pulse per window still
    come out right on average (after :meth:`reset`, a channel's first pulse comes at the start of the window).

    Input: ``Box(-1, 1, (len(channels),))``.

    :param channels: channels to drive, in input order (default: all)
    :param mode: ``"amplitude"`` or ``"rate"``
    :param max_amplitude_ua: amplitude at input +1 in amplitude mode (uA)
    :param pulse_rate_hz: pulse rate in amplitude mode (Hz)
    :param max_rate_hz: rate at input +1 in rate mode (Hz)
    :param amplitude_ua: pulse amplitude in rate mode (uA)
    :param onset_ms: time of the first pulse in a window in amplitude mode (ms)
    :param phase_ms: duration of each pulse phase (ms)
    :param shape: ``"biphasic"`` or ``"monophasic"``
    """

    def __init__(
        self,
        channels=None,
        mode: str = "amplitude",
        max_amplitude_ua: float = 10.0,
        pulse_rate_hz: float = 50.0,
        max_rate_hz: float = 100.0,
        amplitude_ua: float = 10.0,
        onset_ms: float = 1.0,
        phase_ms: float = 0.2,
        shape: str = "biphasic",
    ) -> None:
        if mode not in ("amplitude", "rate"):
            raise ValueError(f"RateEncoder mode must be 'amplitude' or 'rate', got {mode!r}")
        self.channels = None if channels is None else [int(c) for c in np.asarray(channels).ravel()]
        self.mode = mode
        self.max_amplitude_ua = check_number("RateEncoder max_amplitude_ua", max_amplitude_ua, 0.0, low_open=True)
        self.pulse_rate_hz = check_number("RateEncoder pulse_rate_hz", pulse_rate_hz, 0.0, low_open=True)
        self.max_rate_hz = check_number("RateEncoder max_rate_hz", max_rate_hz, 0.0, low_open=True)
        self.amplitude_ua = check_number("RateEncoder amplitude_ua", amplitude_ua, 0.0, low_open=True)
        self.onset_ms = check_number("RateEncoder onset_ms", onset_ms, 0.0)
        self._init_shape(phase_ms, shape)
        if self.channels is not None:
            self.input_space = _box(len(self.channels))
        self._phase = np.zeros(0)

    def bind(self, context: StimulationContext) -> None:
        super().bind(context)
        self._index = self._check_channels(self.channels)
        self._check_amplitude(context, self.max_amplitude_ua if self.mode == "amplitude" else self.amplitude_ua, "amplitude")
        if self.onset_ms > self._latest_onset(context):
            raise ValueError(f"RateEncoder onset_ms={self.onset_ms} leaves no room for a pulse in a {context.window_ms} ms window")
        if 1000.0 / self.max_rate_hz < self._pulse_ms() or 1000.0 / self.pulse_rate_hz < self._pulse_ms():
            raise ValueError("RateEncoder pulse rates are too high for the pulse duration: pulses would overlap")
        self.input_space = _box(self._index.size)
        self._phase = np.zeros(self._index.size)

    def reset(self, rng: np.random.Generator | None = None) -> None:
        self._phase = np.zeros(self._index.size) if self.context is not None else np.zeros(0)

    def encode(self, x) -> list[Pulse]:
        context = self._require_context()
        u = _unit(np.asarray(x, dtype=np.float64).ravel())
        latest = self._latest_onset(context)
        pulses = []
        if self.mode == "amplitude":
            times = np.arange(self.onset_ms, latest + 1e-9, 1000.0 / self.pulse_rate_hz)
            for channel, amplitude in zip(self._index, u * self.max_amplitude_ua):
                if amplitude > 0:
                    pulses += [self._pulse(channel, self._snap(t, context), amplitude) for t in times]
            return pulses
        # rate mode: a phase accumulator per channel, in pulses; a pulse fires whenever the phase reaches a whole
        # number n, at t = (n - phase) * period, for the n in [phase, phase at the end of the window). The same
        # rounded bound ends one window and starts the next, so no pulse is lost or doubled at the boundary.
        rates = u * self.max_rate_hz
        for k, (channel, rate) in enumerate(zip(self._index, rates)):
            if rate <= 0:
                continue
            period = 1000.0 / rate
            start, end = self._phase[k], self._phase[k] + context.window_ms / period
            for n in range(math.ceil(start - 1e-9), math.ceil(end - 1e-9)):
                t = min(max((n - start) * period, 0.0), latest)
                pulses.append(self._pulse(channel, self._snap(t, context), self.amplitude_ua))
            self._phase[k] = end % 1.0
        return pulses


class PopulationEncoder(Encoder, _PulseShape):
    """Scalars in [-1, 1] spread by Gaussian tuning over rows of electrodes.

    Each channel prefers the value given by its x position across the array (-1 at the left edge, +1 at the right).
    Input value ``j`` drives the ``j``-th group of rows: channel ``c`` gets pulses at ``pulse_rate_hz`` with amplitude
    ``max_amplitude_ua * exp(-(x_j - p_c)^2 / (2 width^2))`` (dropped below ``min_amplitude_ua``). With one input,
    every row carries the same bump, which makes the response strongest.

    Input: ``Box(-1, 1, (n_values,))``.

    :param n_values: number of scalars; the array needs at least that many rows
    :param width: tuning width in the [-1, 1] units of the preferred values (default: one electrode spacing)
    :param max_amplitude_ua: amplitude at the preferred value (uA)
    :param min_amplitude_ua: weaker pulses are left out (uA)
    :param pulse_rate_hz: pulse rate (Hz)
    :param onset_ms: time of the first pulse in a window (ms)
    :param phase_ms: duration of each pulse phase (ms)
    :param shape: ``"biphasic"`` or ``"monophasic"``
    """

    def __init__(
        self,
        n_values: int = 1,
        width: float | None = None,
        max_amplitude_ua: float = 10.0,
        min_amplitude_ua: float = 1.0,
        pulse_rate_hz: float = 100.0,
        onset_ms: float = 1.0,
        phase_ms: float = 0.2,
        shape: str = "biphasic",
    ) -> None:
        check_whole("PopulationEncoder n_values", n_values, 1)
        self.n_values = int(n_values)
        self.width = None if width is None else check_number("PopulationEncoder width", width, 0.0, low_open=True)
        self.max_amplitude_ua = check_number("PopulationEncoder max_amplitude_ua", max_amplitude_ua, 0.0, low_open=True)
        self.min_amplitude_ua = check_number("PopulationEncoder min_amplitude_ua", min_amplitude_ua, 0.0)
        self.pulse_rate_hz = check_number("PopulationEncoder pulse_rate_hz", pulse_rate_hz, 0.0, low_open=True)
        self.onset_ms = check_number("PopulationEncoder onset_ms", onset_ms, 0.0)
        self._init_shape(phase_ms, shape)
        self.input_space = _box(self.n_values)

    def bind(self, context: StimulationContext) -> None:
        super().bind(context)
        self._check_amplitude(context, self.max_amplitude_ua, "max_amplitude_ua")
        if self.onset_ms > self._latest_onset(context):
            raise ValueError(f"PopulationEncoder onset_ms={self.onset_ms} leaves no room for a pulse in a {context.window_ms} ms window")
        if 1000.0 / self.pulse_rate_hz < self._pulse_ms():
            raise ValueError("PopulationEncoder pulse_rate_hz is too high for the pulse duration: pulses would overlap")
        self._groups, self._preferred, self._width = population_layout(context, self.n_values, self.width)

    def encode(self, x) -> list[Pulse]:
        context = self._require_context()
        values = np.clip(np.asarray(x, dtype=np.float64).ravel(), -1.0, 1.0)
        times = [self._snap(t, context) for t in np.arange(self.onset_ms, self._latest_onset(context) + 1e-9, 1000.0 / self.pulse_rate_hz)]
        pulses = []
        for value, group in zip(values, self._groups):
            amplitudes = self.max_amplitude_ua * np.exp(-((value - self._preferred[group]) ** 2) / (2 * self._width**2))
            for channel, amplitude in zip(group, amplitudes):
                if amplitude >= self.min_amplitude_ua and amplitude > 0:
                    pulses += [self._pulse(channel, t, amplitude) for t in times]
        return pulses


def population_layout(context: StimulationContext, n_values: int, width: float | None) -> tuple[list[np.ndarray], np.ndarray, float]:
    """Channel groups (contiguous rows), preferred values (x position in [-1, 1]) and tuning width shared by
    :class:`PopulationEncoder` and :class:`~livn_rl.encoders.decoders.PopulationVectorDecoder`."""
    rows = context.rows()
    if len(rows) < n_values:
        raise ValueError(f"{n_values} values need at least {n_values} electrode rows; this MEA has {len(rows)}")
    groups = [np.concatenate([rows[r] for r in part]) for part in np.array_split(np.arange(len(rows)), n_values)]
    preferred = context.channel_x()
    if width is None:
        spacing = np.diff(np.unique(np.round(preferred, 9)))
        width = float(spacing.min()) if spacing.size else 1.0
    return groups, preferred, float(width)


class TimingEncoder(Encoder, _PulseShape):
    """Values in [-1, 1] to stimulation times: one pulse per channel, at the start of the window for -1 and at its
    end for +1.

    Input: ``Box(-1, 1, (len(channels),))``.

    :param channels: channels to drive, in input order (default: all)
    :param amplitude_ua: pulse amplitude (uA)
    :param phase_ms: duration of each pulse phase (ms)
    :param shape: ``"biphasic"`` or ``"monophasic"``
    """

    def __init__(self, channels=None, amplitude_ua: float = 10.0, phase_ms: float = 0.2, shape: str = "biphasic") -> None:
        self.channels = None if channels is None else [int(c) for c in np.asarray(channels).ravel()]
        self.amplitude_ua = check_number("TimingEncoder amplitude_ua", amplitude_ua, 0.0, low_open=True)
        self._init_shape(phase_ms, shape)
        if self.channels is not None:
            self.input_space = _box(len(self.channels))

    def bind(self, context: StimulationContext) -> None:
        super().bind(context)
        self._index = self._check_channels(self.channels)
        self._check_amplitude(context, self.amplitude_ua, "amplitude_ua")
        self._latest_onset(context)  # the pulse must fit into the window
        self.input_space = _box(self._index.size)

    def onsets_ms(self, x) -> np.ndarray:
        """Pulse onsets (ms into the window) for input ``x``."""
        context = self._require_context()
        u = _unit(np.asarray(x, dtype=np.float64).ravel())
        return np.array([self._snap(v, context) for v in u * self._latest_onset(context)])

    def encode(self, x) -> list[Pulse]:
        onsets = self.onsets_ms(x)  # checks the binding first
        return [self._pulse(c, t, self.amplitude_ua) for c, t in zip(self._index, onsets)]
