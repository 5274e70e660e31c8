"""A session: everything one exported file holds, and the lossless file of recordings and episodes (``.npz``).

``livn-rl simulate --save`` and :class:`~livn_rl.export.RecordEpisode` write a session to one ``.npz`` file: the
recording's arrays exactly as recorded (float64 ms), the stimulation, the steps of an episode and a JSON header
(system, metadata). The file is written under a temporary name and renamed, so it is either whole or absent.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from livn_rl.atomic import atomic_path
from livn_rl.export.metadata import ExportError, SystemInfo
from livn_rl.recording import Recording
from livn_rl.stimulus import Pulse

__all__ = ["SESSION_FORMAT", "STIMULATION_DTYPE", "Session", "load_session", "now_iso", "pulse_table"]

#: Name and version of the ``.npz`` session format (in its header).
SESSION_FORMAT = {"format": "livn_rl-session", "version": 1}

#: One row per stimulation pulse: which copy and trial (-1: none) it belongs to, its channel, its onset on the
#: session's timeline (ms), amplitude (uA), phase width and interphase gap (ms) and shape.
STIMULATION_DTYPE = np.dtype([
    ("copy", "i8"), ("trial", "i8"), ("channel", "i8"), ("onset_ms", "f8"), ("amplitude_ua", "f8"),
    ("phase_ms", "f8"), ("gap_ms", "f8"), ("shape", "U10"),
])

_RECORDING_ARRAYS = ("neuron_i", "neuron_t_ms", "neuron_copy", "channel_c", "channel_t_ms", "channel_unit",
                     "channel_copy", "voltage_index", "voltage_t_ms", "voltage_mv")
_RECORDING_SCALARS = ("t_start_ms", "duration_ms", "n_neurons", "n_channels", "n_copies")


def now_iso() -> str:
    """The current time, with its time zone, as ISO 8601 (when a session was made)."""
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def pulse_table(pulses: Iterable[Pulse], offset_ms: float = 0.0, copy: int = 0, trial: int = -1) -> np.ndarray:
    """Pulses (onsets relative to a window starting at ``offset_ms``) as rows of :data:`STIMULATION_DTYPE`;
    pulses of amplitude 0 (no pulse) are left out."""
    rows = [(copy, trial, p.channel, offset_ms + p.onset_ms, p.amplitude_ua, p.phase_ms, p.gap_ms, p.shape)
            for p in pulses if p.amplitude_ua > 0]
    return np.array(rows, dtype=STIMULATION_DTYPE)


@dataclass
class Session:
    """What one exported file holds: a recording of a system with its stimulation, and what happened around it.

    :param kind: ``"recording"`` (an open-loop run), ``"episode"`` (an env episode) or ``"dataset"`` (trials)
    :param system: the system and its MEA
    :param recording: the spikes on the session's timeline (ms)
    :param dt_ms: the simulation time step (ms)
    :param stimulation: the pulses, rows of :data:`STIMULATION_DTYPE`
    :param currents: stimulation given as channel currents instead of pulses: ``(n_timesteps, n_channels)`` uA on the
        ``dt_ms`` grid from the recording's start (copy 0), or ``None``
    :param trials: ``start_ms``, ``stop_ms`` and more columns, one value per trial (an episode's steps, a dataset's
        trials); empty for an open-loop run
    :param task: per-step arrays of an episode: ``action``, ``task_action`` (when the env reports one),
        ``observation`` (the reset's first, then one per step) and ``reward``
    :param metadata: ``description``, ``seed``, ``created`` (ISO 8601), ``command``, ``versions`` and other facts
    """

    kind: str
    system: SystemInfo
    recording: Recording
    dt_ms: float
    stimulation: np.ndarray = field(default_factory=lambda: np.empty(0, STIMULATION_DTYPE))
    currents: np.ndarray | None = None
    trials: dict[str, np.ndarray] = field(default_factory=dict)
    task: dict[str, np.ndarray] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str | Path) -> Path:
        """Write the session to ``path`` (``.npz``) losslessly: under a temporary name, then renamed."""
        path = Path(path)
        if path.suffix != ".npz":
            raise ExportError(f"a session file must end in .npz, got {str(path)!r}")
        rec = self.recording
        header = {
            **SESSION_FORMAT, "kind": self.kind, "dt_ms": self.dt_ms, "system": self.system.to_dict(),
            "metadata": self.metadata, "recording": {k: getattr(rec, k) for k in _RECORDING_SCALARS},
            "trials": list(self.trials), "task": list(self.task),
        }
        arrays = {f"recording.{k}": getattr(rec, k) for k in _RECORDING_ARRAYS}
        arrays.update({f"trials.{k}": np.asarray(v) for k, v in self.trials.items()})
        arrays.update({f"task.{k}": np.asarray(v) for k, v in self.task.items()})
        arrays["stimulation"] = np.asarray(self.stimulation, STIMULATION_DTYPE)
        if self.currents is not None:
            arrays["currents"] = np.asarray(self.currents, float)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as partial, open(partial, "wb") as stream:
            np.savez_compressed(stream, header=np.array(json.dumps(header)), **arrays)
        return path


def load_session(path: str | Path) -> Session:
    """Read a session file written by :meth:`Session.save` (``livn-rl simulate --save``, ``RecordEpisode``)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            arrays = {key: data[key] for key in data.files if key != "header"}
    except FileNotFoundError:
        raise ExportError(f"{str(path)!r} does not exist") from None
    except (OSError, ValueError, KeyError) as err:  # not a zip, no header, a damaged member or header
        raise ExportError(f"{str(path)!r} is not a livn_rl session file ({type(err).__name__}: {err})") from None
    if not isinstance(header, dict) or header.get("format") != SESSION_FORMAT["format"]:
        raise ExportError(f"{str(path)!r} is a .npz file but not a livn_rl session (no '{SESSION_FORMAT['format']}' "
                          f"header); save one with `livn-rl simulate --save` or RecordEpisode")
    if header.get("version") != SESSION_FORMAT["version"]:
        raise ExportError(f"{str(path)!r} has session format version {header.get('version')!r}; this livn_rl reads "
                          f"version {SESSION_FORMAT['version']}")
    try:
        scalars = header["recording"]
        recording = Recording(**scalars, **{k: arrays[f"recording.{k}"] for k in _RECORDING_ARRAYS})
        return Session(
            kind=header["kind"], system=SystemInfo.from_dict(header["system"]), recording=recording,
            dt_ms=float(header["dt_ms"]), stimulation=arrays["stimulation"], currents=arrays.get("currents"),
            trials={k: arrays[f"trials.{k}"] for k in header["trials"]},
            task={k: arrays[f"task.{k}"] for k in header["task"]}, metadata=header["metadata"],
        )
    except (KeyError, TypeError) as err:
        raise ExportError(f"{str(path)!r} is an incomplete livn_rl session file (missing {err})") from None

