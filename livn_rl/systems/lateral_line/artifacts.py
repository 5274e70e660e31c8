"""Learned weights of the lateral line, as ``livn-rl lateral-line`` saves them: ``artifacts/<tag>_seed_<seed>.npz``
with its sidecar ``<tag>_seed_<seed>_params.json`` (written by
:func:`livn_rl.experiments.lateral_line.runs.save_artifact`).

The npz holds the original's arrays, indices within each population: ``mon_ts_w`` (MON -> TS weights after
training), ``mon_ts_i`` / ``mon_ts_j`` (MON and TS index of each synapse), ``ll_mon_i`` / ``ll_mon_j`` (LL and MON
index), ``ll_mon_w_mV``; and ``mon_ts_w_before``, ``ll_mon_w_before_mV``, ``ts_positions_cm``. The sidecar holds the
full ``config`` and the ``seed``, from which the connectivity is rebuilt and checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from livn_rl.systems.lateral_line.config import LateralLineConfig
from livn_rl.systems.lateral_line.network import LateralLineSystem

__all__ = ["ARRAYS", "load_artifact"]

#: Per projection: the populations its indices count in and the npz array of its learned weights.
ARRAYS = {"ll_mon": ("LL", "MON", "ll_mon_w_mV"), "mon_ts": ("MON", "TS", "mon_ts_w")}


def load_artifact(path: str | Path) -> tuple[LateralLineConfig, int, dict[str, np.ndarray]]:
    """Read an artifact written by :func:`~livn_rl.experiments.lateral_line.runs.save_artifact`: its config, seed
    and learned weights (``{"ll_mon": ..., "mon_ts": ...}``, one value per synapse).

    ``LateralLineSystem(config, seed, weights=weights)`` rebuilds the trained network.
    """
    path = Path(path)
    sidecar = path.with_name(path.stem + "_params.json")
    if path.suffix != ".npz" or not path.is_file():
        raise ValueError(f"lateral-line artifact {str(path)!r} must be an existing .npz file written by livn-rl lateral-line")
    if not sidecar.is_file():
        raise ValueError(f"lateral-line artifact {str(path)!r} has no sidecar {sidecar.name!r} next to it")
    meta = json.loads(sidecar.read_text())
    config = LateralLineConfig.from_dict(meta["config"])
    rebuilt = LateralLineSystem(config, seed=int(meta["seed"]))
    weights = {}
    with np.load(path) as data:
        for key, (pre, post, weight) in ARRAYS.items():
            i = np.array(data[f"{key}_i"]) + rebuilt.population(pre).start
            j = np.array(data[f"{key}_j"]) + rebuilt.population(post).start
            if not (np.array_equal(rebuilt.connections[key]["i"], i) and np.array_equal(rebuilt.connections[key]["j"], j)):
                raise ValueError(f"artifact {str(path)!r}: the {key} connectivity differs from what its config and seed "
                                 "build now (was it made by another livn_rl version?)")
            weights[key] = np.array(data[weight])
    return config, int(meta["seed"]), weights
