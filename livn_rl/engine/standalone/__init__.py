"""The standalone backend: compiled Brian2 C++ standalone programs that run the closed loop themselves.

- :mod:`~livn_rl.engine.standalone.backend`: :class:`StandaloneBackend`, the backend :class:`~livn_rl.Simulation` uses
- :mod:`~livn_rl.engine.standalone.process`: one running program and the protocol spoken with it
- :mod:`~livn_rl.engine.standalone.build`: compiling a model variant once, cached on disk
- ``cpp/``: the loop inside the program (``livn_rl_loop.h``, ``livn_rl_loop.cpp``)
"""

from livn_rl.engine.standalone.backend import StandaloneBackend, default_processes
from livn_rl.engine.standalone.build import StandaloneBuildError, cache_root, compiler_problem

__all__ = ["StandaloneBackend", "StandaloneBuildError", "cache_root", "compiler_problem", "default_processes"]
