"""The lateral line's experiment: training its STDP place map, testing it, run folders and figures (see
docs/lateral_line.md).

- :mod:`~livn_rl.experiments.lateral_line.training`: one seed's pre-test, training and post-test (:func:`run_lateral_line`)
- :mod:`~livn_rl.experiments.lateral_line.runs`: run folders, their JSON files and artifacts, the STDP-control comparison
- :mod:`~livn_rl.experiments.lateral_line.figures`: the thirteen figure kinds and their file names, drawn by
  :mod:`~livn_rl.experiments.lateral_line.figures_training` and :mod:`~livn_rl.experiments.lateral_line.figures_test_phase`
  (with :mod:`~livn_rl.experiments.lateral_line.plotting`)
"""

from livn_rl.experiments.lateral_line.runs import (
    comparison, prepare_run_folder, sanitise_run_name, save_artifact, summary_document, topology,
)
from livn_rl.experiments.lateral_line.training import RunResult, TestResult, run_lateral_line, run_test

__all__ = [
    "RunResult", "TestResult", "comparison", "prepare_run_folder", "run_lateral_line", "run_test", "sanitise_run_name",
    "save_artifact", "summary_document", "topology",
]
