"""Run folders of ``livn-rl lateral-line``, laid out as the original's ``Runs/<run-name>/``::

    <out>/<run-name>/                      run name: --run-name, or the start time YYYYMMDD_HHMMSS
        params.json                        mode, seed_start, multi_seed, run_folder, network_params (flat) and ours
        run_summary.json                   the original's keys (topology, seed, ts_spikes_during_test_window,
                                           pv_map_quality or runs) and ours (per-run details, STDP vs control)
        figures/                           see livn_rl.experiments.lateral_line.figures
        artifacts/<tag>_seed_<seed>.npz    learned weights and connectivity (tag: --save-tag, default latest),
        artifacts/<tag>_seed_<seed>_params.json    and its sidecar
        artifacts/<tag>_control_seed_<seed>.npz    the same for a control paired with an STDP run

Every JSON file is written under a temporary name and renamed, so a file is whole or absent; ``run_summary.json``
is rewritten after every run with ``"complete": false`` until the last.
"""

from __future__ import annotations

import io
import re
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from livn_rl.atomic import write_bytes, write_json
from livn_rl.systems.lateral_line.config import LateralLineConfig
from livn_rl.systems.lateral_line.original import mode_preset, original_values
from livn_rl.experiments.lateral_line.training import RunResult

__all__ = [
    "artifact_stem", "comparison", "default_run_name", "flat_parameters", "params_document", "prepare_run_folder",
    "pv_map_quality", "run_entry", "sanitise_run_name", "save_artifact", "summary_document", "topology",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_run_name() -> str:
    """The original's default run name: the local time as ``YYYYMMDD_HHMMSS``."""
    return time.strftime("%Y%m%d_%H%M%S")


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



def flat_parameters(config: LateralLineConfig) -> dict[str, Any]:
    """Every parameter of ``config`` by its dotted ``--set`` name (``"mon.stdp.a_pre_mv"``), pairs as lists."""
    flat: dict[str, Any] = {}

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                flat[prefix + key] = list(value) if isinstance(value, tuple) else value

    walk(asdict(config), "")
    return flat


def params_document(*, mode: str, seed_start: int, multi_seed: int, run_folder: str, config: LateralLineConfig,
                    **ours: Any) -> dict[str, Any]:
    """``params.json``: the original's keys (``network_params`` flat: the original's parameter names, then every
    parameter of ours by its ``--set`` name), then ours (``ours``: overrides, runs, target, the nested config)."""
    return {
        "mode": mode, "seed_start": seed_start, "multi_seed": multi_seed, "run_folder": run_folder,
        "network_params": {**original_values(config), **flat_parameters(config)},
        "preset": mode_preset(mode), **ours, "config": config.to_dict(),
    }


def _finite(value: float, digits: int = 6) -> float | None:
    return round(float(value), digits) if np.isfinite(value) else None


def pv_map_quality(quality: dict[str, float]) -> dict[str, float | None]:
    """The original's ``pv_map_quality`` of one test: ``sigma_theta_rad``, ``delta_trial_rad``, ``valid_fraction``
    (``null`` where no window was valid)."""
    return {"sigma_theta_rad": _finite(quality["sigma_theta"]), "delta_trial_rad": _finite(quality["delta_trial"]),
            "valid_fraction": _finite(quality["valid_fraction"])}


def run_entry(result: RunResult) -> dict[str, Any]:
    """One run as the original's ``run_summary.json`` gives it, with the pre-test's map quality beside."""
    return {"seed": result.seed, "ts_spikes_during_test_window": int(result.post.ts_counts.sum()),
            "pv_map_quality": pv_map_quality(result.post.quality),
            "pv_map_quality_before_training": pv_map_quality(result.pre.quality)}


def summary_document(config: LateralLineConfig, results: list[RunResult], controls: list[RunResult], *,
                     multi_seed: int, seconds: float, complete: bool) -> dict[str, Any]:
    """``run_summary.json``. The original's keys: ``ll_mon_topo``, ``mon_ts_topo``, ``mon_ts_sigma`` (TS neurons),
    ``mon_ts_gain_mV``; for one seed ``seed``, ``ts_spikes_during_test_window`` and ``pv_map_quality`` of the main
    run, for several a ``runs`` array of them. Ours: ``control_runs`` (paired controls, same shape), ``topology``,
    ``seeds`` (every run in detail), ``comparison`` (STDP against pre-test and control), ``seconds``, ``complete``.

    :param results: the main runs so far (STDP, or the controls with ``--disable-all-stdp``)
    :param controls: the controls paired with them
    """
    original = original_values(config)
    summary: dict[str, Any] = {
        "ll_mon_topo": original["ll_to_mon_topography_strength"], "mon_ts_topo": original["mon_to_ts_topography_strength"],
        "mon_ts_sigma": original["mon_ts_sigma"], "mon_ts_gain_mV": original["mon_ts_gain_mV"],
    }
    if multi_seed == 1 and results:
        summary.update(run_entry(results[0]))
    elif results:
        summary["runs"] = [run_entry(r) for r in results]
    if controls:
        summary["control_runs"] = [run_entry(r) for r in controls]
    every = results + controls
    summary.update({
        "topology": topology(every[0]) if every else None,
        "seeds": {("stdp" if r.stdp else "no_stdp") + f"_seed_{r.seed}": r.summary() for r in every},
        "comparison": comparison([r for r in every if r.stdp], [r for r in every if not r.stdp]),
        "seconds": round(seconds, 1), "complete": complete,
    })
    return summary


def artifact_stem(save_tag: str, seed: int, control: bool = False) -> str:
    """``<save_tag>_seed_<seed>`` (``<save_tag>_control_seed_<seed>`` for a paired control)."""
    return f"{save_tag}{'_control' if control else ''}_seed_{seed}"


def save_artifact(folder: Path, result: RunResult, *, save_tag: str, mode: str, control: bool = False) -> Path:
    """Write ``artifacts/<stem>.npz`` and ``artifacts/<stem>_params.json`` (see :func:`artifact_stem`).

    The npz holds the original's arrays, indices within each population: ``mon_ts_w`` (weights after training, in
    units of weight: mV at ``ts.gain_mv`` = 1), ``mon_ts_i`` (MON), ``mon_ts_j`` (TS), ``ll_mon_i`` (LL),
    ``ll_mon_j`` (MON), ``ll_mon_w_mV``; and ours: ``mon_ts_w_before``, ``ll_mon_w_before_mV``, ``ts_positions_cm``.
    The sidecar holds the original's fields (with the true mode and the test's direction) and ours (the seed,
    which STDP ran, the map quality, the whole config).
    """
    system, config = result.system, result.config
    stem = folder / "artifacts" / artifact_stem(save_tag, result.seed, control)
    arrays: dict[str, np.ndarray] = {}
    for key, pre, post, weight in (("mon_ts", "MON", "TS", "mon_ts_w"), ("ll_mon", "LL", "MON", "ll_mon_w_mV")):
        projection = system.connections[key]
        arrays[f"{key}_i"] = projection["i"] - system.population(pre).start
        arrays[f"{key}_j"] = projection["j"] - system.population(post).start
        arrays[weight] = result.weights_after_mv[key]
    arrays["mon_ts_w_before"] = result.weights_before_mv["mon_ts"]
    arrays["ll_mon_w_before_mV"] = result.weights_before_mv["ll_mon"]
    arrays["ts_positions_cm"] = result.ts_positions_cm
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    npz = write_bytes(stem.with_name(stem.name + ".npz"), buffer.getvalue())
    original = original_values(config)
    stdp = {"ll_mon": config.mon.stdp.enabled, "mon_ts": config.ts.stdp.enabled}
    write_json(stem.with_name(stem.name + "_params.json"), {
        "mode": "ll_thesis" if mode_preset(mode) == "full" else "ll_fast",
        **{key: original[key] for key in ("n_ll", "n_mon", "n_ts", "speed_cm_s", "distance_cm")},
        "direction": 1,
        **{key: original[key] for key in ("training_noise_scale_early", "training_noise_scale_late", "mon_ts_apre",
                                          "mon_ts_apost", "mon_ts_wmax")},
        "direction_meaning": "+1: the test sweep runs from the head (x = 0) to the tail",
        "run": "stdp" if result.stdp else "control: every STDP disabled, the weights are the initial ones",
        "seed": result.seed, "preset": mode_preset(mode), "stdp_enabled": stdp,
        "weights_learned": bool(any(stdp.values())) and config.training.n_trials > 0,
        "n_training_trials": config.training.n_trials,
        "pv_map_quality": pv_map_quality(result.post.quality),
        "pv_map_quality_before_training": pv_map_quality(result.pre.quality),
        "units": {"mon_ts_w": f"units of weight; the EPSP is w x mon_ts_gain_mV ({config.ts.gain_mv:g} mV)",
                  "ll_mon_w_mV": "mV", "noise": "training_noise_scale_*: SD of the afferent rate noise (Hz)"},
        "config": config.to_dict(),
        "load": "livn_rl.systems.lateral_line.artifacts.load_artifact(path) -> (config, seed, weights)",
    })
    return npz


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
