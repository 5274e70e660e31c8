"""Stimulus-response datasets in livn's layout, and replay buffers.

>>> from livn_rl.data import sample_dataset, load_dataset, replay_buffer_from_dataset
>>> sample_dataset("S2", "data/S2", samples=10_000)            # resumable, sharded, with a dataset card
>>> trials = load_dataset("data/S2")                           # a datasets.Dataset; trials[0]["trial_it"][0]
>>> livn = load_dataset("copies/livn", "S2", split="train_with_noise")   # a local copy of livn's hub dataset
>>> buffer = replay_buffer_from_dataset("data/S2-population", "livn_rl/Pendulum-S2-v0")
"""

from livn_rl.data.loading import LIVN_COLUMNS, LIVN_HUB_DATASET, check_livn_layout, dataset_meta, load_dataset
from livn_rl.data.minari_export import export_minari
from livn_rl.data.ray_sampling import RaySampleReport, WorkerFailure, run_sampling_ray
from livn_rl.data.replay import check_compatible, fill_replay_buffer, replay_buffer_from_dataset, scale_action, transitions
from livn_rl.data.sampling import SampleReport, SamplingPlan, plan_sampling, run_sampling, sample_dataset
from livn_rl.data.store import COLUMNS, LIVN_SPLITS, DatasetError, is_dataset_folder

__all__ = [
    "COLUMNS", "LIVN_COLUMNS", "LIVN_HUB_DATASET", "LIVN_SPLITS", "DatasetError", "RaySampleReport", "SampleReport",
    "SamplingPlan", "WorkerFailure", "check_compatible", "check_livn_layout", "dataset_meta", "export_minari",
    "fill_replay_buffer", "is_dataset_folder", "load_dataset", "plan_sampling", "replay_buffer_from_dataset",
    "run_sampling", "run_sampling_ray", "sample_dataset", "scale_action", "transitions",
]
