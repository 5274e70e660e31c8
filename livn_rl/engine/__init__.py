"""The closed-loop engine: :class:`Simulation` steps a system on an MEA window by window with Brian2.

- :mod:`~livn_rl.engine.simulation`: the public :class:`Simulation`
- :mod:`~livn_rl.engine.parked_run`: one ``Network.run`` per episode, parked between steps in a worker thread
- :mod:`~livn_rl.engine.stimulus_feed`: channel currents loaded into the network one control interval at a time
- :mod:`~livn_rl.engine.monitors`: what is recorded and handed over at each step
- :mod:`~livn_rl.engine.random_stream`: Brian2's run-time draws from the simulation's own generator
- :mod:`~livn_rl.engine.copy_state`: per-copy snapshot and restore (vector-env auto-reset)
- :mod:`~livn_rl.engine.brian2_patches`: what the engine changes in how Brian2 runs a network
"""

from livn_rl.engine.simulation import Simulation

__all__ = ["Simulation"]
