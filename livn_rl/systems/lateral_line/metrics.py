"""Population-vector map quality of the TS place map.

TS neuron ``k`` nominally maps position ``x_k = (k + 1/2) L / n`` of a body of length ``L``. Positions are phases
``theta = 2 pi x / L`` (the body as a circular track, so the population vector is defined everywhere), and the decoded
phase of a window with TS spike counts ``c_k`` is ``arg(sum_k c_k exp(i theta_k))``. The error of a window is the
decoded phase minus the source's phase, wrapped to ``(-pi, pi]``. A window is valid if TS fired at least
``min_spikes`` spikes in it. Then:

- ``sigma_theta``: root-mean-square error of the valid windows (radians; ``2 pi / sqrt(12) = 1.81`` for chance);
- ``delta_trial``: trial-to-trial variability, ``sqrt(mean((e_{k+1} - e_k)^2) / 2)`` over consecutive trials at the
  same stimulus (test repeats) or consecutive training trials, both valid (radians);
- ``valid_fraction``: the fraction of valid windows.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CHANCE_SIGMA_THETA", "decode", "decoded_position_cm", "map_quality", "tuning_curves", "wrap"]

#: sigma_theta of a decoder that guesses uniformly at random.
CHANCE_SIGMA_THETA = float(2 * np.pi / np.sqrt(12))


def wrap(angle: np.ndarray) -> np.ndarray:
    """Angles wrapped to ``(-pi, pi]``."""
    return np.angle(np.exp(1j * np.asarray(angle, dtype=float)))


def decode(counts: np.ndarray, preferred_cm: np.ndarray, length_cm: float) -> np.ndarray:
    """The population-vector phase (radians, ``(-pi, pi]``) of TS spike counts ``(..., n_TS)``; NaN without spikes."""
    counts = np.asarray(counts, dtype=float)
    vector = counts @ np.exp(2j * np.pi * np.asarray(preferred_cm) / length_cm)
    return np.where(counts.sum(axis=-1) > 0, np.angle(vector), np.nan)


def decoded_position_cm(counts: np.ndarray, preferred_cm: np.ndarray, length_cm: float) -> np.ndarray:
    """The decoded position along the body (cm, in ``[0, L)``), NaN without spikes."""
    return np.mod(decode(counts, preferred_cm, length_cm), 2 * np.pi) * length_cm / (2 * np.pi)


def map_quality(counts: np.ndarray, true_cm: np.ndarray, preferred_cm: np.ndarray, length_cm: float,
                min_spikes: int = 1) -> dict[str, float]:
    """``sigma_theta``, ``delta_trial``, ``valid_fraction`` and ``mean_abs_error_cm`` of TS counts.

    :param counts: TS spike counts ``(n_trials, ..., n_TS)``; axis 0 orders the trials for ``delta_trial``
    :param true_cm: the source position of every window, shaped like ``counts`` without its last axis
    :param preferred_cm: nominal position of each TS neuron (cm)
    :param length_cm: body length (cm)
    :param min_spikes: spikes a window needs to be valid
    """
    counts = np.asarray(counts, dtype=float)
    true_cm = np.broadcast_to(np.asarray(true_cm, dtype=float), counts.shape[:-1])
    valid = counts.sum(axis=-1) >= min_spikes
    error = wrap(decode(counts, preferred_cm, length_cm) - 2 * np.pi * true_cm / length_cm)
    error = np.where(valid, error, np.nan)
    pairs = wrap(error[1:] - error[:-1])
    pairs = pairs[np.isfinite(pairs)]
    ok = error[np.isfinite(error)]
    return {
        "sigma_theta": float(np.sqrt(np.mean(ok**2))) if ok.size else float("nan"),
        "delta_trial": float(np.sqrt(np.mean(pairs**2) / 2)) if pairs.size else float("nan"),
        "valid_fraction": float(valid.mean()) if valid.size else 0.0,
        "mean_abs_error_cm": float(np.mean(np.abs(ok)) * length_cm / (2 * np.pi)) if ok.size else float("nan"),
    }


def tuning_curves(counts: np.ndarray, true_cm: np.ndarray, length_cm: float, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean TS counts per position bin: bin centres (cm) and ``(n_bins, n_TS)`` means (NaN for empty bins)."""
    counts = np.asarray(counts, dtype=float)
    true_cm = np.broadcast_to(np.asarray(true_cm, dtype=float), counts.shape[:-1]).ravel()
    counts = counts.reshape(-1, counts.shape[-1])
    edges = np.linspace(0.0, length_cm, n_bins + 1)
    which = np.clip(np.digitize(true_cm, edges) - 1, 0, n_bins - 1)
    sums = np.zeros((n_bins, counts.shape[1]))
    np.add.at(sums, which, counts)
    seen = np.bincount(which, minlength=n_bins)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (edges[:-1] + edges[1:]) / 2, np.where(seen > 0, sums / np.maximum(seen, 1), np.nan)
