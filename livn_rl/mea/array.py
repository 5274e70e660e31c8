"""The simulated multi-electrode array (MEA): geometry, stimulation and recording.

Stimulation. A current ``I`` (uA) injected at electrode ``c`` sets the extracellular potential at distance ``r`` to
``V_e = I / (4 pi sigma r_e)`` with ``r_e = sqrt(r^2 + a^2)`` (point-source volume conductor; sigma: medium
conductivity; ``a``: electrode radius, which keeps it finite at the electrode). What excites a neuron is the
activating function, the second spatial derivative of ``V_e`` along its neurites, which falls as ``1 / r^3``: the
cathodic phase depolarises the membrane facing the electrode, and the anodic phase the flanking membrane ("virtual
cathodes"), several times less effectively. A point neuron has no neurites, so it receives a depolarising current
``g_couple * |V_e| * min(1, (r_act / r_e)^2)`` during cathodic current and ``anodic_efficacy`` times that during
anodic current: the potential itself near the electrode, the activating-function falloff beyond
``activation_radius_um``. No stimulus hyperpolarises a whole cell, so membranes stay physiological. The current is
given for a 100 pF cell; systems scale it with each cell's capacitance so that every cell type sees the same voltage
change. With the defaults, a biphasic pulse of 0.2 ms per phase directly fires the cells within about 50 um at 3 uA,
100 um at 10 uA, 120 um at 20 uA and 170 um at 50 uA; synapses carry the response further.

Recording. A spike of a neuron at distance ``r`` reaches an electrode with amplitude ``A0 * r0 / r`` (uV) up to
``dipole_distance_um`` and with the dipole falloff ``1 / r^2`` beyond (``r`` floored at ``r0``). The channel's noise is
Gaussian (``noise_uv`` rms, band-limited to ``noise_bandwidth_hz``) and the detector fires at ``threshold_sd`` noise
SDs, so a spike is seen with probability ``Phi((A - theta) / sigma)``: distant cells are missed, and noise alone
crosses the threshold at Rice's rate ``B / sqrt(3) * exp(-theta^2 / (2 sigma^2))`` per channel (false positives,
unit ``-1``). After each detection a channel is blind for ``dead_time_ms``, as hardware spike detectors are.

Observing spikes recorded elsewhere. :meth:`MEA.channel_recording` (per-channel dicts, as livn's
``MEA.channel_recording`` returns), :meth:`MEA.channel_spikes` (flat arrays) and :meth:`MEA.channel_spikes_of_trials`
(many trials at once) apply this recording model, through the
engine's own :class:`~livn_rl.mea.ChannelDetector`, to neuron-level spikes from any source: a livn dataset, a
livn_rl dataset, another simulator. Given the same spikes and the same random stream they detect exactly what the
engine detects.

Amplitude limit. Channel currents are limited to ``max_current_ua`` (50 uA by default): 10 nC per 0.2 ms phase,
within the charge-injection limit of the 30 um titanium-nitride electrodes of commercial MEAs. Larger currents
raise a ``ValueError``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from livn_rl.atomic import write_text
from livn_rl.mea.detection import ChannelDetector

__all__ = ["MEA"]


@dataclass
class MEA:
    """Electrode positions plus the physics that couple them to the culture.

    :param positions_um: ``(n_channels, 3)`` electrode centres (um); the culture lies above ``z = 0``
    :param electrode_radius_um: radius of the electrode disc (um)
    :param conductivity_S_per_m: tissue (medium) conductivity sigma (S/m)
    :param coupling_uS: effective membrane conductance per unit of extracellular potential, for a 100 pF cell (uS)
    :param activation_radius_um: distance beyond which the effective current falls as the activating function (um)
    :param anodic_efficacy: depolarisation by anodic current relative to cathodic current (0..1)
    :param max_current_ua: largest allowed channel current magnitude (uA)
    :param spike_amplitude_uv: spike amplitude ``A0`` at ``reference_distance_um`` (uV)
    :param reference_distance_um: distance ``r0`` below which the amplitude saturates (um)
    :param dipole_distance_um: distance beyond which the amplitude falls as ``1 / r^2`` (um)
    :param noise_uv: rms channel noise (uV)
    :param threshold_sd: detection threshold in noise SDs
    :param noise_bandwidth_hz: bandwidth of the channel noise, for the false-positive rate (Hz)
    :param dead_time_ms: time a channel ignores further threshold crossings after a detection (ms)
    """

    positions_um: np.ndarray
    electrode_radius_um: float = 15.0
    conductivity_S_per_m: float = 0.3
    coupling_uS: float = 0.6
    activation_radius_um: float = 75.0
    anodic_efficacy: float = 0.2
    max_current_ua: float = 50.0
    spike_amplitude_uv: float = 250.0
    reference_distance_um: float = 20.0
    dipole_distance_um: float = 50.0
    noise_uv: float = 6.0
    threshold_sd: float = 4.5
    noise_bandwidth_hz: float = 3000.0
    dead_time_ms: float = 1.0

    def __post_init__(self) -> None:
        positions = np.asarray(self.positions_um, dtype=float)
        if positions.ndim != 2 or positions.shape[1] not in (2, 3) or positions.shape[0] < 1:
            raise ValueError(f"MEA positions_um must have shape (n_channels, 3), got {positions.shape}")
        if positions.shape[1] == 2:
            positions = np.column_stack([positions, np.zeros(len(positions))])
        if not np.all(np.isfinite(positions)):
            raise ValueError("MEA positions_um must be finite")
        self.positions_um = positions
        for name in (
            "electrode_radius_um", "conductivity_S_per_m", "coupling_uS", "activation_radius_um", "max_current_ua",
            "spike_amplitude_uv", "reference_distance_um", "dipole_distance_um", "noise_uv", "threshold_sd",
            "noise_bandwidth_hz",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"MEA.{name} must be a finite number > 0, got {value!r}")
        if isinstance(self.dead_time_ms, bool) or not (
            isinstance(self.dead_time_ms, (int, float)) and math.isfinite(self.dead_time_ms) and self.dead_time_ms >= 0
        ):
            raise ValueError(f"MEA.dead_time_ms must be a finite number >= 0, got {self.dead_time_ms!r}")
        if isinstance(self.anodic_efficacy, bool) or not (
            isinstance(self.anodic_efficacy, (int, float)) and 0 <= self.anodic_efficacy <= 1
        ):
            raise ValueError(f"MEA.anodic_efficacy must be a number in [0, 1], got {self.anodic_efficacy!r}")

    # ----------------------------------------------------------------------------------------------- geometry
    @classmethod
    def grid(
        cls, rows: int, cols: int, pitch_um: float, center_um: tuple[float, float] = (0.0, 0.0), z_um: float = 0.0, **kwargs
    ) -> "MEA":
        """A ``rows x cols`` grid with ``pitch_um`` spacing, centred on ``center_um``; channels in row-major order."""
        if int(rows) != rows or int(cols) != cols or rows < 1 or cols < 1:
            raise ValueError(f"MEA.grid needs whole rows >= 1 and cols >= 1, got rows={rows!r}, cols={cols!r}")
        if not pitch_um > 0:
            raise ValueError(f"MEA.grid needs pitch_um > 0, got {pitch_um!r}")
        ys, xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        x = (xs.ravel() - (cols - 1) / 2) * pitch_um + center_um[0]
        y = (ys.ravel() - (rows - 1) / 2) * pitch_um + center_um[1]
        positions = np.column_stack([x, y, np.full(x.size, float(z_um))])
        return cls(positions, **kwargs)

    @property
    def n_channels(self) -> int:
        return int(self.positions_um.shape[0])

    def distances_um(self, neuron_positions_um: np.ndarray) -> np.ndarray:
        """``(n_channels, n_neurons)`` electrode-to-soma distances (um)."""
        diff = self.positions_um[:, None, :] - np.asarray(neuron_positions_um, dtype=float)[None, :, :]
        return np.sqrt(np.sum(diff**2, axis=-1))

    def spike_amplitude(self, distance_um: np.ndarray) -> np.ndarray:
        """Amplitude (uV) of a spike recorded ``distance_um`` away: ``1 / r`` near, dipole ``1 / r^2`` far."""
        r = np.maximum(np.asarray(distance_um, dtype=float), self.reference_distance_um)
        near = self.spike_amplitude_uv * self.reference_distance_um / r
        far = self.spike_amplitude_uv * self.reference_distance_um * self.dipole_distance_um / r**2
        return np.where(r <= self.dipole_distance_um, near, far)

    @property
    def reach_um(self) -> float:
        """Distance at which a spike is detected half of the time (amplitude equals the threshold)."""
        theta = self.threshold_sd * self.noise_uv
        a0r0 = self.spike_amplitude_uv * self.reference_distance_um
        if a0r0 / self.dipole_distance_um <= theta:
            return a0r0 / theta
        return math.sqrt(a0r0 * self.dipole_distance_um / theta)

    def cells_in_reach(self, neuron_positions_um: np.ndarray) -> np.ndarray:
        """Number of cells within :attr:`reach_um` of each electrode."""
        return (self.distances_um(neuron_positions_um) <= self.reach_um).sum(axis=1)

    def check_coverage(self, neuron_positions_um: np.ndarray) -> None:
        """Raise ``ValueError`` naming the electrodes that have no cell within reach."""
        counts = self.cells_in_reach(neuron_positions_um)
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            raise ValueError(
                f"electrode(s) {empty.tolist()} have no cell within reach ({self.reach_um:.0f} um): "
                "move them over the culture or change the layout"
            )

    # -------------------------------------------------------------------------------------------- stimulation
    def stimulation_matrix(self, neuron_positions_um: np.ndarray) -> np.ndarray:
        """``(n_channels, n_neurons)`` signed drive (nA per uA, 100 pF cell): positive where the current depolarises.

        Sum it over channels, then pass it through :meth:`membrane_current`.
        """
        r_um = np.sqrt(self.distances_um(neuron_positions_um) ** 2 + self.electrode_radius_um**2)
        v_e_mv_per_ua = 1e-6 / (4 * np.pi * self.conductivity_S_per_m * r_um * 1e-6) * 1e3
        activating = np.minimum(1.0, (self.activation_radius_um / r_um) ** 2)
        return -self.coupling_uS * v_e_mv_per_ua * activating  # uS * mV = nA; cathodic (negative) current depolarises

    def membrane_current(self, drive_na: np.ndarray) -> np.ndarray:
        """The depolarising current (nA) a neuron receives from its summed signed drive."""
        return np.where(drive_na > 0, drive_na, -self.anodic_efficacy * drive_na)

    def check_current(self, channel_current_ua: np.ndarray) -> None:
        """Raise ``ValueError`` if any current is not finite or exceeds :attr:`max_current_ua`."""
        current = np.asarray(channel_current_ua)
        if not np.all(np.isfinite(current)):
            bad = np.argwhere(~np.isfinite(current))[0].tolist()
            raise ValueError(f"stimulus contains a non-finite current {current[tuple(bad)]!r} at index {bad}")
        peak = float(np.max(np.abs(current))) if current.size else 0.0
        if peak > self.max_current_ua:
            where = np.unravel_index(int(np.argmax(np.abs(current))), current.shape)
            raise ValueError(
                f"stimulus current {current[where]:.3g} uA at index {list(map(int, where))} exceeds the MEA limit "
                f"of +-{self.max_current_ua:g} uA"
            )

    # ---------------------------------------------------------------------------------------------- recording
    @property
    def false_positive_rate_hz(self) -> float:
        """Rate at which noise alone crosses the detection threshold on one channel (Rice's formula)."""
        return self.noise_bandwidth_hz / math.sqrt(3.0) * math.exp(-(self.threshold_sd**2) / 2.0)

    def detection_probability(self, neuron_positions_um: np.ndarray) -> np.ndarray:
        """``(n_channels, n_neurons)`` probability that a channel detects one spike of each neuron."""
        amplitude = self.spike_amplitude(self.distances_um(neuron_positions_um))
        z = (amplitude - self.threshold_sd * self.noise_uv) / self.noise_uv
        return 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))

    def channel_spikes(self, coordinates, it, t, *, t_start_ms: float = 0.0, t_end_ms: float | None = None,
                       seed: int | np.random.Generator = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the electrodes detect of neuron-level spikes recorded elsewhere: arrays of the channel, time (ms) and
        unit (the neuron id, ``-1`` for a noise crossing) of every detection, in time order.

        Each spike is detected with the probability of :meth:`detection_probability`, noise crossings are drawn over
        ``[t_start_ms, t_end_ms)`` and each channel is blind for :attr:`dead_time_ms` after a detection, by the
        engine's own :class:`~livn_rl.mea.ChannelDetector`.

        :param coordinates: the neurons' positions: ``(n, 3)`` (um; neuron id = row) or livn's ``(n, 4)`` rows of
            ``[id, x, y, z]``
        :param it: neuron id of every spike
        :param t: time of every spike (ms)
        :param t_start_ms: start of the recording (ms)
        :param t_end_ms: end of the recording (ms; default: just after the last spike, or ``t_start_ms``)
        :param seed: seed or generator of the detection's random stream (the engine uses
            ``np.random.default_rng([reset_seed, 1, copy])``)
        """
        positions, ids = _neuron_table(coordinates)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        return _detect_trial(self._detector(positions), ids, it, t, t_start_ms, t_end_ms, rng)

    def channel_spikes_of_trials(self, coordinates, trials_it, trials_t, t_end_ms, *,
                                 seed: int = 0) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """:meth:`channel_spikes` of many trials at once (each from time 0, a fresh recording): the detector is built
        once, so a dataset is observed several times faster than trial by trial.

        :param coordinates: the neurons' positions, as for :meth:`channel_spikes`
        :param trials_it: one sequence of neuron ids per trial
        :param trials_t: one sequence of spike times (ms) per trial
        :param t_end_ms: the trials' length (ms): one number, or one per trial
        :param seed: trial ``k`` draws from ``np.random.default_rng([seed, k])``
        """
        if len(trials_it) != len(trials_t):
            raise ValueError(f"trials_it and trials_t must have one entry per trial, got {len(trials_it)} and "
                             f"{len(trials_t)}")
        ends = np.broadcast_to(np.asarray(t_end_ms, dtype=float), (len(trials_it),))
        positions, ids = _neuron_table(coordinates)
        detector = self._detector(positions)
        found = []
        for k, (it, t) in enumerate(zip(trials_it, trials_t)):
            try:
                found.append(_detect_trial(detector, ids, it, t, 0.0, float(ends[k]), np.random.default_rng([seed, k])))
            except ValueError as err:
                raise ValueError(f"trial {k}: {err}") from None
        return found

    def _detector(self, positions: np.ndarray) -> ChannelDetector:
        return ChannelDetector(self.detection_probability(positions), self.false_positive_rate_hz, self.dead_time_ms)

    def channel_recording(self, coordinates, it, t, *, t_start_ms: float = 0.0, t_end_ms: float | None = None,
                          seed: int | np.random.Generator = 0) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """Neuron-level spikes observed through this array, in the form livn's ``MEA.channel_recording`` returns:
        two dicts keyed by every channel id, of the detected units (neuron ids, ``-1`` for noise crossings) and
        their times (ms). The arguments are those of :meth:`channel_spikes`, which does the work.

        >>> units, times = mea.channel_recording(system.positions_um, it, t, t_end_ms=5000.0, seed=0)
        """
        channel, t_det, unit = self.channel_spikes(coordinates, it, t, t_start_ms=t_start_ms, t_end_ms=t_end_ms,
                                                   seed=seed)
        units = {c: unit[channel == c] for c in range(self.n_channels)}
        times = {c: t_det[channel == c] for c in range(self.n_channels)}
        return units, times

    # ------------------------------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["positions_um"] = self.positions_um.tolist()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "MEA":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown MEA field(s) {unknown}; expected some of {sorted(known)}")
        if "positions_um" not in data:
            raise ValueError("an MEA needs 'positions_um' (a list of [x, y, z] in um)")
        return cls(**{**data, "positions_um": np.asarray(data["positions_um"], dtype=float)})

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            write_text(path, text)
        return text

    @classmethod
    def from_json(cls, path_or_text: str | Path) -> "MEA":
        text = Path(path_or_text).read_text() if Path(str(path_or_text)).suffix == ".json" else str(path_or_text)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"MEA JSON is malformed: {err}") from None
        if not isinstance(data, dict):
            raise ValueError(f"MEA JSON must be an object, got {type(data).__name__}")
        return cls.from_dict(data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MEA):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def describe(self) -> dict:
        """Short facts for listings and dataset cards."""
        return {
            "n_channels": self.n_channels,
            "reach_um": round(self.reach_um, 1),
            "false_positive_rate_hz": round(self.false_positive_rate_hz, 4),
            "max_current_ua": self.max_current_ua,
        }


def _detect_trial(detector: ChannelDetector, ids: np.ndarray, it, t, t_start_ms: float, t_end_ms: float | None,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One fresh recording of spikes ``(it, t)`` over ``[t_start_ms, t_end_ms)`` by ``detector`` (checked)."""
    neuron, times = _spikes(it, t, ids)
    if t_end_ms is None:
        t_end_ms = float(np.nextafter(times.max(), np.inf)) if times.size else float(t_start_ms)
    if not (np.isfinite(t_start_ms) and np.isfinite(t_end_ms) and t_end_ms >= t_start_ms):
        raise ValueError(f"the recording must run from t_start_ms to t_end_ms >= t_start_ms, got "
                         f"t_start_ms={t_start_ms!r}, t_end_ms={t_end_ms!r}")
    outside = (times < t_start_ms) | (times >= t_end_ms)
    if outside.any():
        raise ValueError(f"spike time {float(times[outside][0])} ms is outside the recording [{t_start_ms}, "
                         f"{t_end_ms}) ms")
    detector.reset()
    channel, t_det, row = detector.detect(neuron, times, float(t_start_ms), float(t_end_ms - t_start_ms), rng)
    return channel, t_det, np.where(row >= 0, ids[np.maximum(row, 0)], -1)


def _neuron_table(coordinates) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(n, 3)`` and ids ``(n,)`` of neuron coordinates given as ``(n, 3)`` or livn's ``(n, 4)``."""
    table = np.asarray(coordinates, dtype=float)
    if table.ndim != 2 or table.shape[1] not in (3, 4) or not np.all(np.isfinite(table)):
        raise ValueError(f"neuron coordinates must be finite (n, 3) positions or (n, 4) rows of [id, x, y, z], got "
                         f"an array of shape {table.shape}")
    if table.shape[1] == 3:
        return table, np.arange(table.shape[0])
    ids = table[:, 0]
    if np.any(ids != np.round(ids)) or np.unique(ids).size != ids.size:
        raise ValueError("the ids in the first column of the neuron coordinates must be distinct whole numbers")
    return table[:, 1:], ids.astype(np.int64)


def _spikes(it, t, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spikes as (row of the coordinates, time), with clear errors for ids that are not in the table."""
    it, t = np.asarray(it).ravel(), np.asarray(t, dtype=float).ravel()
    if it.size != t.size:
        raise ValueError(f"it and t must have one entry per spike, got {it.size} neuron ids and {t.size} times")
    if it.size and (not np.all(np.isfinite(t))):
        raise ValueError("spike times t must be finite")
    if it.size and np.any(np.asarray(it, float) != np.round(np.asarray(it, float))):
        raise ValueError(f"neuron ids it must be whole numbers, got {it[:5].tolist()}...")
    it = it.astype(np.int64)
    order = np.argsort(ids, kind="stable")
    rows = np.searchsorted(ids, it, sorter=order).clip(0, max(ids.size - 1, 0))
    unknown = np.ones(it.size, bool) if ids.size == 0 else ids[order][rows] != it
    if unknown.any():
        known = f"ids {int(ids.min())}..{int(ids.max())}" if ids.size else "none"
        raise ValueError(f"neuron id {int(it[unknown][0])} in it is not among the {ids.size} neuron coordinates "
                         f"({known})")
    return order[rows], t


def _erf(x: np.ndarray) -> np.ndarray:
    """Error function, vectorised (Abramowitz & Stegun 7.1.26, absolute error < 1.5e-7)."""
    x = np.asarray(x, dtype=float)
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1.0 - poly * np.exp(-(x**2)))

