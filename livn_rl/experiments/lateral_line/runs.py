"""Run folders of ``livn-rl lateral-line``: names, the folder layout, artifacts and their JSON sidecars.

::

    <out>/<run-name>/
        params.json                       the full resolved configuration (and the command's options)
        run_summary.json                  topology, per-seed test TS spike counts and map quality, STDP vs control
        figures/*.png                     see livn_rl.experiments.lateral_line.figures
        artifacts/<tag>_seed_<seed>.npz   learned weights and connectivity (tag: stdp or no_stdp)
        artifacts/<tag>_seed_<seed>.json  what the npz holds and how it was made (mode, seed, preset, metrics)
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np

from livn_rl.experiments.lateral_line.training import RunResult

__all__ = ["artifact_tag", "comparison", "prepare_run_folder", "sanitise_run_name", "save_artifact", "topology"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def sanitise_run_name(name: str) -> str:
    """``name`` with path separators and other unsafe characters replaced by ``_`` (``"a/b"`` -> ``"a_b"``).

    :raises ValueError: for a name that is empty or only dots after sanitising
    """
    if not isinstance(name, str):
        raise ValueError(f"run name must be a string, got {name!r}")
    clean = _UNSAFE.sub("_", name.strip()).strip("._")
    if not clean:
        raise ValueError(f"run name {name!r} has no usable characters (use letters, digits, '.', '_' or '-')")
    return clean


def prepare_run_folder(out_dir: str | Path, run_name: str, overwrite: bool) -> Path:
    """Create ``out_dir/run_name`` with ``figures/`` and ``artifacts/``; refuse an existing one unless ``overwrite``."""
    folder = Path(out_dir) / run_name
    if folder.exists():
        if not overwrite:
            raise FileExistsError(f"run folder {str(folder)!r} already exists; choose another --run-name or pass --overwrite")
        if not folder.is_dir():
            raise FileExistsError(f"{str(folder)!r} exists and is not a folder; remove it or choose another --run-name")
        shutil.rmtree(folder)
    (folder / "figures").mkdir(parents=True)
    (folder / "artifacts").mkdir()
    return folder


def artifact_tag(result: RunResult) -> str:
    return "stdp" if result.stdp else "no_stdp"


def save_artifact(folder: Path, result: RunResult, preset_name: str) -> Path:
    """Write ``artifacts/<tag>_seed_<seed>.npz`` and its JSON sidecar; returns the npz path."""
    tag = artifact_tag(result)
    stem = folder / "artifacts" / f"{tag}_seed_{result.seed}"
    arrays = {"ts_positions_cm": result.ts_positions_cm, "mon_ts_w_before_mv": result.weights_before_mv["mon_ts"],
              "ll_mon_w_before_mv": result.weights_before_mv["ll_mon"]}
    for key in ("ll_mon", "mon_ts"):
        projection = result.system.connections[key]
        arrays[f"{key}_i"], arrays[f"{key}_j"] = projection["i"], projection["j"]
        arrays[f"{key}_w_mv"] = result.weights_after_mv[key]
    np.savez_compressed(stem.with_suffix(".npz"), **arrays)
    stdp = {"ll_mon": result.config.mon.stdp.enabled, "mon_ts": result.config.ts.stdp.enabled}
    sidecar = {
        "file": stem.with_suffix(".npz").name,
        "mode": "stdp" if result.stdp else "no_stdp (control: every STDP disabled, weights are the initial ones)",
        "stdp_enabled": stdp,
        "weights_learned": bool(any(stdp.values())),
        "seed": result.seed,
        "preset": preset_name,
        "n_trials": result.config.training.n_trials,
        "post_test": result.summary()["post_test"],
        "arrays": {
            "<proj>_i, <proj>_j": "presynaptic and postsynaptic neuron index (within one copy) of each synapse",
            "<proj>_w_mv": "weight after training (mV); proj is ll_mon or mon_ts",
            "<proj>_w_before_mv": "initial weight (mV)",
            "ts_positions_cm": "nominal body position of each TS neuron",
        },
        "config": result.config.to_dict(),
        "load": "livn_rl.systems.lateral_line.artifacts.load_artifact(path) -> (config, seed, weights)",
    }
    stem.with_suffix(".json").write_text(json.dumps(sidecar, indent=2))
    return stem.with_suffix(".npz")


def topology(result: RunResult) -> dict:
    """Sizes and synapse counts of a run's network."""
    system = result.system
    return {
        "populations": {p.name: p.size for p in system.populations},
        "synapses": {key: int(p["i"].size) for key, p in system.connections.items()},
        "mon_ts_out_degree": system.config.ts.out_degree,
        "mon_ts_mean_in_degree": round(system.connections["mon_ts"]["i"].size / system.config.ts.n, 2),
    }


def comparison(results: list[RunResult], controls: list[RunResult]) -> dict:
    """STDP against the no-STDP control on the same seeds, and the post-test against the pre-test."""
    out: dict = {}
    if results:
        pre = np.array([r.pre.quality["sigma_theta"] for r in results])
        post = np.array([r.post.quality["sigma_theta"] for r in results])
        out["stdp_sigma_theta"] = {"pre_mean": _mean(pre), "post_mean": _mean(post),
                                   "improved_seeds": int(np.sum(post < pre)), "seeds": len(results)}
    by_seed = {r.seed: r for r in controls}
    paired = [(r, by_seed[r.seed]) for r in results if r.seed in by_seed]
    if paired:
        stdp = np.array([r.post.quality["sigma_theta"] for r, _ in paired])
        control = np.array([c.post.quality["sigma_theta"] for _, c in paired])
        out["stdp_vs_control_sigma_theta"] = {
            "stdp_mean": _mean(stdp), "control_mean": _mean(control),
            "stdp_better_seeds": int(np.sum(stdp < control)), "seeds": len(paired),
        }
    return out


def _mean(values: np.ndarray) -> float | None:
    """The mean of the finite values, rounded, or None (JSON null) if there are none."""
    finite = values[np.isfinite(values)]
    return round(float(finite.mean()), 4) if finite.size else None
