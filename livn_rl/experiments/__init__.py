"""Runs that use the engine: measurements, reference experiments and training.

- :mod:`~livn_rl.experiments.lif`: the LIF neuron's F-I curve (:func:`measure_fi_curve`)
- :mod:`~livn_rl.experiments.ring`: the ring attractor's reference trials, table and figures
- :mod:`~livn_rl.experiments.lateral_line`: training and testing the lateral line's place map, run folders, figures
- :mod:`~livn_rl.experiments.sac`: SAC on a registered env with evaluations, learning curves and replay pretraining

Models (:mod:`livn_rl.systems`) never import this package; the command line (:mod:`livn_rl.cli`) does.
"""

__all__: list[str] = []
