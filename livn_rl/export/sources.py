"""What can be exported, and :func:`to_nwb`: the one entry point from any source to an NWB file."""

from __future__ import annotations

import json
from pathlib import Path

from livn_rl.data.store import is_dataset_folder
from livn_rl.export.dataset import dataset_session
from livn_rl.export.metadata import EXPORT_PACKAGES, ExportError, SystemInfo
from livn_rl.export.nwb_file import build_nwbfile, check_nwb_output, require_pynwb, write_nwb
from livn_rl.export.session import Session, load_session, now_iso, pulse_table
from livn_rl.recording import Recording

__all__ = ["SOURCE_KINDS", "open_source", "to_nwb"]

#: What ``SOURCE`` may be, for error messages and ``--help``.
SOURCE_KINDS = ("a saved recording (.npz of `livn-rl simulate --save`), an episode file (.npz of RecordEpisode), a "
                "summary of `livn-rl simulate --json ... --save ...` (.json), or a dataset folder of `livn-rl sample`")


def _summary_recording(path: Path) -> Path:
    """The saved recording a ``livn-rl simulate --json`` summary points at."""
    try:
        summary = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ExportError(f"{str(path)!r} is not a readable JSON summary ({err})") from None
    saved = summary.get("recording") if isinstance(summary, dict) else None
    if not saved:
        raise ExportError(f"{str(path)!r} is a summary without spikes: run `livn-rl simulate ... --save run.npz` to "
                          f"keep the recording, then export the .npz (or a summary written with it)")
    for candidate in (Path(saved), path.parent / Path(saved).name):
        if candidate.is_file():
            return candidate
    raise ExportError(f"the recording {saved!r} that {str(path)!r} points at does not exist")


def open_source(source, *, system=None, shard: int | None = None, progress: bool = False, dt_ms: float = 0.1,
                stimulation=None) -> Session:
    """The :class:`~livn_rl.export.Session` that ``source`` holds (see :func:`to_nwb` for the arguments)."""
    if isinstance(source, Session):
        return source
    if isinstance(source, Recording):
        if system is None:
            raise ExportError("exporting a Recording needs the system it was recorded from: pass system=")
        from livn_rl.data.sampling import package_versions
        from livn_rl.systems import make_system

        built = make_system(system)
        pulses = pulse_table(stimulation or [], source.t_start_ms)
        metadata = {"description": f"{source.duration_ms:g} ms of {built.name}", "created": now_iso(),
                    "versions": package_versions(EXPORT_PACKAGES)}
        return Session("recording", SystemInfo.from_system(built), source, dt_ms, pulses, metadata=metadata)
    if not isinstance(source, (str, Path)):
        raise ExportError(f"cannot export a {type(source).__name__}; expected {SOURCE_KINDS}")
    path = Path(source)
    is_dataset = path.is_dir()
    if shard is not None and not is_dataset:
        raise ExportError(f"a shard is chosen only when exporting a dataset folder, not {str(path)!r}")
    if is_dataset:
        if not is_dataset_folder(path):
            raise ExportError(f"{str(path)!r} is a folder but not a livn_rl dataset (it has no meta.json); expected "
                              f"{SOURCE_KINDS}")
        return dataset_session(path, shard=shard, system=system, progress=progress)
    if system is not None:
        raise ExportError(f"{str(path)!r} holds its system already; the system is given only for datasets")
    if not path.exists():
        raise ExportError(f"{str(path)!r} does not exist")
    if path.suffix == ".npz":
        return load_session(path)
    if path.suffix == ".json":
        return load_session(_summary_recording(path))
    raise ExportError(f"unknown source type {str(path)!r}: expected {SOURCE_KINDS}")


def to_nwb(source, out: str | Path, *, overwrite: bool = False, system=None, shard: int | None = None,
           progress: bool = False, experimenter: str | None = None, institution: str | None = None,
           lab: str | None = None, dt_ms: float = 0.1, stimulation=None) -> Path:
    """Write ``source`` as an NWB file at ``out`` and return its path (``pip install 'livn_rl[nwb]'``).

    The file is written under a temporary name and renamed when complete; an existing ``out`` is refused unless
    ``overwrite``. docs/nwb.md says what goes where.

    :param source: a session file (``.npz`` of ``livn-rl simulate --save`` or of
        :class:`~livn_rl.export.RecordEpisode`), a ``livn-rl simulate --json`` summary written with ``--save``, a
        dataset folder of ``livn-rl sample``, a :class:`~livn_rl.export.Session` (``RecordEpisode.last_episode``)
        or a :class:`~livn_rl.recording.Recording` (with ``system``)
    :param out: the ``.nwb`` file to write
    :param overwrite: replace an existing ``out``
    :param system: the system of a Recording, or of a dataset whose metadata cannot rebuild it
    :param shard: of a dataset, export this shard only (default: every trial of the dataset)
    :param progress: progress bars for long exports (datasets)
    :param experimenter: who made the data, ``"Last, First"``
    :param institution: where it was made
    :param lab: which lab made it
    :param dt_ms: simulation time step of a Recording (ms)
    :param stimulation: the pulses of a Recording (onsets from its start)
    """
    require_pynwb()
    check_nwb_output(out, overwrite)  # before any work: an existing file is refused at once
    session = open_source(source, system=system, shard=shard, progress=progress, dt_ms=dt_ms, stimulation=stimulation)
    nwbfile = build_nwbfile(session, experimenter=experimenter, institution=institution, lab=lab)
    return write_nwb(nwbfile, out, overwrite=overwrite)
