"""Built-in decoders: the recording of one window (one copy) to a vector or a task action.

Decoders that drive a task take the task's action space as ``output_space`` and always return a valid element of
it: values clipped into a :class:`~gymnasium.spaces.Box`, a valid index for a :class:`~gymnasium.spaces.Discrete`.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from livn_rl.checks import check_number
from livn_rl.encoders.base import Decoder, StimulationContext, from_unit, unit_dims
from livn_rl.encoders.encoders import population_layout
from livn_rl.recording import Recording

__all__ = ["ChannelRateDecoder", "FirstSpikeDecoder", "LinearDecoder", "PopulationVectorDecoder"]

_UNIT_BOX = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)


def _window_rates_hz(recording: Recording, index: np.ndarray) -> np.ndarray:
    if recording.n_copies != 1:
        raise ValueError(f"decoders read one copy at a time; got a recording of {recording.n_copies} copies (use copy_of(k))")
    return recording.channel_counts[0, index] * (1000.0 / recording.duration_ms)


class ChannelRateDecoder(Decoder):
    """Detected spike rates of chosen channels (Hz), optionally smoothed over windows and normalised.

    ``smoothing`` is the weight of the past in an exponential moving average (0: this window only). With
    ``rate_scale_hz`` the output is ``min(rate / rate_scale_hz, 1)`` in ``Box(0, 1)``; without it, rates in Hz in
    ``Box(0, inf)``.

    :param channels: channels to read, in output order (default: all)
    :param smoothing: moving-average weight of the previous value, in [0, 1)
    :param rate_scale_hz: normalisation rate (Hz), or None for raw rates
    """

    def __init__(self, channels=None, smoothing: float = 0.0, rate_scale_hz: float | None = 200.0) -> None:
        number = isinstance(smoothing, (int, float, np.integer, np.floating)) and not isinstance(smoothing, bool)
        if not (number and 0 <= smoothing < 1):
            raise ValueError(f"ChannelRateDecoder smoothing must be a number in [0, 1), got {smoothing!r}")
        self.channels = None if channels is None else [int(c) for c in np.asarray(channels).ravel()]
        self.smoothing = float(smoothing)
        self.rate_scale_hz = None if rate_scale_hz is None else check_number("ChannelRateDecoder rate_scale_hz", rate_scale_hz, 0.0, low_open=True)
        if self.channels is not None:
            self.output_space = self._space(len(self.channels))

    def _space(self, n: int) -> gym.spaces.Box:
        high = 1.0 if self.rate_scale_hz is not None else np.inf
        return gym.spaces.Box(0.0, high, (n,), np.float32)

    def bind(self, context: StimulationContext) -> None:
        super().bind(context)
        self._index = self._check_channels(self.channels)
        self.output_space = self._space(self._index.size)
        self._state = None

    def reset(self, rng: np.random.Generator | None = None) -> None:
        self._state = None

    def decode(self, recording: Recording) -> np.ndarray:
        self._require_context()
        rates = _window_rates_hz(recording, self._index)
        self._state = rates if self._state is None else self.smoothing * self._state + (1 - self.smoothing) * rates
        out = self._state if self.rate_scale_hz is None else np.minimum(self._state / self.rate_scale_hz, 1.0)
        return out.astype(np.float32)


class FirstSpikeDecoder(Decoder):
    """The first spike time of the most active channel, as a scalar: +1 for a spike at the start of the window,
    -1 at its end or when no channel detected anything; then mapped into ``output_space``.

    :param channels: channels to consider (default: all)
    :param output_space: a Box of one value with finite bounds, or a Discrete (e.g. a task's action space)
    """

    def __init__(self, channels=None, output_space: gym.Space = _UNIT_BOX) -> None:
        if unit_dims(output_space) != 1:
            raise ValueError(f"FirstSpikeDecoder produces one value; output_space {output_space} needs {unit_dims(output_space)}")
        self.channels = None if channels is None else [int(c) for c in np.asarray(channels).ravel()]
        self.output_space = output_space

    def bind(self, context: StimulationContext) -> None:
        super().bind(context)
        self._index = self._check_channels(self.channels)

    def value(self, recording: Recording) -> float:
        """The decoded scalar in [-1, 1] before it is mapped into ``output_space``."""
        self._require_context()
        counts = _window_rates_hz(recording, self._index)
        if not np.any(counts > 0):
            return -1.0
        channel = self._index[int(np.argmax(counts))]
        first = recording.channel_t_ms[recording.channel_c == channel].min() - recording.t_start_ms
        return float(1.0 - 2.0 * first / recording.duration_ms)

    def decode(self, recording: Recording):
        return from_unit([self.value(recording)], self.output_space)


class PopulationVectorDecoder(Decoder):
    """The rate-weighted mean of the channels' preferred values (their x position across the array, -1 to +1),
    the read-out that matches :class:`~livn_rl.encoders.encoders.PopulationEncoder`.

    For output value ``j`` it reads the ``j``-th group of electrode rows; channel weights are rates above
    ``baseline_hz``. A window without such activity decodes to 0 (the middle of the space). The mean is multiplied
    by ``gain`` (then clipped to [-1, 1]) because the tuning bump of the encoder spreads over the edge electrodes,
    which pulls the mean towards the centre: on S2 and S3 the plain mean spans about two thirds of [-1, 1].

    :param output_space: a Box with finite bounds or a Discrete (e.g. a task's action space)
    :param baseline_hz: rate subtracted from every channel before weighting (Hz)
    :param gain: factor on the weighted mean
    """

    def __init__(self, output_space: gym.Space = _UNIT_BOX, baseline_hz: float = 0.0, gain: float = 1.5) -> None:
        self.n_values = unit_dims(output_space)
        self.output_space = output_space
        self.baseline_hz = check_number("PopulationVectorDecoder baseline_hz", baseline_hz, 0.0)
        self.gain = check_number("PopulationVectorDecoder gain", gain, 0.0, low_open=True)

    def bind(self, context: StimulationContext) -> None:
        super().bind(context)
        self._groups, self._preferred, _ = population_layout(context, self.n_values, None)

    def values(self, recording: Recording) -> np.ndarray:
        """The decoded values in [-1, 1] before they are mapped into ``output_space``."""
        context = self._require_context()
        rates = _window_rates_hz(recording, np.arange(context.n_channels))
        weights = np.maximum(rates - self.baseline_hz, 0.0)
        out = np.zeros(self.n_values)
        for j, group in enumerate(self._groups):
            total = weights[group].sum()
            if total > 0:
                out[j] = float(weights[group] @ self._preferred[group] / total)
        return np.clip(self.gain * out, -1.0, 1.0)

    def decode(self, recording: Recording):
        return from_unit(self.values(recording), self.output_space)


class LinearDecoder(Decoder):
    """A linear read-out of normalised channel rates, ``y = W r / rate_scale_hz + b``, into ``output_space``.

    For a Box, ``W`` has one row per action value and ``y`` is clipped to the bounds. For a Discrete of ``n``
    actions, ``W`` has ``n`` rows of scores and the action is the index of the highest score. Without ``weights``,
    the read-out compares parts of the array: for a Box, value ``j`` is the right half's mean rate minus the left
    half's (of the ``j``-th group of rows), scaled to the bounds; for a Discrete, action ``i`` scores the mean rate
    of the ``i``-th of ``n`` vertical strips. Fit weights from data with :meth:`fit`.

    :param output_space: a Box with finite bounds or a Discrete (e.g. a task's action space)
    :param weights: ``(n_outputs, n_channels)`` weights, or None for the default comparison
    :param bias: ``(n_outputs,)`` offsets (default: the middle of a Box, zeros for a Discrete)
    :param rate_scale_hz: rate that counts as 1 (Hz)
    """

    def __init__(self, output_space: gym.Space = _UNIT_BOX, weights=None, bias=None, rate_scale_hz: float = 100.0) -> None:
        unit_dims(output_space)
        self.output_space = output_space
        self.rate_scale_hz = check_number("LinearDecoder rate_scale_hz", rate_scale_hz, 0.0, low_open=True)
        self._n_out = output_space.n if isinstance(output_space, gym.spaces.Discrete) else int(np.prod(output_space.shape))
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        self.bias = None if bias is None else np.asarray(bias, dtype=np.float64).ravel()
        if self.weights is not None and (self.weights.ndim != 2 or self.weights.shape[0] != self._n_out or not np.all(np.isfinite(self.weights))):
            raise ValueError(f"LinearDecoder weights must be finite with shape ({self._n_out}, n_channels), got shape {self.weights.shape}")
        self._default_weights, self._default_bias = self.weights is None, self.bias is None  # rebuilt on every bind
        if self.bias is not None and (self.bias.shape != (self._n_out,) or not np.all(np.isfinite(self.bias))):
            raise ValueError(f"LinearDecoder bias must be {self._n_out} finite numbers, got {bias!r}")

    def bind(self, context: StimulationContext) -> None:
        super().bind(context)
        c = context.n_channels
        if self._default_weights:
            self.weights, default_bias = self._default_readout(context)
            if self._default_bias:
                self.bias = default_bias
        if self.weights.shape[1] != c:
            raise ValueError(f"LinearDecoder weights have {self.weights.shape[1]} columns, but the MEA has {c} channels")
        if self.bias is None:
            self.bias = np.zeros(self._n_out)

    def _default_readout(self, context: StimulationContext) -> tuple[np.ndarray, np.ndarray]:
        x = context.channel_x()
        w = np.zeros((self._n_out, context.n_channels))
        if isinstance(self.output_space, gym.spaces.Discrete):
            strips = np.minimum(np.floor((x + 1) / 2 * self._n_out), self._n_out - 1).astype(int)
            for i in range(self._n_out):
                if np.any(strips == i):
                    w[i, strips == i] = 1.0 / np.sum(strips == i)
            return w, np.zeros(self._n_out)
        groups, _, _ = population_layout(context, self._n_out, None)
        low = self.output_space.low.astype(np.float64).ravel()
        high = self.output_space.high.astype(np.float64).ravel()
        for j, group in enumerate(groups):
            right, left = group[x[group] > 0], group[x[group] < 0]
            if right.size and left.size:
                w[j, right] = 1.0 / right.size
                w[j, left] = -1.0 / left.size
            w[j] *= (high[j] - low[j]) / 2
        return w, (high + low) / 2

    def features(self, recording: Recording) -> np.ndarray:
        """Normalised channel rates of one window, the read-out's input."""
        context = self._require_context()
        return _window_rates_hz(recording, np.arange(context.n_channels)) / self.rate_scale_hz

    def scores(self, recording: Recording) -> np.ndarray:
        return self.weights @ self.features(recording) + self.bias

    def decode(self, recording: Recording):
        y = self.scores(recording)
        if isinstance(self.output_space, gym.spaces.Discrete):
            return int(self.output_space.start + int(np.argmax(y)))
        space = self.output_space
        return np.clip(y.reshape(space.shape), space.low, space.high).astype(space.dtype)

    def fit(self, recordings_or_features, targets, ridge: float = 1e-3) -> "LinearDecoder":
        """Fit ``W`` and ``b`` by ridge regression.

        :param recordings_or_features: single-copy recordings, or an ``(n_samples, n_channels)`` array of
            normalised rates (as :meth:`features` returns)
        :param targets: ``(n_samples, n_outputs)`` values for a Box, or ``(n_samples,)`` action indices for a
            Discrete (fitted as one-hot scores)
        :param ridge: L2 penalty on the weights
        """
        context = self._require_context()
        items = list(recordings_or_features) if not isinstance(recordings_or_features, np.ndarray) else recordings_or_features
        f = np.asarray([self.features(r) for r in items]) if len(items) and isinstance(items[0], Recording) else np.asarray(items, dtype=np.float64)
        if f.ndim != 2 or f.shape[1] != context.n_channels or f.shape[0] < 2 or not np.all(np.isfinite(f)):
            raise ValueError(f"LinearDecoder.fit needs at least 2 finite samples of {context.n_channels} features, got shape {f.shape}")
        y = np.asarray(targets)
        if isinstance(self.output_space, gym.spaces.Discrete):
            index = y.astype(np.int64).ravel() - self.output_space.start
            if index.shape[0] != f.shape[0] or index.min() < 0 or index.max() >= self._n_out:
                raise ValueError(f"LinearDecoder.fit targets must be {f.shape[0]} actions of {self.output_space}")
            y = np.eye(self._n_out)[index]
        else:
            y = y.astype(np.float64).reshape(f.shape[0], -1) if y.size == f.shape[0] * self._n_out else None
            if y is None or not np.all(np.isfinite(y)):
                raise ValueError(f"LinearDecoder.fit targets must be {f.shape[0]} x {self._n_out} finite values, got shape {np.shape(targets)}")
        design = np.column_stack([f, np.ones(f.shape[0])])
        penalty = ridge * np.eye(design.shape[1])
        penalty[-1, -1] = 0.0  # no penalty on the bias
        solution = np.linalg.solve(design.T @ design + penalty, design.T @ y)
        self.weights, self.bias = solution[:-1].T.copy(), solution[-1].copy()
        self._default_weights = self._default_bias = False  # fitted weights survive a later bind
        return self
