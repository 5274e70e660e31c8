"""The closed-loop engine: a system on an MEA, stepped window by window on one of two backends.

- ``"standalone"`` (:mod:`~livn_rl.engine.standalone`): the model compiled once into Brian2 C++ standalone
  programs that run the whole time loop and hand each window over; the fastest, where a C++ compiler works.
- ``"runtime"`` (:mod:`~livn_rl.engine.runtime_backend`): Brian2's runtime mode (Cython or numpy), one parked
  ``Network.run`` per episode; runs everywhere, and every system.

``backend="auto"`` (the default) takes the standalone backend when the runtime ``target`` was left at ``"auto"``,
the system can run there (:attr:`~livn_rl.systems.System.supports_standalone`) and a compiler works, and the
runtime backend otherwise, saying why when it falls back for want of a compiler or a compile. The environment
variable ``LIVN_RL_BACKEND`` (``standalone`` or ``runtime``) sets what ``"auto"`` means.

On both, the same seed gives the same spikes, ``reset`` is exact, ``reset_copies`` resets single copies in place,
nothing recompiles after the first build of a model, and the user's ``numpy.random`` is neither used nor changed.
This class composes: it checks arguments and stimuli, draws initial states, and turns the backend's spikes into
recordings through the MEA's electrodes.
"""

from __future__ import annotations

import os
import sys
from typing import Sequence

import numpy as np

from livn_rl.checks import check_whole
from livn_rl.engine.interrupts import hold_interrupts
from livn_rl.engine.runtime_backend import RuntimeBackend
from livn_rl.engine.standalone import StandaloneBackend, StandaloneBuildError, compiler_problem, default_processes
from livn_rl.mea import MEA, ChannelDetector
from livn_rl.recording import Recording
from livn_rl.stimulus import StimulusLike, as_currents, n_timesteps
from livn_rl.systems import System, make_system

__all__ = ["BACKENDS", "Simulation"]

#: What ``backend=`` accepts.
BACKENDS = ("auto", "standalone", "runtime")


class Simulation:
    """A system on an MEA in a closed loop.

    >>> sim = Simulation("S2", seed=0)
    >>> rec = sim.step(None, 20.0)                  # 20 ms without stimulation
    >>> rec.channel_counts                           # (n_copies, n_channels)
    >>> sim.reset(seed=1)

    :param system: a :class:`~livn_rl.systems.System` or anything :func:`~livn_rl.systems.make_system` accepts
    :param mea: electrode array; defaults to the system's own
    :param seed: seed of the first episode (later ``reset()`` calls without a seed derive theirs from it)
    :param n_copies: independent copies simulated in one network (for vector environments)
    :param dt_ms: integration time step (ms)
    :param control_dt_ms: granularity of step lengths (ms); every step must be a whole number of it
    :param target: the runtime backend's Brian2 code generation target: ``"auto"`` (Cython if a compiler works,
        else numpy), ``"cython"`` or ``"numpy"``; choosing one chooses the runtime backend
    :param record_voltages: neuron indices (per copy) whose membrane potential is recorded
    :param record_traces: further variables of the system's neurons recorded for the same cells
        (``Recording.traces``, SI units), e.g. ``("u", "g_ampa", "I_syn")`` for the ring; runtime backend only
    :param background: whether background noise is on after building and after every reset (switch it between
        steps with :meth:`set_background`)
    :param backend: ``"auto"``, ``"standalone"`` or ``"runtime"`` (see the module's description); the one chosen
        is :attr:`backend`
    :param processes: standalone backend only: compiled programs the copies are split over, which run side by side
        (default: 2 from 8 copies on, else 1). Spikes depend on it, as on ``n_copies``, not on the machine.
    """

    def __init__(
        self,
        system: System | str,
        mea: MEA | None = None,
        *,
        seed: int = 0,
        n_copies: int = 1,
        dt_ms: float = 0.1,
        control_dt_ms: float = 1.0,
        target: str = "auto",
        record_voltages: Sequence[int] | None = None,
        record_traces: Sequence[str] = (),
        background: bool = True,
        backend: str = "auto",
        processes: int | None = None,
    ) -> None:
        check_whole("n_copies", n_copies, 1)
        if target not in ("auto", "cython", "numpy"):
            raise ValueError(f"target must be 'auto', 'cython' or 'numpy', got {target!r}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
        if processes is not None:
            check_whole("processes", processes, 1)
            if processes > n_copies:
                raise ValueError(f"processes={processes} is more than n_copies={n_copies}: every program needs a copy")
        if not (isinstance(dt_ms, (int, float)) and np.isfinite(dt_ms) and dt_ms > 0):
            raise ValueError(f"dt_ms must be a finite number > 0, got {dt_ms!r}")
        self._control_rows = n_timesteps(control_dt_ms, dt_ms)
        self.system = make_system(system)
        self.mea = mea if mea is not None else getattr(self.system, "mea", None)
        if self.mea is None:
            raise ValueError(f"system {self.system.name!r} has no default MEA; pass mea=")
        self.mea.check_coverage(self.system.positions_um)
        self.n_copies = int(n_copies)
        self.dt_ms = float(dt_ms)
        self.control_dt_ms = float(control_dt_ms)
        self.target = target
        n = self.system.n_neurons
        self._voltage_index = np.asarray(record_voltages if record_voltages is not None else [], dtype=np.int64)
        if self._voltage_index.size and (self._voltage_index.min() < 0 or self._voltage_index.max() >= n):
            raise ValueError(f"record_voltages must be neuron indices in 0..{n - 1}, got {self._voltage_index.tolist()}")
        self._traces = tuple(record_traces)
        if self._traces and not self._voltage_index.size:
            raise ValueError(f"record_traces={list(self._traces)} needs the cells to record: pass record_voltages")

        detection = self.mea.detection_probability(self.system.positions_um)
        self._detectors = [
            ChannelDetector(detection, self.mea.false_positive_rate_hz, self.mea.dead_time_ms) for _ in range(n_copies)
        ]
        self._record_rngs: list[np.random.Generator | None] = [None] * self.n_copies
        self._closed = False
        self._backend = self._make_backend(backend, processes, bool(background))
        self._master_seed = np.random.SeedSequence(seed)
        self.reset(seed)

    # ------------------------------------------------------------------------------------------------- build
    def _make_backend(self, requested: str, processes: int | None, background: bool):
        """Build the requested backend, or for ``"auto"`` the standalone one where it can run, else the runtime one."""
        choice = requested
        if choice == "auto":
            choice = os.environ.get("LIVN_RL_BACKEND", "auto") or "auto"
            if choice not in BACKENDS:
                raise ValueError(f"the environment variable LIVN_RL_BACKEND must be 'standalone' or 'runtime', got {choice!r}")
        if choice == "standalone" and self.target != "auto":
            raise ValueError(f"target={self.target!r} is a setting of the runtime backend; the standalone backend "
                             "compiles C++ (leave target='auto', or use backend='runtime')")
        if requested == "runtime" and processes is not None:
            raise ValueError(f"processes={processes} is a setting of the standalone backend, not of backend='runtime'")
        if not getattr(self.system, "supports_standalone", True):
            if choice == "standalone":
                raise ValueError(f"system {self.system.name!r} reads or writes its Brian2 objects between steps, which "
                                 "only backend='runtime' allows")
            choice = "runtime"
        if self._traces:
            if choice == "standalone":
                raise ValueError(f"record_traces={list(self._traces)} is recorded by backend='runtime' only (the "
                                 "standalone backend records spikes and v)")
            choice = "runtime"
        if choice == "auto" and self.target != "auto":
            choice = "runtime"  # the caller chose a runtime code generation target
        n = self.system.n_neurons
        drive = self.mea.stimulation_matrix(self.system.positions_um) * self.system.stimulus_gain()  # (C, N) nA per uA
        record = (self._voltage_index[None, :] + n * np.arange(self.n_copies)[:, None]).ravel()
        if choice in ("auto", "standalone"):
            try:
                problem = compiler_problem()
                if problem:
                    raise StandaloneBuildError(problem)
                return StandaloneBackend(self.system, self.n_copies, self.dt_ms, self._control_rows, drive,
                                         self.mea.membrane_current, record, background,
                                         processes or default_processes(self.n_copies))
            except StandaloneBuildError as err:
                if choice == "standalone":
                    raise StandaloneBuildError(f"backend='standalone': {err}\n(backend='runtime' runs this system "
                                               "without compiling C++; backend='auto' falls back to it)") from None
                print(f"livn_rl: the standalone backend is not available ({err}); using the runtime backend "
                      "(Brian2 runtime mode) instead", file=sys.stderr, flush=True)
        return RuntimeBackend(self.system, self.n_copies, self.dt_ms, self._control_rows, drive,
                              self.mea.membrane_current, record, background, self.target, self._traces)

    # ----------------------------------------------------------------------------------------------- public API
    @property
    def backend(self) -> str:
        """The backend this simulation runs on: ``"standalone"`` or ``"runtime"``."""
        return self._backend.name

    @property
    def time_ms(self) -> float:
        """Simulated time since the last reset (ms)."""
        return self._t_ms

    @property
    def n_channels(self) -> int:
        return self.mea.n_channels

    @property
    def n_neurons(self) -> int:
        return self.system.n_neurons

    def set_background(self, enabled: bool) -> None:
        """Switch background noise on or off; takes effect from the next step (:meth:`reset` returns to the
        constructor's ``background``)."""
        with hold_interrupts():
            self._backend.set_background(bool(enabled))

    def set_neuron_variable(self, name: str, values, copy: int | None = None) -> None:
        """Set a per-neuron variable of the system's neurons between steps, e.g. a LIF's input current ``I_ext``.

        Takes effect from the next step. :meth:`reset` (and :meth:`reset_copies` for the copies it resets) restores
        the value the system was built with.

        :param name: a writable per-neuron variable of the neurons' equations (``"I_ext"``, ``"v"``, ...)
        :param values: a Brian2 quantity in the variable's units (plain numbers for dimensionless variables): a
            scalar, one value per neuron ``(n_neurons,)``, or, without ``copy``, ``(n_copies, n_neurons)``
        :param copy: set only this copy's neurons (default: every copy)
        """
        import brian2

        n, k = self.system.n_neurons, self.n_copies
        writable = self._backend.variables
        dim = writable.get(name) if isinstance(name, str) else None
        if dim is None:
            raise ValueError(
                f"{name!r} is not a writable per-neuron variable of {self.system.name!r}; choose from {sorted(writable)}"
            )
        if not brian2.have_same_dimensions(values, dim):
            raise ValueError(f"{name} must be a quantity in units of {brian2.get_unit(dim)!r}, got {values!r}")
        array = np.asarray(values, dtype=float)
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} values must be finite, got {values!r}")
        if copy is not None:
            if isinstance(copy, bool) or not isinstance(copy, (int, np.integer)) or not 0 <= copy < k:
                raise ValueError(f"copy must be a copy index in 0..{k - 1}, got {copy!r}")
            shapes = ((), (n,))
        else:
            shapes = ((), (n,), (k, n))
        if array.shape not in shapes:
            raise ValueError(f"{name} values have shape {array.shape}, expected one of {list(shapes)}")
        with hold_interrupts():
            if copy is None:
                self._backend.write(name, np.broadcast_to(array, (k, n)).ravel(), 0)
            else:
                self._backend.write(name, np.broadcast_to(array, (n,)), int(copy) * n)

    def reset(self, seed: int | None = None) -> None:
        """Return to the state right after building, then draw a new initial state from ``seed``.

        The same seed always gives the same spikes. Without a seed, the next seed of the sequence started by the
        constructor's seed is used.
        """
        if seed is None:
            seed = int(self._master_seed.spawn(1)[0].generate_state(1)[0])
        check_whole("seed", seed, 0)
        if self._closed:
            raise RuntimeError("this Simulation was closed")
        with hold_interrupts():
            states = [self._fresh_copy(k, int(seed)) for k in range(self.n_copies)]
            self._backend.reset(int(seed), states)
            self.seed = int(seed)
            self._t_ms = 0.0

    def reset_copies(self, copies: Sequence[int], seeds: Sequence[int] | None = None) -> None:
        """Reset some copies to a fresh initial state while the others run on (auto-reset of vector envs).

        Membranes, conductances, synaptic resources, in-flight delayed spikes and the electrodes' state of each
        copy return to what :meth:`reset` gives that copy with the same seed. The background noise stream goes on,
        so the copies' states are exact, their future noise is not replayed.

        :param copies: indices of the copies to reset
        :param seeds: one seed per copy (default: the next seeds of the constructor's sequence)
        """
        copies = np.asarray(copies, dtype=np.int64).ravel()
        if copies.size == 0:
            return
        if copies.min() < 0 or copies.max() >= self.n_copies or np.unique(copies).size != copies.size:
            raise ValueError(f"copies must be distinct indices in 0..{self.n_copies - 1}, got {copies.tolist()}")
        if seeds is None:
            seeds = [int(s.generate_state(1)[0]) for s in self._master_seed.spawn(copies.size)]
        seeds = list(seeds)
        if len(seeds) != copies.size or any(isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 0 for x in seeds):
            raise ValueError(f"seeds must be {copies.size} whole numbers >= 0, got {seeds!r}")
        if not self._backend.running:
            raise RuntimeError("the simulation is not running; call reset() (it was closed, failed, or stopped by a second Ctrl-C)")
        with hold_interrupts():
            states = [self._fresh_copy(k, int(seed)) for k, seed in zip(copies.tolist(), seeds)]
            self._backend.reset_copies(copies, states)

    def _fresh_copy(self, k: int, seed: int) -> dict:
        """Copy ``k``'s initial state drawn from ``seed``; its electrodes restart with their own stream."""
        state = self.system.initial_state(np.random.default_rng([seed, k]), 1)
        self._record_rngs[k] = np.random.default_rng([seed, 1, k])
        self._detectors[k].reset()
        return state

    def step(self, stimulus: StimulusLike, duration_ms: float) -> Recording:
        """Simulate ``duration_ms`` with ``stimulus`` and return what was recorded in that window.

        :param stimulus: ``None``; channel currents in uA on the simulation grid, shaped ``(n_timesteps,
            n_channels)`` for all copies or ``(n_copies, n_timesteps, n_channels)``; or a list of
            :class:`~livn_rl.stimulus.Pulse` (onsets relative to the window) applied to every copy
        :param duration_ms: window length (ms), a whole multiple of ``control_dt_ms``
        """
        n_chunks = self._chunks(duration_ms)
        currents = self._channel_currents(stimulus, n_chunks * self._control_rows)
        return self._advance(currents, n_chunks)

    def run(
        self, duration_ms: float, stimulus: StimulusLike = None, *, progress: bool = False, chunk_ms: float = 100.0,
    ) -> Recording:
        """Open loop: simulate ``duration_ms`` (with an optional stimulus over the whole span) and return one
        recording. With ``progress=True`` a progress bar advances every ``chunk_ms``."""
        n_chunks = self._chunks(duration_ms)
        rows = n_chunks * self._control_rows
        currents = self._channel_currents(stimulus, rows)
        per_part = max(1, self._chunks(chunk_ms)) if progress else n_chunks
        parts = []
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=float(duration_ms), unit="ms", desc=f"simulating {self.system.name}", leave=False)
        try:
            for first in range(0, n_chunks, per_part):
                count = min(per_part, n_chunks - first)
                part = None if currents is None else currents[:, first * self._control_rows : (first + count) * self._control_rows]
                parts.append(self._advance(part, count))
                if bar is not None:
                    bar.update(count * self.control_dt_ms)
        finally:
            if bar is not None:
                bar.close()
        return Recording.concatenate(parts)

    def close(self) -> None:
        """Stop the backend (its worker thread or compiled programs); the simulation cannot step afterwards."""
        self._closed = True
        backend = getattr(self, "_backend", None)
        if backend is not None:
            backend.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown, or a half-built simulation: nothing left to clean
            pass

    def __enter__(self) -> "Simulation":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------- input checks
    def _chunks(self, duration_ms: float) -> int:
        rows = n_timesteps(duration_ms, self.dt_ms)
        if rows % self._control_rows:
            raise ValueError(
                f"duration {duration_ms!r} ms is not a whole multiple of control_dt_ms={self.control_dt_ms} ms"
            )
        return rows // self._control_rows

    def _channel_currents(self, stimulus: StimulusLike, rows: int) -> np.ndarray | None:
        """Validate a stimulus and return it as ``(n_copies, rows, n_channels)`` uA, or None for no current."""
        c = self.n_channels
        array = as_currents(stimulus, c, rows * self.dt_ms, self.dt_ms)
        if array is None:
            return None
        if array.ndim == 2:
            array = np.broadcast_to(array, (self.n_copies, *array.shape))
        expected = f"({rows}, {c}) or ({self.n_copies}, {rows}, {c})"
        if array.ndim != 3 or array.shape != (self.n_copies, rows, c):
            raise ValueError(f"stimulus has shape {np.shape(stimulus)}, expected {expected} (timesteps of {self.dt_ms} ms x channels)")
        self.mea.check_current(array)
        return array if np.any(array) else None

    # ------------------------------------------------------------------------------------------------- steps
    def _advance(self, currents: np.ndarray | None, n_chunks: int) -> Recording:
        """One step on the backend. Ctrl-C during it is raised when the step is done and booked, so the simulation
        stays between two steps and can go on; a second Ctrl-C stops the backend at once (reset() starts it again)."""
        with hold_interrupts():
            spikes_i, spikes_t, v_t, v, traces = self._backend.advance(currents, n_chunks)
            t0 = self._t_ms
            self._t_ms = t0 + n_chunks * self.control_dt_ms
            return self._recording(t0, self._t_ms - t0, spikes_i, spikes_t, v_t, v, traces)

    # ---------------------------------------------------------------------------------------------- recording
    def _recording(self, t0: float, duration: float, spikes_i, spikes_t, v_t, v, traces: dict) -> Recording:
        n = self.system.n_neurons
        copy, local = np.divmod(spikes_i, n)
        parts = [
            self._detectors[k].detect(local[copy == k], spikes_t[copy == k], t0, duration, self._record_rngs[k])
            for k in range(self.n_copies)
        ]
        channel = np.concatenate([p[0] for p in parts])
        counts = [p[0].size for p in parts]
        rec = Recording(
            t0, duration, n, self.n_channels, self.n_copies,
            local, spikes_t, copy,
            channel, np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]),
            np.repeat(np.arange(self.n_copies), counts),
        )
        if v is not None:
            k = self._voltage_index.size
            rec.voltage_index = self._voltage_index
            rec.voltage_t_ms = v_t
            rec.voltage_mv = v.T.reshape(self.n_copies, k, -1)
            rec.traces = {name: values.T.reshape(self.n_copies, k, -1) for name, values in traces.items()}
        return rec
