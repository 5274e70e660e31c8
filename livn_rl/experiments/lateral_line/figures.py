"""The figures of a lateral-line run, under the original's file names.

Per run (seed and mode), thirteen kinds (:data:`FIGURE_KINDS`), each saved as
``figures/brian2_<kind>_u_<speed>_nMON_<n_MON>_nTS_<n_TS>[_control][_seed_<seed>].png``: ``u`` is the test speed
in cm/s (``:g``, so ``u_10``), ``_control`` marks the control paired with an STDP run, and ``_seed_<seed>`` appears
when the command runs several seeds; then the first seed's figures are copied once more without it (as the
original does). In mode ``ll_thesis`` the summary and the test-only figure are also copied to
``LL_THESIS_BASELINE_ACTIVE_latest.png`` and ``LL_THESIS_BASELINE_TEST_ONLY_latest.png``; with several seeds,
``brian2_multiseed_summary_n<N>.png`` compares them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from matplotlib.figure import Figure

from livn_rl.atomic import atomic_path, copy_file
from livn_rl.systems.lateral_line.config import LateralLineConfig
from livn_rl.experiments.lateral_line import figures_test_phase as test_phase
from livn_rl.experiments.lateral_line import figures_training as training
from livn_rl.experiments.lateral_line.training import RunResult

__all__ = ["FIGURE_KINDS", "THESIS_COPIES", "figure_name", "multiseed_name", "save_figure", "save_run_figures",
           "save_seed_figures"]

#: The original's thirteen figure kinds, in the order of its README, and what draws each.
FIGURE_KINDS: dict[str, Callable[[RunResult], Figure]] = {
    "spatial_two_stage": training.spatial_two_stage,
    "test_phase_only": test_phase.test_phase_only,
    "learning_curves": training.learning_curves,
    "llmon_weights": training.llmon_weights,
    "ts_tuning": test_phase.ts_tuning,
    "mon_ts_weight_profile": training.mon_ts_weight_profile,
    "mon_to_ts_receptive_fields": training.mon_to_ts_receptive_fields,
    "ts_spikes_vs_x_test": test_phase.ts_spikes_vs_x_test,
    "mon_spikes_vs_x_test": test_phase.mon_spikes_vs_x_test,
    "mon_tuning_examples": test_phase.mon_tuning_examples,
    "mon_ts_drive_heatmap": test_phase.mon_ts_drive_heatmap,
    "mon_ts_drive_winner": test_phase.mon_ts_drive_winner,
    "ts_pop_rate_train_test_transition": test_phase.ts_pop_rate_train_test_transition,
}
#: Mode ``ll_thesis`` copies these kinds (unseeded) to these names.
THESIS_COPIES = {"spatial_two_stage": "LL_THESIS_BASELINE_ACTIVE_latest.png",
                 "test_phase_only": "LL_THESIS_BASELINE_TEST_ONLY_latest.png"}
DPI = 110


def figure_name(kind: str, config: LateralLineConfig, seed: int | None = None, control: bool = False) -> str:
    """``brian2_<kind>_u_<speed>_nMON_<n>_nTS_<n>[_control][_seed_<seed>].png``."""
    if kind not in FIGURE_KINDS:
        raise ValueError(f"unknown figure kind {kind!r}; the kinds are {list(FIGURE_KINDS)}")
    tail = ("_control" if control else "") + ("" if seed is None else f"_seed_{seed}")
    return f"brian2_{kind}_u_{config.source.speed_cm_s:g}_nMON_{config.mon.n}_nTS_{config.ts.n}{tail}.png"


def multiseed_name(n_seeds: int) -> str:
    return f"brian2_multiseed_summary_n{n_seeds}.png"


def save_figure(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG under a temporary name, then rename it to ``path``."""
    with atomic_path(path) as partial:
        fig.savefig(partial, format="png", dpi=DPI)
    return path


def save_seed_figures(folder: Path, result: RunResult, *, several_seeds: bool, control: bool) -> list[Path]:
    """The thirteen figures of one run into ``folder/figures``; ``_seed_<seed>`` in the names if ``several_seeds``."""
    seed = result.seed if several_seeds else None
    return [save_figure(make(result), folder / "figures" / figure_name(kind, result.config, seed, control))
            for kind, make in FIGURE_KINDS.items()]


def save_run_figures(folder: Path, results: list[RunResult], controls: list[RunResult], *, thesis: bool) -> list[Path]:
    """What follows the per-seed figures once every seed ran: with several seeds, the first seed's figures again
    without ``_seed_`` and the multi-seed summary; in mode ``ll_thesis`` the two ``LL_THESIS_*`` copies.

    :param results: the command's main runs (with STDP, or the controls with ``--disable-all-stdp``)
    :param controls: the controls paired with them (empty without)
    :param thesis: whether the mode is ``ll_thesis``
    """
    figures, written = folder / "figures", []
    first = results[0]
    several = len(results) > 1
    if several:
        for control, run in ((False, first), (True, next((c for c in controls if c.seed == first.seed), None))):
            for kind in FIGURE_KINDS if run is not None else ():
                source = figures / figure_name(kind, run.config, run.seed, control)
                written.append(copy_file(source, figures / figure_name(kind, run.config, None, control)))
        written.append(save_figure(training.multiseed_summary(
            [r.summary() for r in results if r.stdp], [r.summary() for r in results + controls if not r.stdp]),
            figures / multiseed_name(len(results))))
    if thesis:
        for kind, name in THESIS_COPIES.items():
            written.append(copy_file(figures / figure_name(kind, first.config), figures / name))
    return written
