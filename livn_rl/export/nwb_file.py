"""A :class:`~livn_rl.export.Session` as an NWB file: written the way pynwb's extracellular-ephys tutorial does.

| NWB | what it holds |
|---|---|
| ``subject`` | the culture: system name and config hash, seed, package versions, "simulated" |
| ``electrodes`` (one group per copy, device ``mea``) | the MEA: ``channel``, ``culture_copy``, ``rel_x/y/z`` (um) |
| ``units`` | ground truth: every neuron's spikes, with ``neuron``, ``culture_copy``, ``population``, ``cell_type``, ``excitatory``,
  ``position_um`` and the observed interval |
| ``processing/ecephys/detected_spikes`` | what each electrode detected: ``spike_time`` (s), ``electrode``, ``unit``
  (-1: a noise crossing), ``time_ms`` |
| ``intervals/stimulation`` | one row per pulse: ``channel``, ``culture_copy``, ``electrode``, ``amplitude_ua``,
  ``phase_width_ms``, ``interphase_gap_ms``, ``shape`` (and ``trial``) |
| ``stimulus/stimulation_currents`` | stimulation given as channel currents (custom encoders) |
| ``trials`` | an episode's steps or a dataset's trials |
| ``processing/behavior`` | an episode's ``agent_action``, ``task_action``, ``observation`` and ``reward`` |
| ``processing/icephys/membrane_potential`` | recorded membrane potentials, if any |
| ``notes`` | JSON: the livn_rl facts needed to read the recording back (:func:`~livn_rl.export.from_nwb`) |
"""

from __future__ import annotations

import datetime
import json
import uuid
from pathlib import Path

import numpy as np

from livn_rl.atomic import atomic_path
from livn_rl.data.store import COLUMNS as DATASET_COLUMNS
from livn_rl.export.metadata import ExportError
from livn_rl.export.session import Session

__all__ = [
    "NWB_FORMAT", "SUPPRESSED_CHECKS", "build_nwbfile", "check_nwb_output", "inspect_nwb", "require_pynwb", "write_nwb",
]

#: Name and version of the livn_rl block in the file's ``notes``.
NWB_FORMAT = {"format": "livn_rl-nwb", "version": 1}

#: nwbinspector checks that do not apply to simulated data, and why (docs/nwb.md lists them too).
SUPPRESSED_CHECKS = {
    "check_subject_age": "a simulated culture has no age: the model is not of a culture at any particular day in vitro",
    "check_subject_species_exists": "the neurons are model cells (Izhikevich, LIF, ...), not cells of any species",
}

_TRIAL_COLUMNS = {
    "step": "index of the env step in its episode",
    "terminated": "the task terminated the episode at this step",
    "truncated": "the episode was truncated at this step (time limit)",
    **{name: meaning for name, (_, meaning) in DATASET_COLUMNS.items()},
    "culture_copy": DATASET_COLUMNS["copy"][1],
}
_TASK_SERIES = {
    "action": ("agent_action", "the agent's action at the start of each step (as given to env.step)"),
    "task_action": ("task_action", "the task's action decoded from the culture's response in each step"),
    "observation": ("observation", "the observation after reset (t = 0) and after each step"),
    "reward": ("reward", "the reward of each step, at the step's end"),
}


def require_pynwb():
    """The pynwb module, or an ImportError that names the extra to install."""
    try:
        import pynwb
    except ImportError:
        raise ImportError("NWB export needs pynwb (and nwbinspector to check files): pip install 'livn_rl[nwb]'") from None
    return pynwb


def _packed(data):
    """Array data gzip-compressed in the file (best practice for anything but tiny datasets)."""
    from pynwb import H5DataIO

    data = np.asarray(data)
    return H5DataIO(data, compression="gzip") if data.size else data


def _general(session: Session) -> tuple[str, str, str]:
    """The experiment description, the subject's description and how the data was made."""
    info, md = session.system, session.metadata
    pops = ", ".join(f"{p.size} {p.name} ({p.cell or 'cells'})" for p in info.populations)
    versions = ", ".join(f"{k} {v}" for k, v in md.get("versions", {}).items())
    simulated = "The data is simulated: no animal, tissue or cell was recorded."
    experiment = (f"Simulated {session.kind} of the {info.kind} {info.name!r} on a {info.mea.n_channels}-electrode "
                  f"multi-electrode array, made with livn_rl. {simulated}")
    subject = (f"Simulated culture {info.name!r} ({info.kind}): {info.n_neurons} model neurons ({pops}). Config hash "
               f"{info.config_hash}. Seed {md.get('seed')}. Made with {versions}. {simulated}")
    collection = (f"Brian2 integrated the model's equations with a {session.dt_ms:g} ms time step. 'units' holds every "
                  f"spike of every neuron (ground truth). Each electrode detected the spikes of nearby cells with a "
                  f"probability that falls with distance, plus noise crossings ({info.mea.false_positive_rate_hz:.3g} Hz "
                  f"per channel), with a {info.mea.dead_time_ms:g} ms dead time (processing/ecephys/detected_spikes).")
    return experiment, subject, collection


def _notes(session: Session) -> str:
    info, rec = session.system, session.recording
    block = {
        **NWB_FORMAT, "kind": session.kind, "dt_ms": session.dt_ms,
        "recording": {k: getattr(rec, k) for k in ("t_start_ms", "duration_ms", "n_neurons", "n_channels", "n_copies")},
        "voltage_index": rec.voltage_index.tolist(),
        "system": {"name": info.name, "kind": info.kind, "config_hash": info.config_hash, "config": info.config,
                   "description": info.description, "mea": {k: v for k, v in info.mea.to_dict().items() if k != "positions_um"}},
        "metadata": session.metadata,
    }
    return json.dumps({"livn_rl": block}, default=str)


def build_nwbfile(session: Session, *, experimenter: str | None = None, institution: str | None = None,
                  lab: str | None = None):
    """The ``pynwb.NWBFile`` of ``session`` (not yet written).

    :param session: what to write
    :param experimenter: who made the data, ``"Last, First"`` (optional)
    :param institution: where (optional)
    :param lab: which lab (optional)
    """
    require_pynwb()
    from pynwb import NWBFile
    from pynwb.file import Subject

    info, md = session.system, session.metadata
    experiment, subject, collection = _general(session)
    safe_name = info.name.replace("/", "-").replace(":", "-")
    nwb = NWBFile(
        session_description=md.get("description") or f"simulated {session.kind} of {info.name}",
        identifier=str(uuid.uuid4()),
        session_start_time=datetime.datetime.fromisoformat(md["created"]),
        experiment_description=experiment, session_id=f"{safe_name}-{session.kind}-seed{md.get('seed')}",
        keywords=["simulated data", "livn_rl", "multi-electrode array", "spiking neural network", info.name],
        data_collection=collection, notes=_notes(session),
        **({"source_script": md["command"], "source_script_file_name": "livn-rl"} if md.get("command") else {}),
        stimulus_notes="biphasic (cathodic first) or monophasic current pulses on MEA electrodes; see intervals/stimulation",
        experimenter=experimenter, institution=institution, lab=lab,
        subject=Subject(subject_id=f"{safe_name}-{info.config_hash.removeprefix('sha256:')[:12]}", description=subject,
                        sex="O"),
    )
    _add_electrodes(nwb, session)
    _add_units(nwb, session)
    _add_detections(nwb, session)
    _add_stimulation(nwb, session)
    _add_trials(nwb, session)
    _add_task(nwb, session)
    _add_voltages(nwb, session)
    return nwb


def _add_electrodes(nwb, session: Session) -> None:
    info, rec = session.system, session.recording
    mea = info.mea
    device = nwb.create_device(
        name="mea", manufacturer="livn_rl (simulated)",
        description=(f"simulated multi-electrode array: {mea.n_channels} electrodes of {mea.electrode_radius_um:g} um "
                     f"radius, noise {mea.noise_uv:g} uV rms, detection threshold {mea.threshold_sd:g} SD, stimulation "
                     f"up to {mea.max_current_ua:g} uA"))
    nwb.add_electrode_column("channel", "MEA channel number (livn_rl's numbering; row-major over a grid)")
    nwb.add_electrode_column("culture_copy", "copy of the culture this electrode belongs to (copies are independent cultures)")
    for k in range(rec.n_copies):
        group = nwb.create_electrode_group(
            name="mea" if rec.n_copies == 1 else f"mea_copy{k}", device=device,
            description=f"the electrodes under copy {k} of the simulated culture", location="simulated culture (in vitro)")
        for c, (x, y, z) in enumerate(mea.positions_um):
            nwb.add_electrode(group=group, location="simulated culture (in vitro)", rel_x=float(x), rel_y=float(y),
                              rel_z=float(z), channel=c, culture_copy=k)


def _add_units(nwb, session: Session) -> None:
    from hdmf.common import VectorData, VectorIndex
    from pynwb.misc import Units

    info, rec = session.system, session.recording
    n, k = rec.n_neurons, rec.n_copies
    if info.n_neurons != n:
        raise ExportError(f"the recording has {n} neurons per copy but the system {info.name!r} has {info.n_neurons}")
    row = rec.neuron_copy * n + rec.neuron_i
    order = np.lexsort((rec.neuron_t_ms, row))
    ends = np.cumsum(np.bincount(row, minlength=n * k))
    window = [rec.t_start_ms / 1000.0, rec.t_stop_ms / 1000.0]
    pop_of = np.repeat(np.arange(len(info.populations)), [p.size for p in info.populations])
    pops = info.populations

    def column(name: str, description: str, values) -> VectorData:
        return VectorData(name=name, description=description, data=_packed(np.tile(values, (k,) + (1,) * (np.ndim(values) - 1))))

    times = VectorData(name="spike_times", description="spike times (s) of each neuron",
                       data=_packed(rec.neuron_t_ms[order] / 1000.0))
    observed = VectorData(name="obs_intervals", description="the interval (s) in which the neuron was simulated",
                          data=np.tile(window, (n * k, 1)))
    columns = [
        times, VectorIndex(name="spike_times_index", data=ends, target=times),
        observed, VectorIndex(name="obs_intervals_index", data=np.arange(1, n * k + 1), target=observed),
        column("neuron", "index of the neuron in its copy of the system", np.arange(n)),
        VectorData(name="culture_copy", description="copy of the culture (copies are independent cultures)",
                   data=np.repeat(np.arange(k), n)),
        column("population", "the neuron's population", [pops[p].name for p in pop_of]),
        column("cell_type", "the neuron's cell type", [pops[p].cell or pops[p].name for p in pop_of]),
        column("excitatory", "whether the neuron's synapses excite (True) or inhibit", [pops[p].excitatory for p in pop_of]),
        column("position_um", "soma position x, y, z (um) in the MEA's coordinates", info.positions_um),
    ]
    nwb.units = Units(name="units", description="ground truth: every spike of every simulated neuron",
                      resolution=session.dt_ms / 1000.0, id=np.arange(n * k), columns=columns)


def _add_detections(nwb, session: Session) -> None:
    from hdmf.common import DynamicTable, DynamicTableRegion, VectorData

    rec = session.recording
    if rec.channel_c.size == 0:
        return  # NWB best practice: no empty tables
    module = nwb.create_processing_module("ecephys", "spikes detected by the simulated MEA's electrodes")
    rows = rec.channel_copy * rec.n_channels + rec.channel_c
    module.add(DynamicTable(
        name="detected_spikes", id=np.arange(rows.size),
        description="every spike an electrode detected, in the order livn_rl recorded them; unit -1 is a noise crossing",
        columns=[
            VectorData(name="spike_time", description="time of the detection (s)", data=_packed(rec.channel_t_ms / 1000.0)),
            DynamicTableRegion(name="electrode", description="the electrode that detected it", data=_packed(rows),
                               table=nwb.electrodes),
            VectorData(name="unit", description="the neuron (index in its copy) whose spike was detected; -1: noise",
                       data=_packed(rec.channel_unit)),
            VectorData(name="time_ms", description="the same time in ms, as livn_rl recorded it (read back exactly)",
                       data=_packed(rec.channel_t_ms)),
        ]))


def _interval_table(name: str, description: str, start_ms, stop_ms, columns: list):
    from hdmf.common import VectorData
    from pynwb.epoch import TimeIntervals

    start = VectorData(name="start_time", description="start (s)", data=_packed(np.asarray(start_ms) / 1000.0))
    stop = VectorData(name="stop_time", description="stop (s)", data=_packed(np.asarray(stop_ms) / 1000.0))
    return TimeIntervals(name=name, description=description, id=np.arange(len(start_ms)), columns=[start, stop, *columns])


def _add_stimulation(nwb, session: Session) -> None:
    from hdmf.common import DynamicTableRegion, VectorData
    from pynwb import TimeSeries

    pulses = np.sort(session.stimulation, order=["onset_ms", "copy", "channel"])
    if pulses.size:
        phases = np.where(pulses["shape"] == "biphasic", 2.0, 1.0)
        stop = pulses["onset_ms"] + phases * pulses["phase_ms"] + np.where(phases == 2.0, pulses["gap_ms"], 0.0)
        columns = [
            VectorData(name="channel", description="MEA channel of the pulse", data=_packed(pulses["channel"])),
            VectorData(name="culture_copy", description="copy of the culture stimulated", data=_packed(pulses["copy"])),
            DynamicTableRegion(name="electrode", description="the stimulating electrode", table=nwb.electrodes,
                               data=_packed(pulses["copy"] * session.system.mea.n_channels + pulses["channel"])),
            VectorData(name="amplitude_ua", description="current magnitude (uA)", data=_packed(pulses["amplitude_ua"])),
            VectorData(name="phase_width_ms", description="duration of each phase (ms)", data=_packed(pulses["phase_ms"])),
            VectorData(name="interphase_gap_ms", description="gap between the phases of a biphasic pulse (ms)",
                       data=_packed(pulses["gap_ms"])),
            VectorData(name="shape", description="'biphasic' (cathodic, then anodic) or 'monophasic' (cathodic)",
                       data=pulses["shape"].tolist()),
        ]
        if session.trials:
            columns.append(VectorData(name="trial", description="row of the trials table in which the pulse came",
                                      data=_packed(pulses["trial"])))
        nwb.add_time_intervals(_interval_table("stimulation", "every stimulation pulse, from onset to the end of its "
                                               "last phase", pulses["onset_ms"], stop, columns))
    if session.currents is not None:
        nwb.add_stimulus(TimeSeries(
            name="stimulation_currents", data=_packed(session.currents), unit="amperes", conversion=1e-6,
            starting_time=session.recording.t_start_ms / 1000.0, rate=1000.0 / session.dt_ms,
            description="channel currents (uA; cathodic < 0) that the env's encoder gave as an array, one column per "
                        "MEA channel of copy 0"))


def _add_trials(nwb, session: Session) -> None:
    from hdmf.common import VectorData

    if not session.trials:
        return
    trials = dict(session.trials)
    start, stop = trials.pop("start_ms"), trials.pop("stop_ms")
    columns = [VectorData(name=name, description=_TRIAL_COLUMNS.get(name, name), data=_packed(values))
               for name, values in trials.items()]
    what = "env steps" if session.kind == "episode" else "trials"
    nwb.trials = _interval_table("trials", f"the {what}, one window each, on the session's timeline", start, stop, columns)


def _add_task(nwb, session: Session) -> None:
    from pynwb import TimeSeries

    if not session.task:
        return
    start, stop = session.trials["start_ms"], session.trials["stop_ms"]
    window_s = float(stop[0] - start[0]) / 1000.0
    module = nwb.create_processing_module("behavior", "the RL task: one sample per env step")
    for key, values in session.task.items():
        name, description = _TASK_SERIES[key]
        first = start[0] + (stop[0] - start[0] if key == "reward" else 0.0)
        module.add(TimeSeries(name=name, data=_packed(values), unit="n.a.", starting_time=first / 1000.0,
                              rate=1.0 / window_s, description=description))


def _add_voltages(nwb, session: Session) -> None:
    from pynwb import TimeSeries

    rec = session.recording
    if rec.voltage_index.size == 0 or rec.voltage_t_ms.size == 0:
        return
    module = nwb.create_processing_module("icephys", "simulated membrane potentials (ground truth)")
    cells = ", ".join(f"copy {k} neuron {i}" for k in range(rec.n_copies) for i in rec.voltage_index)
    module.add(TimeSeries(
        name="membrane_potential", data=_packed(rec.voltage_mv.reshape(-1, rec.voltage_t_ms.size).T), unit="volts",
        conversion=1e-3, starting_time=rec.voltage_t_ms[0] / 1000.0, rate=1000.0 / session.dt_ms,
        description=f"membrane potential (mV) of the recorded cells, one column each: {cells}"))


def write_nwb(nwbfile, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``nwbfile`` to ``out`` (``.nwb``) under a temporary name, then rename it: never a half-written file.

    :param overwrite: replace an existing file (otherwise an :class:`ExportError`)
    """
    from pynwb import NWBHDF5IO

    out = check_nwb_output(out, overwrite)
    with atomic_path(out) as partial, NWBHDF5IO(str(partial), "w") as io:
        io.write(nwbfile)
    return out


def check_nwb_output(out: str | Path, overwrite: bool) -> Path:
    """``out`` as a path to write an NWB file to (its folder created), or an :class:`ExportError`."""
    out = Path(out).expanduser()
    if out.suffix != ".nwb":
        raise ExportError(f"the output {str(out)!r} must end in .nwb")
    if out.is_dir():
        raise ExportError(f"the output {str(out)!r} is a directory; give a file name")
    if out.exists() and not overwrite:
        raise ExportError(f"{str(out)!r} exists; pass --overwrite (overwrite=True) to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def inspect_nwb(path: str | Path, *, suppress: bool = True) -> list:
    """nwbinspector's messages on the file at ``path`` (all importances), without the :data:`SUPPRESSED_CHECKS`
    unless ``suppress=False``."""
    try:
        from nwbinspector import inspect_nwbfile
    except ImportError:
        raise ImportError("checking NWB files needs nwbinspector: pip install 'livn_rl[nwb]'") from None
    return list(inspect_nwbfile(nwbfile_path=str(path), ignore=list(SUPPRESSED_CHECKS) if suppress else None))
