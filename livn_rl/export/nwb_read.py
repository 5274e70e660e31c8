"""Read an NWB file written by livn_rl back into a :class:`~livn_rl.recording.Recording`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from livn_rl.export.metadata import ExportError
from livn_rl.export.nwb_file import NWB_FORMAT, require_pynwb
from livn_rl.recording import Recording

__all__ = ["from_nwb", "read_livn_notes"]


def read_livn_notes(nwbfile) -> dict:
    """The livn_rl block of an open NWB file's ``notes`` (kind, recording window, system, metadata)."""
    try:
        block = json.loads(nwbfile.notes or "")["livn_rl"]
    except (json.JSONDecodeError, KeyError, TypeError):
        block = None
    if not isinstance(block, dict) or block.get("format") != NWB_FORMAT["format"]:
        raise ExportError("this NWB file was not written by livn_rl (its notes hold no livn_rl block); from_nwb reads "
                          "the files of livn_rl.export.to_nwb")
    if block.get("version") != NWB_FORMAT["version"]:
        raise ExportError(f"this NWB file has livn_rl format version {block.get('version')!r}; this livn_rl reads "
                          f"version {NWB_FORMAT['version']}")
    return block


def from_nwb(path: str | Path) -> Recording:
    """The recording an NWB file of :func:`~livn_rl.export.to_nwb` holds: every neuron's spikes (from ``units``),
    every detection (from ``processing/ecephys/detected_spikes``) and membrane potentials, on the file's timeline.

    Spike times, neuron indices, copies, channels and causing units come back exactly as they were written
    (ground-truth spikes, in time order, ties by copy and neuron, as the engine records them).

    :param path: an ``.nwb`` file written by livn_rl
    """
    require_pynwb()
    from pynwb import NWBHDF5IO

    path = Path(path)
    if not path.is_file():
        raise ExportError(f"NWB file {str(path)!r} does not exist")
    try:
        io = NWBHDF5IO(str(path), "r")
    except (OSError, ValueError) as err:
        raise ExportError(f"{str(path)!r} is not a readable NWB file ({err})") from None
    with io:
        nwb = io.read()
        block = read_livn_notes(nwb)
        shape = block["recording"]
        n, c = int(shape["n_neurons"]), int(shape["n_channels"])
        units = nwb.units
        ends = np.asarray(units["spike_times"].data[:], dtype=np.int64)
        times_ms = np.asarray(units["spike_times"].target.data[:], dtype=np.float64) * 1000.0
        per_unit = np.diff(np.concatenate([[0], ends]))
        neuron = np.repeat(np.asarray(units["neuron"].data[:], np.int64), per_unit)
        copy = np.repeat(np.asarray(units["culture_copy"].data[:], np.int64), per_unit)
        order = np.lexsort((neuron, copy, times_ms))
        recording = Recording(float(shape["t_start_ms"]), float(shape["duration_ms"]), n, c, int(shape["n_copies"]),
                              neuron[order], times_ms[order], copy[order])
        module = nwb.processing.get("ecephys")
        if module is not None and "detected_spikes" in module.data_interfaces:
            table = module["detected_spikes"]
            rows = np.asarray(table["electrode"].data[:], np.int64)
            electrodes = nwb.electrodes
            recording.channel_c = np.asarray(electrodes["channel"].data[:], np.int64)[rows]
            recording.channel_copy = np.asarray(electrodes["culture_copy"].data[:], np.int64)[rows]
            recording.channel_t_ms = np.asarray(table["time_ms"].data[:], np.float64)
            recording.channel_unit = np.asarray(table["unit"].data[:], np.int64)
        module = nwb.processing.get("icephys")
        if module is not None and "membrane_potential" in module.data_interfaces:
            series = module["membrane_potential"]
            index = np.asarray(block["voltage_index"], np.int64)
            data = np.asarray(series.data[:], np.float64)
            recording.voltage_index = index
            recording.voltage_t_ms = (series.starting_time + np.arange(data.shape[0]) / series.rate) * 1000.0
            recording.voltage_mv = data.T.reshape(recording.n_copies, index.size, -1)
    return recording
