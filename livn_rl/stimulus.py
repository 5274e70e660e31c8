"""Stimulus waveforms: pulses and pulse trains on MEA channels, rendered to a ``(n_timesteps, n_channels)`` array,
and the direct drive of neurons (:class:`NeuronDrive`) that reference circuits receive instead.

Amplitudes are magnitudes in uA. A biphasic pulse is charge balanced and cathodic first (the phase that
depolarises nearby cells); a monophasic pulse is cathodic. Durations are rounded to the simulation time step.

>>> train = pulse_train(channel=5, amplitude_ua=3.0, start_ms=500.0, n_pulses=10, rate_hz=20.0)
>>> wave = render(train, n_channels=16, duration_ms=1000.0, dt_ms=0.1)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Mapping, Sequence, Union

import numpy as np

from livn_rl.checks import check_whole

__all__ = [
    "NeuronDrive", "Pulse", "StimulusLike", "as_currents", "n_timesteps", "parse_pulse_spec", "pulse_train", "render", "stack_copies",
]


@dataclass(frozen=True)
class Pulse:
    """One stimulation pulse on one channel.

    :param channel: channel index
    :param onset_ms: start time, relative to the start of the rendered window (ms)
    :param amplitude_ua: current magnitude (uA); 0 is allowed and means no pulse
    :param phase_ms: duration of each phase (ms)
    :param shape: ``"biphasic"`` (cathodic then anodic) or ``"monophasic"`` (cathodic)
    :param gap_ms: interphase gap of a biphasic pulse (ms)
    """

    channel: int
    onset_ms: float
    amplitude_ua: float
    phase_ms: float = 0.2
    shape: Literal["biphasic", "monophasic"] = "biphasic"
    gap_ms: float = 0.0

    def __post_init__(self) -> None:
        check_whole("pulse channel", self.channel, 0)
        for name in ("onset_ms", "amplitude_ua", "phase_ms", "gap_ms"):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.floating, np.integer)) or not math.isfinite(value):
                raise ValueError(f"pulse {name} must be a finite number, got {value!r}")
        if self.onset_ms < 0 or self.amplitude_ua < 0 or self.gap_ms < 0:
            raise ValueError(
                f"pulse onset_ms, amplitude_ua and gap_ms must be >= 0, got onset_ms={self.onset_ms}, "
                f"amplitude_ua={self.amplitude_ua}, gap_ms={self.gap_ms} (amplitudes are magnitudes; "
                "the shape sets the polarity)"
            )
        if self.phase_ms <= 0:
            raise ValueError(f"pulse phase_ms must be > 0, got {self.phase_ms!r}")
        if self.shape not in ("biphasic", "monophasic"):
            raise ValueError(f"pulse shape must be 'biphasic' or 'monophasic', got {self.shape!r}")

    @property
    def duration_ms(self) -> float:
        return self.phase_ms * (2 if self.shape == "biphasic" else 1) + (self.gap_ms if self.shape == "biphasic" else 0)


@dataclass(frozen=True)
class NeuronDrive:
    """Direct stimulation of a system's neurons for one window, without the MEA: values written into per-neuron
    variables of the neurons' equations before the window (the reference circuits' input current ``I_ext``, the
    lateral line's afferent rates). Envs return it from ``_stimulus``; :class:`~livn_rl.envs.LivnEnv` records it
    (``info["driven_neurons"]``, the rendered frame) and writes it into the simulation.

    :param values: variable name -> a Brian2 quantity in the variable's units (plain numbers for dimensionless
        variables), a scalar or one value per neuron
    """

    values: Mapping[str, Any]

    def __post_init__(self) -> None:
        if not isinstance(self.values, Mapping) or not self.values or not all(isinstance(k, str) for k in self.values):
            raise ValueError(f"a NeuronDrive needs a mapping of variable names to values, got {self.values!r}")

    def strength(self, n_neurons: int) -> np.ndarray:
        """How strongly each neuron is driven, from 0 (not at all) to 1: every variable's magnitude relative to its
        largest, the strongest variable per neuron."""
        strength = np.zeros(n_neurons)
        for name, values in self.values.items():
            magnitude = np.abs(np.asarray(values, dtype=float))
            if magnitude.shape not in ((), (n_neurons,)):
                raise ValueError(f"NeuronDrive {name} has shape {magnitude.shape}, expected a scalar or ({n_neurons},)")
            if magnitude.max() > 0:
                strength = np.maximum(strength, np.broadcast_to(magnitude / magnitude.max(), (n_neurons,)))
        return strength


def pulse_train(
    channel: int,
    amplitude_ua: float,
    start_ms: float = 0.0,
    n_pulses: int = 1,
    rate_hz: float = 20.0,
    **pulse_kwargs,
) -> list[Pulse]:
    """``n_pulses`` equal pulses on one channel, ``1000 / rate_hz`` ms apart, the first at ``start_ms``."""
    if isinstance(n_pulses, bool) or int(n_pulses) != n_pulses or n_pulses < 1:
        raise ValueError(f"n_pulses must be a whole number >= 1, got {n_pulses!r}")
    if not (math.isfinite(rate_hz) and rate_hz > 0):
        raise ValueError(f"rate_hz must be a finite number > 0, got {rate_hz!r}")
    period = 1000.0 / rate_hz
    return [Pulse(channel, start_ms + k * period, amplitude_ua, **pulse_kwargs) for k in range(int(n_pulses))]


def n_timesteps(duration_ms: float, dt_ms: float) -> int:
    """Number of simulation steps in ``duration_ms``; it must be a positive whole multiple of ``dt_ms``."""
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, (int, float, np.floating, np.integer)):
        raise ValueError(f"duration must be a number of ms, got {duration_ms!r}")
    if not (math.isfinite(duration_ms) and duration_ms > 0):
        raise ValueError(f"duration must be a finite number of ms > 0, got {duration_ms!r}")
    steps = duration_ms / dt_ms
    if abs(steps - round(steps)) > 1e-6 * max(1.0, steps):
        raise ValueError(f"duration {duration_ms!r} ms is not a whole multiple of the time step {dt_ms} ms")
    return int(round(steps))


def render(pulses: Iterable[Pulse], n_channels: int, duration_ms: float, dt_ms: float) -> np.ndarray:
    """Channel currents (uA, signed: cathodic < 0) on the simulation grid, shape ``(n_timesteps, n_channels)``.

    Each phase lasts ``round(phase_ms / dt_ms)`` steps (at least one). A pulse must lie wholly inside the window: a
    pulse cut at the window's end would lose its anodic phase and inject net charge, so it is refused (start it
    earlier, or render a longer window).
    """
    rows = n_timesteps(duration_ms, dt_ms)
    wave = np.zeros((rows, n_channels))
    pulses = list(pulses)
    if not pulses:
        return wave
    channel = np.fromiter((p.channel for p in pulses), np.int64, len(pulses))
    if channel.max() >= n_channels:
        bad = int(channel.max())
        raise ValueError(f"pulse channel {bad} does not exist: the MEA has channels 0..{n_channels - 1}")
    # round() of Python and np.rint both round halves to even, so the grid is the same as pulse by pulse
    start = np.rint(np.fromiter((p.onset_ms for p in pulses), float, len(pulses)) / dt_ms).astype(np.int64)
    if start.max() >= rows:
        late = pulses[int(np.argmax(start))]
        raise ValueError(f"pulse onset {late.onset_ms} ms is outside the {duration_ms} ms window")
    amplitude = np.fromiter((p.amplitude_ua for p in pulses), float, len(pulses))
    shapes: dict[tuple, list[int]] = {}
    for k, p in enumerate(pulses):
        shapes.setdefault((p.phase_ms, p.shape, p.gap_ms), []).append(k)
    for (phase_ms, shape, gap_ms), members in shapes.items():
        phase = max(1, int(round(phase_ms / dt_ms)))
        offsets, signs = np.arange(phase), -np.ones(phase)
        if shape == "biphasic":
            anodic = phase + int(round(gap_ms / dt_ms))
            offsets = np.concatenate([offsets, anodic + np.arange(phase)])
            signs = np.concatenate([signs, np.ones(phase)])
        index = np.asarray(members)
        at = start[index, None] + offsets[None, :]
        crossing = np.flatnonzero((at[:, -1] >= rows) & (amplitude[index] > 0))
        if crossing.size:
            p = pulses[int(index[crossing[0]])]
            steps = int(offsets[-1]) + 1
            raise ValueError(
                f"pulse on channel {p.channel} at {p.onset_ms:g} ms lasts {steps * dt_ms:g} ms and would be cut at the "
                f"end of the {duration_ms:g} ms window, losing {'its anodic phase' if shape == 'biphasic' else 'part of it'}; "
                f"start it by {(rows - steps) * dt_ms:g} ms or lengthen the window"
            )
        inside = at < rows  # only zero-amplitude pulses reach past the end
        values = amplitude[index, None] * signs[None, :]
        np.add.at(wave, (at[inside], np.broadcast_to(channel[index, None], at.shape)[inside]), values[inside])
    return wave


#: What a window's stimulation may be given as: nothing, pulses, or channel currents (uA) on the simulation grid.
StimulusLike = Union[None, Pulse, Sequence[Pulse], np.ndarray]


def as_currents(stimulus: StimulusLike, n_channels: int, duration_ms: float, dt_ms: float) -> np.ndarray | None:
    """One window's stimulation as channel currents (uA): ``None`` for no stimulation (``None`` or no pulses),
    pulses rendered with :func:`render`, arrays as float arrays (their shape is the caller's to check).

    This is the one place where pulses become currents: the engine, the vector envs and the sampler all call it.
    """
    if stimulus is None or (isinstance(stimulus, (list, tuple)) and len(stimulus) == 0):
        return None
    if isinstance(stimulus, Pulse) or (isinstance(stimulus, (list, tuple)) and all(isinstance(p, Pulse) for p in stimulus)):
        pulses = [stimulus] if isinstance(stimulus, Pulse) else list(stimulus)
        return render(pulses, n_channels, duration_ms, dt_ms)
    try:
        return np.asarray(stimulus, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"stimulus must be None, a list of Pulse or an array of channel currents (uA), got {type(stimulus).__name__}"
        ) from None


def stack_copies(stimuli: Sequence[StimulusLike], n_channels: int, duration_ms: float, dt_ms: float) -> np.ndarray:
    """Per-copy stimulation (one :data:`StimulusLike` per copy) as one ``(n_copies, n_timesteps, n_channels)`` array
    of channel currents (uA), zero where a copy has none."""
    rows = n_timesteps(duration_ms, dt_ms)
    stacked = np.zeros((len(stimuli), rows, n_channels))
    for k, stimulus in enumerate(stimuli):
        currents = as_currents(stimulus, n_channels, duration_ms, dt_ms)
        if currents is None:
            continue
        if currents.shape != (rows, n_channels):
            raise ValueError(
                f"stimulus of copy {k} has shape {currents.shape}, expected ({rows}, {n_channels}) "
                f"(timesteps of {dt_ms} ms x channels)"
            )
        stacked[k] = currents
    return stacked


_SPEC = re.compile(
    r"^\s*(?P<channel>\d+)\s*:\s*(?P<amp>[0-9.]+(?:e-?\d+)?)\s*uA\s*@\s*(?P<onset>[0-9.]+)\s*ms"
    r"(?:\s*x\s*(?P<n>\d+)(?:\s*/\s*(?P<rate>[0-9.]+)\s*Hz)?)?\s*$",
    re.IGNORECASE,
)


def parse_pulse_spec(spec: str) -> list[Pulse]:
    """Parse ``CH:AMPuA@ONSETms`` with an optional train ``xN/RATEHz``, e.g. ``5:3uA@500ms`` or ``5:3uA@500msx10/20Hz``."""
    match = _SPEC.match(spec)
    if match is None:
        raise ValueError(
            f"cannot parse stimulus {spec!r}; expected CHANNEL:AMPLITUDEuA@ONSETms, optionally followed by "
            "xCOUNT/RATEHz, e.g. '5:3uA@500ms' or '5:3uA@500msx10/20Hz'"
        )
    n = int(match["n"]) if match["n"] else 1
    rate = float(match["rate"]) if match["rate"] else 20.0
    return pulse_train(int(match["channel"]), float(match["amp"]), float(match["onset"]), n, rate)
