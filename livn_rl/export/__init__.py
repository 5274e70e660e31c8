"""Exports in the field's data format: NWB files of recordings, env episodes and datasets (``livn_rl[nwb]``).

>>> from livn_rl.export import RecordEpisode, from_nwb, to_nwb
>>> to_nwb("out/run.npz", "run.nwb")                     # a recording saved by `livn-rl simulate --save`
>>> to_nwb("data/S2", "S2-shard0.nwb", shard=0)          # one shard of a dataset of `livn-rl sample`
>>> env = RecordEpisode(gym.make("livn_rl/Pendulum-S2-v0"), folder="episodes")   # keeps every step
>>> recording = from_nwb("run.nwb")                      # a Recording again, spikes exactly as they were

docs/nwb.md says what goes where in the file.
"""

from livn_rl.export.dataset import dataset_session, finished_shards
from livn_rl.export.metadata import ExportError, SystemInfo, system_config_hash
from livn_rl.export.nwb_file import SUPPRESSED_CHECKS, build_nwbfile, inspect_nwb, write_nwb
from livn_rl.export.nwb_read import from_nwb
from livn_rl.export.recorder import RecordEpisode
from livn_rl.export.session import STIMULATION_DTYPE, Session, load_session, pulse_table
from livn_rl.export.sources import SOURCE_KINDS, open_source, to_nwb

__all__ = [
    "SOURCE_KINDS", "STIMULATION_DTYPE", "SUPPRESSED_CHECKS", "ExportError", "RecordEpisode", "Session", "SystemInfo",
    "build_nwbfile", "dataset_session", "finished_shards", "from_nwb", "inspect_nwb", "load_session", "open_source",
    "pulse_table", "system_config_hash", "to_nwb", "write_nwb",
]
