"""Learned weights of the lateral line, as ``livn-rl lateral-line`` saves them: ``artifacts/<tag>_seed_<seed>.npz``
with a JSON sidecar (written by :func:`livn_rl.experiments.lateral_line.runs.save_artifact`).

The npz holds, for each projection ``proj`` in ``ll_mon`` and ``mon_ts``: ``<proj>_i`` and ``<proj>_j``
(presynaptic and postsynaptic neuron of each synapse, within one copy), ``<proj>_w_mv`` (weight after training, mV)
and ``<proj>_w_before_mv`` (initial weight); and ``ts_positions_cm``. The sidecar holds the full ``config`` and
the ``seed``, from which the connectivity is rebuilt and checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from livn_rl.systems.lateral_line.config import LateralLineConfig
from livn_rl.systems.lateral_line.network import LateralLineSystem

__all__ = ["PROJECTIONS", "load_artifact"]

#: The projections whose weights an artifact holds.
PROJECTIONS = ("ll_mon", "mon_ts")


def load_artifact(path: str | Path) -> tuple[LateralLineConfig, int, dict[str, np.ndarray]]:
    """Read an artifact written by :func:`~livn_rl.experiments.lateral_line.runs.save_artifact`: its config, seed and learned weights (mV).

    ``LateralLineSystem(config, seed, weights=weights)`` rebuilds the trained network.
    """
    path = Path(path)
    sidecar = path.with_suffix(".json")
    if path.suffix != ".npz" or not path.is_file():
        raise ValueError(f"lateral-line artifact {str(path)!r} must be an existing .npz file written by livn-rl lateral-line")
    if not sidecar.is_file():
        raise ValueError(f"lateral-line artifact {str(path)!r} has no JSON sidecar {sidecar.name!r}")
    meta = json.loads(sidecar.read_text())
    config = LateralLineConfig.from_dict(meta["config"])
    with np.load(path) as data:
        weights = {key: np.array(data[f"{key}_w_mv"]) for key in PROJECTIONS}
        connectivity = {key: (np.array(data[f"{key}_i"]), np.array(data[f"{key}_j"])) for key in PROJECTIONS}
    rebuilt = LateralLineSystem(config, seed=int(meta["seed"])).connections
    for key, (i, j) in connectivity.items():
        if not (np.array_equal(rebuilt[key]["i"], i) and np.array_equal(rebuilt[key]["j"], j)):
            raise ValueError(f"artifact {str(path)!r}: the {key} connectivity differs from what its config and seed "
                             "build now (was it made by another livn_rl version?)")
    return config, int(meta["seed"]), weights
