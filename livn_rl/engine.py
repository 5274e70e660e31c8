"""The closed-loop engine: one Brian2 network per (system, MEA, seed), stepped window by window.

Why it is fast. A Brian2 ``Network.run()`` call costs 20-270 ms before it simulates anything (a ``gc.collect()`` and
the re-creation of every code object), more than a whole 20 ms step of S2 should take. So the engine calls
``run()`` once per episode, in a worker thread, and parks it: a ``NetworkOperation`` at every control tick
(``control_dt_ms``, 1 ms by default) either loads the next interval of stimulation or, at the end of a step, hands
the recording to the caller and waits for the next stimulus. Only one of the two threads ever runs at a time.

Why it is exact. ``reset(seed)`` stops the run, restores the network stored right after building (time, membranes,
conductances, synaptic resources, in-flight delayed spikes, monitors), reseeds Brian2's random stream and draws the
initial state from ``seed``. Brian2's random state (numpy's global generator) is swapped in and out around every
step, so user code that draws from ``numpy.random`` between steps changes nothing, and the engine changes nothing of
theirs.

Why it never recompiles. Stimulation enters through one 2-D ``TimedArray`` (one control interval x all neurons)
whose values are overwritten in place; every object has a fixed name, so Brian2's code cache hits on every run.
"""

from __future__ import annotations

import queue
import threading
import types
import weakref
from contextlib import contextmanager
from typing import Sequence

import numpy as np

from livn_rl.checks import check_whole
from livn_rl.mea import MEA
from livn_rl.recording import Recording
from livn_rl.stimulus import Pulse, n_timesteps, render
from livn_rl.systems import System, make_system

_FOREVER_STEPS = 2**39  # the parked run's nominal length (Brian2 warns above 2**40 steps); reset() or close() ends it
_STOP = object()
#: The numpy.random functions Brian2 calls at run time (runtime targets).
_BRIAN2_RANDOM_FUNCTIONS = ("rand", "randn", "poisson", "binomial")
#: The simulation whose generator filled Brian2's (process-wide) Cython random buffers last.
_buffer_owner: weakref.ref | None = None


class _BrianRandom:
    """The ``numpy.random`` functions Brian2 calls at run time, drawn from ``numpy.random.Generator`` streams.

    Brian2's Cython code refills a buffer of 20,000 Gaussians with ``numpy.random.randn(20000)``; the background
    noise takes one per neuron per time step. A Generator takes 17 ns per Gaussian on our machines (the legacy
    ``RandomState`` 40 ns), a fifth of the time step of 16 packed S2 copies. So a producer thread draws them ahead, in
    batches whose filling releases the GIL and runs on the other core while Brian2 integrates. One thread draws
    every Gaussian of the stream, in order, so the numbers do not depend on timing. ``rand``, ``poisson`` and
    ``binomial`` come from a second, independent Generator.
    """

    CHUNK = 20000  # Brian2's buffer size (brian2.codegen.generators.cython_generator._BUFFER_SIZE)
    BATCH = 16  # chunks drawn per call of the producer
    AHEAD = 48  # chunks kept ready at most

    def __init__(self, seed: int) -> None:
        normal_seed, other_seed = np.random.SeedSequence(seed).spawn(2)
        self._normal_generator = np.random.default_rng(normal_seed)
        self.generator = np.random.default_rng(other_seed)
        self._chunks: queue.Queue = queue.Queue(maxsize=self.AHEAD)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rest = np.empty(0)

    def _next_chunk(self) -> np.ndarray:
        if self._thread is None:
            self._thread = threading.Thread(
                target=_produce_normals, args=(self._normal_generator, self._chunks, self._stop, self.CHUNK, self.BATCH),
                name="livn_rl-normals", daemon=True,
            )
            self._thread.start()
        while True:
            try:
                return self._chunks.get(timeout=1.0)
            except queue.Empty:
                if not self._thread.is_alive():
                    raise RuntimeError("the random number thread ended") from None

    def randn(self, *shape):
        n = int(np.prod(shape)) if shape else 1
        if shape == (self.CHUNK,) and not self._rest.size:
            return self._next_chunk()  # a fresh array that owns its data: Brian2's Cython code takes it over
        out = np.empty(n)
        filled = 0
        while filled < n:
            if not self._rest.size:
                self._rest = self._next_chunk()
            take = min(n - filled, self._rest.size)
            out[filled : filled + take] = self._rest[:take]
            self._rest = self._rest[take:]
            filled += take
        return out.reshape(shape) if shape else float(out[0])

    def rand(self, *shape):
        return self.generator.random(shape if shape else None)

    def poisson(self, lam=1.0, size=None):
        return self.generator.poisson(lam, size)

    def binomial(self, n, p, size=None):
        return self.generator.binomial(n, p, size)

    def close(self) -> None:
        self._stop.set()

    def __del__(self) -> None:
        self._stop.set()


def _produce_normals(generator, chunks: queue.Queue, stop: threading.Event, size: int, batch: int) -> None:
    """Draw Gaussians in batches (the GIL is released while numpy fills them) and queue them in chunks that own
    their memory."""
    while not stop.is_set():
        drawn = generator.standard_normal((batch, size))
        for row in drawn:
            chunk = row.copy()
            while True:
                try:
                    chunks.put(chunk, timeout=0.2)
                    break
                except queue.Full:
                    if stop.is_set():
                        return


class _NoCollect(types.SimpleNamespace):
    """Stands in for ``gc`` inside ``brian2.core.network`` while a run starts: Brian2 2.9 runs a full
    ``gc.collect()`` only to warn about unused objects, which costs 65-270 ms per call."""

    @staticmethod
    def collect(*args, **kwargs) -> int:
        return 0


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
    :param target: Brian2 code generation target: ``"auto"`` (Cython if a compiler works, else numpy),
        ``"cython"`` or ``"numpy"``
    :param record_voltages: neuron indices (per copy) whose membrane potential is recorded
    :param background: whether background noise is on (switch later with :meth:`set_background`)
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
        background: bool = True,
    ) -> None:
        check_whole("n_copies", n_copies, 1)
        if target not in ("auto", "cython", "numpy"):
            raise ValueError(f"target must be 'auto', 'cython' or 'numpy', got {target!r}")
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

        positions = self.system.positions_um
        self._stim_matrix = self.mea.stimulation_matrix(positions) * self.system.stimulus_gain()  # (C, N) nA per uA
        detection = self.mea.detection_probability(positions)
        self._detectors = [
            _ChannelDetector(detection, self.mea.false_positive_rate_hz, self.mea.dead_time_ms) for _ in range(n_copies)
        ]

        self._build(background)
        self._master_seed = np.random.SeedSequence(seed)
        self._thread: threading.Thread | None = None
        self.reset(seed)

    # ------------------------------------------------------------------------------------------------- build
    def _build(self, background: bool) -> None:
        import brian2

        brian2.prefs.codegen.target = self.target
        n_total = self.system.n_neurons * self.n_copies
        self._stim_values = np.zeros((self._control_rows, n_total))
        self._stim = brian2.TimedArray(self._stim_values, dt=self.dt_ms * brian2.ms, name="stim_current")
        # TimedArray keeps its own float64 array: fill that one in place from now on
        self._stim_values = self._stim.values
        # explicitly named clocks: automatic names (neurons_clock_1, ...) would differ between simulations that
        # coexist, and the names end up in the generated code, the key of Brian2's compiled-code cache
        self._clock = brian2.Clock(self.dt_ms * brian2.ms, name="simulation_clock")
        built = self.system.build(
            self.n_copies, {"stim_current": self._stim, "stim_rows": self._control_rows}, self._clock
        )
        self._built = built
        self.system.set_background(built, background)
        self._spikes = brian2.SpikeMonitor(built.neurons, name="spike_monitor")  # shares the neurons' clock
        objects = [*built.objects, self._spikes]
        self._voltages = None
        if self._voltage_index.size:
            record = (self._voltage_index[None, :] + self.system.n_neurons * np.arange(self.n_copies)[:, None]).ravel()
            self._voltages = brian2.StateMonitor(
                built.neurons, "v", record=record, clock=self._clock, name="voltage_monitor"
            )
            objects.append(self._voltages)
        self._commands: queue.Queue = queue.Queue()
        self._results: queue.Queue = queue.Queue()
        # On the simulation clock, so that Network.run takes its single-clock path (a second clock makes it sort
        # the clocks at every time step). The operation is called at every time step but returns after one
        # decrement unless a control event (stimulus change, end of step) is due.
        self._countdown = [1]
        self._control = brian2.NetworkOperation(
            _control_tick(weakref.ref(self), self._commands, self._results, self._countdown),
            clock=self._clock, when="start", order=-100, name="control",
        )
        self._net = brian2.Network(*objects, self._control, name="livn_rl_network")
        self._net.store("built")
        self._snapshot_elements()

    # ----------------------------------------------------------------------------------------------- public API
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
        """Switch background noise on or off; takes effect from the next step."""
        self.system.set_background(self._built, bool(enabled))

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
        writable = _element_variables(self._built.neurons, n * k)
        variable = writable.get(name) if isinstance(name, str) else None
        if variable is None:
            raise ValueError(
                f"{name!r} is not a writable per-neuron variable of {self.system.name!r}; choose from {sorted(writable)}"
            )
        if not brian2.have_same_dimensions(values, variable.dim):
            raise ValueError(f"{name} must be a quantity in units of {brian2.get_unit(variable.dim)!r}, got {values!r}")
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
        current = np.array(variable.get_value())
        if copy is None:
            current[:] = np.broadcast_to(array, (k, n)).ravel()
        else:
            current[copy * n : (copy + 1) * n] = array
        variable.set_value(current)

    def reset(self, seed: int | None = None) -> None:
        """Return to the state right after building, then draw a new initial state from ``seed``.

        The same seed always gives the same spikes. Without a seed, the next seed of the sequence started by the
        constructor's seed is used.
        """
        if seed is None:
            seed = int(self._master_seed.spawn(1)[0].generate_state(1)[0])
        check_whole("seed", seed, 0)
        self._stop_worker()
        self._net.restore("built")
        self._stim_values[:] = 0.0
        self._stim_loaded = False
        if getattr(self, "_random", None) is not None:
            self._random.close()
        self._random = _BrianRandom(int(seed))
        global _buffer_owner
        _buffer_owner = None  # the next run refills Brian2's buffers from the fresh generator
        self._record_rngs = [None] * self.n_copies
        for k in range(self.n_copies):
            self._initialise_copy(k, int(seed))
        self.seed = int(seed)
        self._t_ms = 0.0
        self._start_worker()

    def reset_copies(self, copies: Sequence[int], seeds: Sequence[int] | None = None) -> None:
        """Reset some copies to a fresh initial state while the others run on (auto-reset of vector envs).

        Membranes, conductances, synaptic resources, in-flight delayed spikes and the electrodes' state of each
        copy return to what :meth:`reset` gives that copy with the same seed. The background noise stream is shared
        by all copies, so it continues: the copies' states are exact, their future noise is not replayed.

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
        if self._thread is None:
            raise RuntimeError("the simulation is not running; call reset() (it may have been closed or failed)")
        for obj, built, owner in self._elements:
            mask = np.isin(owner, copies)
            if not mask.any():
                continue
            for name, values in built.items():
                variable = obj.variables[name]
                current = np.array(variable.get_value())
                current[mask] = values[mask]
                variable.set_value(current)
            for pathway in getattr(obj, "_pathways", []):
                _drop_queued(pathway.queue, np.flatnonzero(mask))
        for k, seed in zip(copies.tolist(), seeds):
            self._initialise_copy(k, int(seed))

    def _snapshot_elements(self) -> None:
        """Built values of every per-neuron and per-synapse variable, with the copy each element belongs to."""
        import brian2

        n = self.system.n_neurons
        self._elements = []
        for obj in self._net.objects:
            if isinstance(obj, brian2.NeuronGroup):
                owner = np.arange(len(obj)) // n
            elif isinstance(obj, brian2.Synapses):
                owner = np.asarray(obj.variables["_synaptic_pre"].get_value()) // n
            else:
                continue
            built = {name: np.array(var.get_value()) for name, var in _element_variables(obj, owner.size).items()}
            self._elements.append((obj, built, owner))

    def _initialise_copy(self, k: int, seed: int) -> None:
        """Draw copy ``k``'s initial state and electrode stream from ``seed``."""
        n = self.system.n_neurons
        rng = np.random.default_rng([seed, k])
        for name, value in self.system.initial_state(rng, 1).items():
            variable = self._built.neurons.variables[name]
            current = np.array(variable.get_value())
            current[k * n : (k + 1) * n] = value
            variable.set_value(current)
        self._record_rngs[k] = np.random.default_rng([seed, 1, k])
        self._detectors[k].reset()
        self._stim_values[:, k * n : (k + 1) * n] = 0.0

    def step(self, stimulus: np.ndarray | Sequence[Pulse] | None, duration_ms: float) -> Recording:
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
        self, duration_ms: float, stimulus: np.ndarray | Sequence[Pulse] | None = None, *, progress: bool = False,
        chunk_ms: float = 100.0,
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
        """Stop the worker thread; the simulation cannot step afterwards."""
        self._stop_worker()
        self._closed = True
        if getattr(self, "_random", None) is not None:
            self._random.close()

    def __del__(self) -> None:
        try:
            self._stop_worker()
        except Exception:  # interpreter shutdown: nothing left to clean
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

    def _channel_currents(self, stimulus, rows: int) -> np.ndarray | None:
        """Validate a stimulus and return it as ``(n_copies, rows, n_channels)`` uA, or None for no current."""
        if stimulus is None or (isinstance(stimulus, (list, tuple)) and len(stimulus) == 0):
            return None
        c = self.n_channels
        if isinstance(stimulus, Pulse) or (
            isinstance(stimulus, (list, tuple)) and stimulus and all(isinstance(p, Pulse) for p in stimulus)
        ):
            pulses = [stimulus] if isinstance(stimulus, Pulse) else list(stimulus)
            stimulus = render(pulses, c, rows * self.dt_ms, self.dt_ms)
        try:
            array = np.asarray(stimulus, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(
                f"stimulus must be None, a list of Pulse or an array of channel currents (uA), got {type(stimulus).__name__}"
            ) from None
        if array.ndim == 2:
            array = np.broadcast_to(array, (self.n_copies, *array.shape))
        expected = f"({rows}, {c}) or ({self.n_copies}, {rows}, {c})"
        if array.ndim != 3 or array.shape != (self.n_copies, rows, c):
            raise ValueError(f"stimulus has shape {np.shape(stimulus)}, expected {expected} (timesteps of {self.dt_ms} ms x channels)")
        self.mea.check_current(array)
        return array if np.any(array) else None

    # ------------------------------------------------------------------------------------- the parked run
    def _start_worker(self) -> None:
        import brian2
        import brian2.core.network as brian2_network

        if getattr(self, "_closed", False):
            raise RuntimeError("this Simulation was closed")
        for leftover in (self._commands, self._results):
            while not leftover.empty():
                leftover.get_nowait()
        self._currents = None
        self._nonzero = None
        self._chunk = 0
        self._n_chunks = 0
        self._countdown[0] = 1  # the first time step parks the run at t = 0
        self._direct = None
        self._window_start_ms = 0.0
        brian2.prefs.codegen.target = self.target
        real_gc = brian2_network.gc
        brian2_network.gc = _NoCollect()
        self._thread = threading.Thread(
            target=_run_parked, args=(self._net, self.dt_ms, self._results), name="livn_rl-brian2", daemon=True
        )
        try:
            with self._own_random_state():
                self._thread.start()
                self._wait()  # the first control tick parks the run at t = 0
        finally:
            brian2_network.gc = real_gc

    @contextmanager
    def _own_random_state(self):
        """Point Brian2's random draws at this simulation's generator while its thread runs.

        Brian2 draws through the attributes ``numpy.random.rand``/``randn``/... at call time, so swapping those
        attributes (a microsecond) isolates the stream, where copying numpy's global state costs 140 us a step.
        Brian2's Cython code keeps a buffer of pre-drawn numbers; when another simulation used it last, it is
        emptied so that this one refills it from its own generator.
        """
        import brian2

        global _buffer_owner
        saved = {name: getattr(np.random, name) for name in _BRIAN2_RANDOM_FUNCTIONS}
        for name in _BRIAN2_RANDOM_FUNCTIONS:
            setattr(np.random, name, getattr(self._random, name))
        if _buffer_owner is None or _buffer_owner() is not self:
            device = brian2.get_device()
            for index in ("rand_buffer_index", "randn_buffer_index"):
                if hasattr(device, index):
                    getattr(device, index)[:] = 0
            _buffer_owner = weakref.ref(self)
        try:
            yield
        finally:
            for name, function in saved.items():
                setattr(np.random, name, function)

    def _stop_worker(self) -> None:
        if self._thread is None:
            return
        if self._thread is threading.current_thread():  # collected in its own thread: let the run end itself
            self._commands.put(_STOP)
            return
        if self._thread.is_alive():
            with self._own_random_state():
                self._commands.put(_STOP)
                self._thread.join()
        self._thread = None

    def _wait(self):
        while True:
            try:
                result = self._results.get(timeout=0.5)
                break
            except queue.Empty:
                if self._thread is not None and not self._thread.is_alive() and self._results.empty():
                    raise RuntimeError("the simulation thread ended unexpectedly") from None
        if isinstance(result, BaseException):
            self._thread = None
            raise RuntimeError(f"the simulation failed: {result!r}") from result
        if result is _STOP:
            self._thread = None
            raise RuntimeError("the simulation reached the end of its run; call reset()")
        return result

    def _advance(self, currents: np.ndarray | None, n_chunks: int) -> Recording:
        if self._thread is None:
            raise RuntimeError("the simulation is not running; call reset() (it may have been closed or failed)")
        with self._own_random_state():
            self._commands.put((currents, n_chunks))
            spikes_i, spikes_t, v_t, v = self._wait()
        t0 = self._t_ms
        self._t_ms = t0 + n_chunks * self.control_dt_ms
        return self._recording(t0, self._t_ms - t0, spikes_i, spikes_t, v_t, v)

    def _begin(self, command) -> None:
        self._currents, self._n_chunks = command
        self._chunk = 0
        self._nonzero = None
        if self._currents is not None:
            k, rows = self._currents.shape[0], self._control_rows
            self._nonzero = self._currents.reshape(k, self._n_chunks, rows, -1).any(axis=(0, 2, 3))

    def _service(self) -> int:
        """Load (or clear) the stimulus of the current control interval; return the number of time steps until the
        next interval whose stimulus differs, or until the end of the step."""
        c = self._chunk
        if self._nonzero is not None and self._nonzero[c]:
            self._load_chunk(c)
            self._chunk = c + 1
            return self._control_rows
        if self._stim_loaded:
            self._stim_values[:] = 0.0
            self._stim_loaded = False
        later = np.flatnonzero(self._nonzero[c + 1 :]) if self._nonzero is not None else ()
        following = c + 1 + int(later[0]) if len(later) else self._n_chunks
        self._chunk = following
        return (following - c) * self._control_rows

    def _load_chunk(self, c: int) -> None:
        """Write the neuron currents (nA) of control interval ``c`` into the stimulus TimedArray."""
        rows = self._control_rows
        chunk = self._currents[:, c * rows : (c + 1) * rows]  # (K, rows, C)
        per_neuron = self.mea.membrane_current(chunk @ self._stim_matrix)  # (K, rows, N)
        self._stim_values[:] = per_neuron.transpose(1, 0, 2).reshape(rows, -1)
        self._stim_loaded = True

    def _collect(self):
        """Take the spikes (and voltages) recorded since the last hand-off and empty the monitors."""
        mon = self._spikes
        n = int(np.asarray(mon.variables["N"].get_value()).ravel()[0])
        spikes_i = np.array(mon.variables["i"].get_value()[:n], dtype=np.int64)
        spikes_t = np.array(mon.variables["t"].get_value()[:n]) * 1000.0
        mon.resize(0)
        mon.variables["N"].set_value(0)
        v_t = v = None
        if self._voltages is not None:
            vm = self._voltages
            v_t = np.array(vm.variables["t"].get_value()) * 1000.0
            v = np.array(vm.variables["v"].get_value()) * 1000.0  # (n_t, n_recorded)
            vm.resize(0)
            vm.variables["N"].set_value(0)
        return spikes_i, spikes_t, v_t, v

    # ---------------------------------------------------------------------------------------------- recording
    def _recording(self, t0: float, duration: float, spikes_i, spikes_t, v_t, v) -> Recording:
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
        return rec


def _run_parked(net, dt_ms: float, results: queue.Queue) -> None:
    """The worker thread: one run that only reset() or close() ends."""
    import brian2

    try:
        net.run(_FOREVER_STEPS * dt_ms * brian2.ms, namespace={})
        results.put(_STOP)
    except BaseException as err:  # hand every failure to the caller
        results.put(err)
    finally:
        _restore_calls(net)


def _call_code_directly(net, skip) -> list:
    """Let ``Network.run`` call the compiled Cython ``main`` of each object's code directly.

    At every time step ``Network.run`` calls ``obj.run()`` of each object, which calls each of its code objects, which
    update their namespace and call ``run_block``, which calls the compiled ``main(namespace)``. For code objects
    whose namespace never changes during a run (no dynamic arrays resized from outside), the object's ``run`` can be
    replaced by ``main`` bound to its namespace: the same compiled code on the same data, about 1 us less per object
    and time step. Code objects are re-created by every ``run()``, so this is done at the first time step of each
    run and undone when the run ends (:func:`_restore_calls`). The numpy target is left alone.
    """
    import functools

    from brian2.core.base import BrianObject

    patched = []
    for obj in net.sorted_objects:
        if obj is skip or type(obj).run is not BrianObject.run or not obj.active:
            continue
        calls = []
        for codeobj in obj._code_objects:
            compiled = getattr(codeobj, "compiled_code", {}).get("run") if codeobj is not None else None
            main = getattr(compiled, "main", None)
            if main is None or codeobj.nonconstant_values or not callable(main):
                calls = None
                break
            calls.append(functools.partial(main, codeobj.namespace))
        if not calls:
            continue
        if len(calls) == 1:
            obj.run = calls[0]
        else:
            obj.run = functools.partial(_call_all, tuple(calls))
        patched.append(obj)
    net._livn_rl_patched = patched
    return patched


def _call_all(calls) -> None:
    for call in calls:
        call()


def _restore_calls(net) -> None:
    for obj in getattr(net, "_livn_rl_patched", ()):
        obj.__dict__.pop("run", None)
    net._livn_rl_patched = []


def _element_variables(group, size: int) -> dict:
    """The writable, public variables of a NeuronGroup or Synapses that hold one value per element (``size``)."""
    from brian2.core.variables import ArrayVariable

    return {
        name: var for name, var in group.variables.items()
        if isinstance(var, ArrayVariable) and not var.read_only and not var.scalar and not name.startswith("_")
        and var.size == size
    }


def _drop_queued(queue, synapses: np.ndarray) -> None:
    """Remove the in-flight events of ``synapses`` from a Brian2 spike queue (C++ or Python implementation)."""
    state = queue._full_state()
    if state is None or synapses.size == 0:
        return
    if len(state) == 2:  # C++ queue: (offset, [synapse indices per future time step])
        offset, slots = state
        queue._restore_from_full_state((offset, [list(np.setdiff1d(slot, synapses)) for slot in slots]))
    else:  # Python queue: (dt, [[steps ahead, synapse]], shape)
        dt, spikes, shape = state
        spikes = np.asarray(spikes)
        keep = ~np.isin(spikes[:, 1], synapses) if spikes.size else np.ones(0, bool)
        queue._restore_from_full_state((dt, spikes[keep], shape))


class _Orphaned(Exception):
    """Ends the parked run of a Simulation that was garbage collected in the middle of a step."""


def _control_tick(sim_ref: weakref.ref, commands: queue.Queue, results: queue.Queue, countdown: list):
    """The NetworkOperation run at every time step, in the worker thread.

    Most calls only decrement ``countdown``. When it reaches zero, a control event is due: inside a step, the
    stimulus of the next control interval is loaded (or cleared); at the end of a step, the recording is handed over
    and the run parks until the next command. It holds the Simulation only weakly while parked, so a simulation that
    nobody references any more is collected, and its ``__del__`` ends the thread.
    """

    def tick() -> None:
        countdown[0] -= 1
        if countdown[0]:
            return
        sim = sim_ref()
        if sim is None:  # collected mid-step: end the run
            raise _Orphaned()
        if sim._direct is None:  # the first time step of a run: its code objects exist now
            sim._direct = _call_code_directly(sim._net, sim._control)
        if sim._chunk < sim._n_chunks:
            countdown[0] = sim._service()
            return
        results.put(sim._collect())
        network = sim._net
        del sim
        command = commands.get()
        sim = sim_ref()
        if command is _STOP or sim is None:
            countdown[0] = 1
            network.stop()
            return
        sim._begin(command)
        countdown[0] = sim._service()

    return tick


class _ChannelDetector:
    """What the electrodes of one copy detect: spikes within reach, noise crossings, and the dead time.

    Each copy owns one detector and one random stream, so what one copy does never changes what another detects. The
    time of each channel's last detection carries over from step to step, so how time is cut into steps does not
    change the output.
    """

    def __init__(self, probability: np.ndarray, false_positive_rate_hz: float, dead_time_ms: float, floor: float = 1e-4) -> None:
        by_neuron = probability.T  # (N, C)
        reachable = by_neuron > floor
        self._ptr = np.concatenate([[0], np.cumsum(reachable.sum(axis=1))])
        rows, cols = np.nonzero(reachable)
        self._channel = cols.astype(np.int64)
        self._p = by_neuron[rows, cols]
        self._n_channels = probability.shape[0]
        self._false_positive_rate_hz = false_positive_rate_hz
        self._dead_time_ms = dead_time_ms
        self.reset()

    def reset(self) -> None:
        self._last_ms = np.full(self._n_channels, -np.inf)

    def detect(self, neuron: np.ndarray, t_ms: np.ndarray, t0: float, duration: float, rng: np.random.Generator):
        """Channel, time and unit (-1 for noise) of every detection in ``[t0, t0 + duration)``, in time order."""
        counts = self._ptr[neuron + 1] - self._ptr[neuron]
        total = int(counts.sum())
        spike = np.repeat(np.arange(neuron.size), counts)
        offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        pair = self._ptr[neuron][spike] + offset
        seen = rng.random(total) < self._p[pair]
        spike, pair = spike[seen], pair[seen]
        n_noise = rng.poisson(self._false_positive_rate_hz * duration / 1000.0, self._n_channels)
        channel = np.concatenate([self._channel[pair], np.repeat(np.arange(self._n_channels), n_noise)])
        t = np.concatenate([t_ms[spike], t0 + rng.uniform(0.0, duration, int(n_noise.sum()))])
        unit = np.concatenate([neuron[spike], np.full(int(n_noise.sum()), -1, dtype=np.int64)])
        order = np.lexsort((channel, t))
        channel, t, unit = channel[order], t[order], unit[order]
        if self._dead_time_ms > 0 and t.size:
            keep = np.zeros(t.size, dtype=bool)
            last = self._last_ms
            for k in range(t.size):  # sequential by nature; a window holds few detections per channel
                c = channel[k]
                if t[k] - last[c] >= self._dead_time_ms:
                    keep[k] = True
                    last[c] = t[k]
            channel, t, unit = channel[keep], t[keep], unit[keep]
        return channel, t, unit
