"""Base classes for encoders (input -> stimulation) and decoders (recording -> output).

An :class:`Encoder` turns an input (an agent's action, or a task's observation) into the MEA stimulus of one step
window; a :class:`Decoder` turns the recording of one window into an output (a task's action, or an observation
vector). Both learn the electrode array and the window length through :meth:`bind`, which environments call
once, before the first step; both declare the Gymnasium space they accept or produce.

Write your own by subclassing::

    class CornerEncoder(Encoder):
        '''One pulse on channel 0 whose amplitude follows the input.'''

        def bind(self, context):
            super().bind(context)
            self.input_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

        def encode(self, x):
            return [Pulse(0, 1.0, (float(x[0]) + 1) / 2 * 10.0)]
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from livn_rl.mea import MEA
from livn_rl.recording import Recording
from livn_rl.stimulus import Pulse

__all__ = ["Decoder", "Encoder", "StimulationContext", "check_features", "check_fits", "from_unit", "unit_dims"]


@dataclass(frozen=True)
class StimulationContext:
    """What an encoder or decoder may know about the loop it sits in.

    :param mea: the electrode array (positions, current limit)
    :param window_ms: length of one step window (ms)
    :param dt_ms: simulation time step (ms); an encoder's array output has ``window_ms / dt_ms`` rows
    """

    mea: MEA
    window_ms: float
    dt_ms: float

    @property
    def n_channels(self) -> int:
        return self.mea.n_channels

    @property
    def n_timesteps(self) -> int:
        return int(round(self.window_ms / self.dt_ms))

    def channel_x(self) -> np.ndarray:
        """Each channel's x position scaled to [-1, 1] across the array (0 when all channels share one x)."""
        x = self.mea.positions_um[:, 0]
        span = np.ptp(x)
        return np.zeros_like(x) if span == 0 else 2.0 * (x - x.min()) / span - 1.0

    def rows(self) -> list[np.ndarray]:
        """Channels grouped by y position (rows of the array), each row ordered by x."""
        xy = np.round(self.mea.positions_um[:, :2], 6)
        return [
            np.flatnonzero(xy[:, 1] == y)[np.argsort(xy[xy[:, 1] == y, 0], kind="stable")] for y in np.unique(xy[:, 1])
        ]


class _Bound:
    """Shared binding logic: the context is set once and checked before use."""

    context: StimulationContext | None = None

    def bind(self, context: StimulationContext) -> None:
        """Learn the electrode array and the window. Subclasses that override it call ``super().bind(context)``
        first, then set their space."""
        self.context = context

    def reset(self, rng: np.random.Generator | None = None) -> None:
        """Start of an episode: forget any state carried between windows (none by default)."""

    def _require_context(self) -> StimulationContext:
        if self.context is None:
            raise RuntimeError(f"{type(self).__name__} is not bound to an MEA yet; call bind(context) first")
        return self.context

    def _check_channels(self, channels, name: str = "channels") -> np.ndarray:
        c = self._require_context().n_channels
        index = np.arange(c) if channels is None else np.asarray(channels, dtype=np.int64).ravel()
        if index.size == 0 or index.min() < 0 or index.max() >= c or np.unique(index).size != index.size:
            raise ValueError(f"{type(self).__name__} {name} must be distinct channel indices in 0..{c - 1}, got {channels!r}")
        return index

    def parameters(self) -> dict:
        """The parameters that define it: its public attributes (for the built-in ones, the constructor's arguments),
        without the bound context, the spaces and the state kept between windows (private attributes)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_") and k != "context" and not k.endswith("_space")}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.parameters().items())})"


class Encoder(_Bound):
    """Maps one input to the stimulus of one window.

    Subclasses set :attr:`input_space` (in :meth:`bind` at the latest) and implement :meth:`encode`, which returns
    ``None`` (no stimulation), a list of :class:`~livn_rl.stimulus.Pulse` (onsets relative to the window) or an
    array of channel currents in uA shaped ``(context.n_timesteps, context.n_channels)``.
    """

    input_space: gym.Space
    #: What the values of :meth:`to_features` are, in a dataset's ``features`` column and its metadata.
    feature_units: str = "the encoder's input, each value in [-1, 1]"

    def encode(self, x) -> list[Pulse] | np.ndarray | None:
        raise NotImplementedError

    @property
    def feature_space(self) -> gym.spaces.Box:
        """The space of :meth:`to_features` (by default the input space itself)."""
        return self.input_space

    def to_features(self, x) -> np.ndarray:
        """Input ``x`` as the flat float32 features a dataset stores (by default the input itself)."""
        return np.asarray(x, dtype=np.float32).ravel()

    def from_features(self, features) -> np.ndarray:
        """The input (in :attr:`input_space`, float64 so that encoding it gives exactly the stimulation that
        ``features`` describe). Features outside :attr:`feature_space` raise a ValueError naming the value and the
        range."""
        return check_features(self, features)


class Decoder(_Bound):
    """Maps the recording of one window (one copy) to an output in :attr:`output_space`.

    Subclasses set :attr:`output_space` and implement :meth:`decode`. A decoder that drives a task produces
    outputs inside the task's action space (see :func:`from_unit`).
    """

    output_space: gym.Space

    def decode(self, recording: Recording):
        raise NotImplementedError


def check_features(encoder: Encoder, features) -> np.ndarray:
    """``features`` as a float64 array, checked against ``encoder``'s :attr:`~Encoder.feature_space` (shape and
    range, with a tolerance of float32 rounding)."""
    space = encoder.feature_space
    values = np.asarray(features, dtype=np.float64).ravel()
    name = type(encoder).__name__
    if values.shape != (int(np.prod(space.shape)),):
        raise ValueError(f"{name} features must have {int(np.prod(space.shape))} values ({encoder.feature_units}), "
                         f"got {values.size}")
    low, high = space.low.astype(np.float64).ravel(), space.high.astype(np.float64).ravel()
    slack = 1e-5 * np.maximum(1.0, np.abs(high - low))
    bad = ~np.isfinite(values) | (values < low - slack) | (values > high + slack)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} feature {k} is {float(values[k])!r}, outside the encoder's range [{low[k]:g}, {high[k]:g}] "
                         f"({encoder.feature_units})")
    return np.clip(values, low, high)


def from_unit(values: np.ndarray, space: gym.Space):
    """Map values in [-1, 1] into ``space``: linearly onto a bounded :class:`~gymnasium.spaces.Box` (clipped), or
    onto ``n`` equal bins of [-1, 1] for :class:`~gymnasium.spaces.Discrete` (the first value decides)."""
    values = np.clip(np.asarray(values, dtype=np.float64), -1.0, 1.0)
    if isinstance(space, gym.spaces.Discrete):
        index = int(np.floor((values.ravel()[0] + 1.0) / 2.0 * space.n))
        return int(space.start + min(max(index, 0), space.n - 1))
    low, high = space.low.astype(np.float64), space.high.astype(np.float64)
    return (low + (values.reshape(space.shape) + 1.0) / 2.0 * (high - low)).astype(space.dtype)


def unit_dims(space: gym.Space) -> int:
    """How many values in [-1, 1] :func:`from_unit` needs to produce an element of ``space``."""
    if isinstance(space, gym.spaces.Discrete):
        return 1
    if isinstance(space, gym.spaces.Box) and np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high)):
        return int(np.prod(space.shape))
    raise ValueError(
        f"cannot map decoded values onto {space}: expected a Discrete space or a Box with finite bounds"
    )


def check_fits(decoder: Decoder, space: gym.Space) -> None:
    """Raise a ValueError that says why ``decoder``'s output cannot drive a task whose action space is ``space``."""
    out = decoder.output_space
    name = type(decoder).__name__
    if isinstance(space, gym.spaces.Discrete):
        if not (isinstance(out, gym.spaces.Discrete) and out.n == space.n and out.start == space.start):
            raise ValueError(f"{name} outputs {out}, but the task's action space is {space}: the decoder must output {space}")
    elif isinstance(space, gym.spaces.Box):
        if not isinstance(out, gym.spaces.Box) or out.shape != space.shape:
            raise ValueError(
                f"{name} outputs {out}, but the task's action space is {space}: the decoder must output a Box of shape {space.shape}"
            )
        if np.any(out.low < space.low) or np.any(out.high > space.high):
            raise ValueError(
                f"{name} outputs values in [{out.low.min()}, {out.high.max()}], outside the task's action space {space}"
            )
    else:
        raise ValueError(f"task action space {space} is not supported: expected Box or Discrete")
