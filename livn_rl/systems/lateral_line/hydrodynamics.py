"""Hydrodynamic input: the pressure-gradient drive of a vibrating sphere along the lateral line, and afferent rates.

A sphere of radius ``a`` vibrating with velocity amplitude ``U = 2 pi f A`` is a dipole source. At a point of the
line a distance ``Y`` from the sphere's path and ``x - s`` along the body from it (``rho = (x - s) / Y``), the
pressure gradient along the line that drives the canal neuromasts is (Coombs, Hastings & Finneran 1996; Curcic-Blake
& van Netten 2006)::

    dp/dx = rho_w omega U a^3 / (2 Y^3) * (cos(phi) psi_e(rho) + sin(phi) psi_o(rho))
    psi_e(rho) = (1 - 2 rho^2) / (1 + rho^2)^(5/2)       vibration along the body (phi = 0)
    psi_o(rho) = -3 rho / (1 + rho^2)^(5/2)              vibration across it (phi = 90 deg)

The even wavelet peaks under the source with width ~ ``Y`` and two negative side lobes at ``|rho| = 1.22``; its
amplitude falls as ``1 / Y^3``. :func:`drive` returns the gradient divided by the peak gradient of the same source at
``reference_distance_cm``, so a drive of 1 is the strongest input at the reference distance.

Afferent rates (:func:`afferent_rates`), with ``g`` the drive, ``r0`` the baseline rate and ``G`` the gain:

- ``raw``: ``r = r0 + G |g|`` (the rate follows the local amplitude of the drive);
- ``modulation``: ``r(t) = r0 + G g sin(2 pi f t)`` (phase-locked; afferents under opposite lobes fire in antiphase);

with baseline subtraction, the drive common to all afferents (its mean over the line, of ``|g|`` in raw mode)
is removed first, and negative raw drives are clipped to 0. Training noise is added to ``r``; then the rate is
multiplied by ``rate_gain`` and ``baseline_subtract_hz`` is subtracted from its steady part, and rates are clipped
to ``[0, max_rate_hz]``.
"""

from __future__ import annotations

import numpy as np

from livn_rl.checks import check_number
from livn_rl.systems.lateral_line.config import LineConfig, SourceConfig

__all__ = [
    "WATER_DENSITY_KG_M3", "afferent_positions_cm", "afferent_rates", "drive", "pressure_gradient_pa_per_m", "wavelets",
]

WATER_DENSITY_KG_M3 = 1000.0


def afferent_positions_cm(line: LineConfig) -> np.ndarray:
    """Positions of the ``line.n`` afferents along the body (cm), head at 0, evenly spaced by ``L / n``."""
    return (np.arange(line.n) + 0.5) * line.body_length_cm / line.n


def wavelets(rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The even and odd dipole wavelets ``psi_e(rho)`` and ``psi_o(rho)``."""
    rho = np.asarray(rho, dtype=float)
    denominator = (1.0 + rho**2) ** 2.5
    return (1.0 - 2.0 * rho**2) / denominator, -3.0 * rho / denominator


def pressure_gradient_pa_per_m(x_cm: np.ndarray, position_cm: float, distance_cm: float, source: SourceConfig) -> np.ndarray:
    """The pressure gradient along the line (Pa/m) at ``x_cm`` for a source at ``position_cm``, ``distance_cm`` away."""
    position_cm = check_number("source position_cm", position_cm)
    distance_cm = check_number("source distance_cm (a distance)", distance_cm, 0.0, low_open=True)
    omega = 2.0 * np.pi * source.vibration_hz
    velocity = omega * source.vibration_amplitude_cm * 1e-2
    a, y = source.sphere_radius_cm * 1e-2, distance_cm * 1e-2
    even, odd = wavelets((np.asarray(x_cm, dtype=float) - position_cm) / distance_cm)
    phi = np.deg2rad(source.vibration_angle_deg)
    return WATER_DENSITY_KG_M3 * omega * velocity * a**3 / (2.0 * y**3) * (np.cos(phi) * even + np.sin(phi) * odd)


def drive(x_cm: np.ndarray, position_cm: float, distance_cm: float, source: SourceConfig) -> np.ndarray:
    """The pressure-gradient drive at ``x_cm``, in units of the peak drive at ``source.reference_distance_cm``."""
    reference = np.abs(pressure_gradient_pa_per_m(
        np.linspace(-3, 3, 601) * source.reference_distance_cm, 0.0, source.reference_distance_cm, source
    )).max()
    return pressure_gradient_pa_per_m(x_cm, position_cm, distance_cm, source) / reference


def afferent_rates(line: LineConfig, source: SourceConfig, position_cm: float | None, distance_cm: float,
                   noise_hz: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The afferents' rate components ``(steady_hz, modulated_hz)``: the rate is ``steady + modulated * sin(2 pi f t)``.

    :param line: the lateral line
    :param source: the vibrating sphere
    :param position_cm: the source's position along the body (cm); ``None`` for no source (baseline only)
    :param distance_cm: its distance from the line (cm, > 0)
    :param noise_hz: per-afferent noise added to the steady rate (Hz), or ``None``
    """
    steady = np.full(line.n, float(line.baseline_rate_hz))
    modulated = np.zeros(line.n)
    if position_cm is not None:
        g = drive(afferent_positions_cm(line), position_cm, distance_cm, source)
        if line.rate_mode == "raw":
            g = np.abs(g)
            if line.baseline_subtraction:
                g = np.maximum(g - g.mean(), 0.0)
            steady = steady + line.gain_hz * g
        else:
            if line.baseline_subtraction:
                g = g - g.mean()
            modulated = line.gain_hz * g
    if noise_hz is not None:
        steady = steady + noise_hz
    steady = steady * line.rate_gain - line.baseline_subtract_hz
    modulated = modulated * line.rate_gain
    return np.clip(steady, 0.0, line.max_rate_hz), np.clip(modulated, -line.max_rate_hz, line.max_rate_hz)
