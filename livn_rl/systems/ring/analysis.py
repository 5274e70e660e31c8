"""Reading the ring attractor: decode the bump from spikes, and the reference measures of a trial.

- :func:`decode_bump`: the population vector of the excitatory spikes in sliding windows: the bump's angle and its
  strength ``|sum_i n_i exp(i theta_i)| / sum_i n_i`` (0: no bump or uniform activity, 1: all spikes at one angle).
- :func:`termination`: the reference criterion. Windows of 500 ms stepped by 50 ms over the excitatory spikes after
  the cue; the state ends in the first window where some neuron fires above 100 Hz (a runaway burst) or no neuron
  fires above 12 Hz (the bump has died). It reports the failing window's start, in ms of the trial.
- :func:`termination_after_cue_s`: the same criterion counted exactly as the original notebook counts it, on the
  time steps after the cue, and reported as it reports it: the failing window's centre in seconds after the cue.
- :func:`bump_width` and :func:`bump_drift`: the full width at half maximum of the bump's rate profile (aligned on
  the decoded angle, averaged over the delay) and how far the decoded angle moved during the delay.

All functions take spike indices and times (ms) of the excitatory cells, so they work on any recording, also on
synthetic spikes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from livn_rl.checks import check_number
from livn_rl.systems.ring.network import wrap_deg

__all__ = [
    "EXTINCT_HZ", "RUNAWAY_HZ", "STEP_MS", "Termination", "WINDOW_MS", "bump_drift", "bump_width", "decode_bump",
    "population_vector", "termination", "termination_after_cue_s", "window_rates",
]

#: The reference criterion: 500 ms windows stepped by 50 ms; runaway above 100 Hz, extinct when none above 12 Hz.
WINDOW_MS = 500.0
STEP_MS = 50.0
RUNAWAY_HZ = 100.0
EXTINCT_HZ = 12.0


def _spikes(neuron_i, t_ms, n_exc: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.asarray(neuron_i, dtype=np.int64).ravel()
    t = np.asarray(t_ms, dtype=float).ravel()
    if i.shape != t.shape:
        raise ValueError(f"neuron indices and spike times must have the same length, got {i.size} and {t.size}")
    if isinstance(n_exc, bool) or not isinstance(n_exc, (int, np.integer)) or n_exc < 1:
        raise ValueError(f"n_exc must be a whole number >= 1, got {n_exc!r}")
    if not np.all(np.isfinite(t)):
        raise ValueError("spike times must be finite")
    keep = (i >= 0) & (i < n_exc)  # inhibitory cells (indices >= n_exc) do not vote
    return i[keep], t[keep]


def _window_starts(start_ms: float, stop_ms: float, window_ms: float, step_ms: float) -> np.ndarray:
    check_number("window_ms", window_ms, 0.0, low_open=True)
    check_number("step_ms", step_ms, 0.0, low_open=True)
    check_number("start_ms", start_ms)
    check_number("stop_ms", stop_ms)
    n = int(np.floor((stop_ms - start_ms - window_ms) / step_ms + 1e-9)) + 1
    return start_ms + step_ms * np.arange(max(n, 0))


def window_rates(neuron_i, t_ms, n_exc: int, starts: np.ndarray, window_ms: float) -> np.ndarray:
    """``(len(starts), n_exc)`` firing rates (Hz) of the excitatory cells in ``[start, start + window_ms)``."""
    i, t = _spikes(neuron_i, t_ms, n_exc)
    order = np.argsort(t, kind="stable")
    i, t = i[order], t[order]
    lo = np.searchsorted(t, starts, side="left")
    hi = np.searchsorted(t, starts + window_ms, side="left")
    rates = np.zeros((len(starts), n_exc))
    for k, (a, b) in enumerate(zip(lo, hi)):
        rates[k] = np.bincount(i[a:b], minlength=n_exc)
    return rates / (window_ms / 1000.0)


def population_vector(counts: np.ndarray, angles_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Angle (degrees in [0, 360), NaN without spikes) and strength (0..1) of the population vector of each row of
    ``counts`` (``(..., n_exc)`` spike counts or rates of cells preferring ``angles_deg``)."""
    counts = np.asarray(counts, dtype=float)
    z = counts @ np.exp(1j * np.radians(np.asarray(angles_deg, dtype=float)))
    total = counts.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        strength = np.where(total > 0, np.abs(z) / total, 0.0)
    angle = np.where(total > 0, np.degrees(np.angle(z)) % 360.0, np.nan)
    return angle, strength


def decode_bump(neuron_i, t_ms, n_exc: int, start_ms: float, stop_ms: float, window_ms: float = 100.0,
                step_ms: float = 50.0) -> dict[str, np.ndarray]:
    """The bump's angle and strength over time, from the population vector of the excitatory spikes.

    :param neuron_i: neuron index of every spike (excitatory cells are ``0 .. n_exc - 1`` at ``360 i / n_exc`` deg)
    :param t_ms: time of every spike (ms)
    :param n_exc: number of excitatory cells
    :param start_ms: start of the first window (ms)
    :param stop_ms: the last window ends at or before this time (ms)
    :param window_ms: window length (ms)
    :param step_ms: step between windows (ms)
    :returns: ``t_ms`` (window centres), ``angle_deg`` (NaN for windows without spikes), ``strength`` and
        ``max_rate_hz`` (the fastest cell of each window)
    """
    starts = _window_starts(start_ms, stop_ms, window_ms, step_ms)
    rates = window_rates(neuron_i, t_ms, n_exc, starts, window_ms)
    angle, strength = population_vector(rates, 360.0 * np.arange(n_exc) / n_exc)
    return {"t_ms": starts + window_ms / 2, "angle_deg": angle, "strength": strength,
            "max_rate_hz": rates.max(axis=1) if rates.size else np.zeros(0)}


@dataclass(frozen=True)
class Termination:
    """When and why the bump state ended, by the reference criterion.

    :param time_ms: start of the first window that failed the criterion, or ``stop_ms`` if none did
    :param reason: ``"runaway"`` (a cell above ``runaway_hz``), ``"extinct"`` (no cell above ``extinct_hz``) or
        ``"persisted"`` (every window passed: the state outlived the trial; ``time_ms`` is then a lower bound)
    :param duration_ms: ``time_ms`` minus the end of the cue
    """

    time_ms: float
    reason: str
    duration_ms: float

    def to_dict(self) -> dict:
        return asdict(self)


def termination(neuron_i, t_ms, n_exc: int, cue_stop_ms: float, stop_ms: float, window_ms: float = WINDOW_MS,
                step_ms: float = STEP_MS, runaway_hz: float = RUNAWAY_HZ, extinct_hz: float = EXTINCT_HZ) -> Termination:
    """The reference termination criterion on the excitatory spikes after the cue.

    Windows ``[s, s + window_ms)`` with ``s = cue_stop_ms, cue_stop_ms + step_ms, ...`` up to ``stop_ms``; the
    state ends in the first window where some cell's rate exceeds ``runaway_hz`` or no cell's rate exceeds
    ``extinct_hz``.

    :param neuron_i: neuron index of every spike (only ``0 .. n_exc - 1``, the excitatory cells, count)
    :param t_ms: spike times (ms)
    :param n_exc: number of excitatory cells
    :param cue_stop_ms: end of the cue (ms): the first window starts there
    :param stop_ms: end of the trial (ms)
    """
    check_number("runaway_hz", runaway_hz, 0.0, low_open=True)
    check_number("extinct_hz", extinct_hz, 0.0, runaway_hz, high_open=True)
    starts = _window_starts(cue_stop_ms, stop_ms, window_ms, step_ms)
    if starts.size == 0:
        raise ValueError(f"no {window_ms:g} ms window fits between the cue's end ({cue_stop_ms:g} ms) and the end of "
                         f"the trial ({stop_ms:g} ms)")
    peak = window_rates(neuron_i, t_ms, n_exc, starts, window_ms).max(axis=1)
    runaway, extinct = peak > runaway_hz, ~(peak > extinct_hz)
    failed = np.flatnonzero(runaway | extinct)
    if failed.size == 0:
        return Termination(float(stop_ms), "persisted", float(stop_ms - cue_stop_ms))
    k = int(failed[0])
    return Termination(float(starts[k]), "runaway" if runaway[k] else "extinct", float(starts[k] - cue_stop_ms))


def termination_after_cue_s(neuron_i, t_ms, n_exc: int, cue_stop_ms: float, stop_ms: float, dt_ms: float = 0.1,
                            window_ms: float = WINDOW_MS, step_ms: float = STEP_MS, runaway_hz: float = RUNAWAY_HZ,
                            extinct_hz: float = EXTINCT_HZ) -> tuple[float, str]:
    """The termination time in the original notebook's convention: seconds after the end of the cue.

    The original takes the ``n = (stop - cue_stop) / dt`` time steps after the cue and, for window centres
    ``c = h, h + s, ...`` below ``n - h`` (``h`` = half a window, ``s`` = the step, in steps), counts each cell's
    spikes in steps ``c - h`` to ``c + h`` *inclusive* (one step more than a window), divided by the window's
    length. It returns ``c dt`` in seconds at the first window where some cell exceeds ``runaway_hz`` or none
    exceeds ``extinct_hz``, and ``n dt`` (the trial's end after the cue) if none does. So the answer is about
    half a window later than :func:`termination`'s window start (measured from the cue's end), the last window it
    examines ends a step before ``stop - step_ms``, and a window can hold one more spike.

    :returns: ``(seconds after the cue, reason)`` with reason ``"runaway"``, ``"extinct"`` or ``"persisted"``
    """
    check_number("runaway_hz", runaway_hz, 0.0, low_open=True)
    check_number("extinct_hz", extinct_hz, 0.0, runaway_hz, high_open=True)
    check_number("dt_ms", dt_ms, 0.0, low_open=True)
    i, t = _spikes(neuron_i, t_ms, n_exc)
    n_steps = int(round((stop_ms - cue_stop_ms) / dt_ms))
    window, step = int(round(window_ms / dt_ms)), int(round(step_ms / dt_ms))
    half = window // 2
    if window < 1 or step < 1 or n_steps - half <= half:
        raise ValueError(f"no {window_ms:g} ms window fits between the cue's end ({cue_stop_ms:g} ms) and the end of "
                         f"the trial ({stop_ms:g} ms)")
    k = np.round((t - cue_stop_ms) / dt_ms).astype(np.int64)  # the step of each spike, counted from the cue's end
    keep = (k >= 0) & (k < n_steps)
    order = np.argsort(k[keep], kind="stable")
    k, i = k[keep][order], i[keep][order]
    seconds_per_window = window * dt_ms / 1000.0
    for centre in range(half, n_steps - half, step):
        lo, hi = np.searchsorted(k, centre - half, "left"), np.searchsorted(k, centre + half, "right")
        peak = np.bincount(i[lo:hi], minlength=n_exc).max() / seconds_per_window
        if peak > runaway_hz:
            return centre * dt_ms / 1000.0, "runaway"
        if not peak > extinct_hz:
            return centre * dt_ms / 1000.0, "extinct"
    return n_steps * dt_ms / 1000.0, "persisted"


def bump_width(neuron_i, t_ms, n_exc: int, start_ms: float, stop_ms: float, bin_ms: float = 100.0) -> float:
    """Full width at half maximum (degrees) of the bump between ``start_ms`` and ``stop_ms``: the rate profile of
    each ``bin_ms`` bin is rotated so its population vector points at 0, the profiles are averaged, and the width
    is the angular extent above ``(max + min) / 2``. NaN without spikes."""
    starts = _window_starts(start_ms, stop_ms, bin_ms, bin_ms)
    rates = window_rates(neuron_i, t_ms, n_exc, starts, bin_ms)
    angle, _ = population_vector(rates, 360.0 * np.arange(n_exc) / n_exc)
    # shift each bin's centre to cell 0, rounding half up after dropping float noise: a bump centred between two cells
    # must align the same way in every bin (Python's round() goes to even and flips between x.4999.. and x.5000..)
    shifts = np.floor(np.round(angle * n_exc / 360.0, 6) + 0.5)
    rows = [np.roll(r, -int(s)) for r, s in zip(rates, shifts) if np.isfinite(s)]
    if not rows:
        return float("nan")
    profile = np.roll(np.mean(rows, axis=0), n_exc // 2)  # the bump's centre in the middle
    half = (profile.max() + profile.min()) / 2
    if profile.max() == profile.min():
        return 360.0
    return float(np.count_nonzero(profile > half) * 360.0 / n_exc)


def bump_drift(decoded: dict[str, np.ndarray], start_ms: float, stop_ms: float) -> float:
    """Signed change (degrees, in [-180, 180)) of the decoded angle from the first to the last window of
    :func:`decode_bump` whose centre lies in ``[start_ms, stop_ms]`` and that has spikes; NaN if fewer than two."""
    t, angle = decoded["t_ms"], decoded["angle_deg"]
    inside = np.flatnonzero((t >= start_ms) & (t <= stop_ms) & np.isfinite(angle))
    if inside.size < 2:
        return float("nan")
    return float(wrap_deg(angle[inside[-1]] - angle[inside[0]]))
