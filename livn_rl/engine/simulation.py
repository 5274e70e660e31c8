"""The closed-loop engine: one Brian2 network per (system, MEA, seed), stepped window by window.

Why it is fast. The network's ``run()`` is called once per episode and parked between steps
(:mod:`~livn_rl.engine.parked_run`); stimulation is loaded one control interval at a time
(:mod:`~livn_rl.engine.stimulus_feed`) and intervals without current are skipped in one jump.

Why it is exact. ``reset(seed)`` stops the run, restores the network stored right after building (time, membranes,
conductances, synaptic resources, in-flight delayed spikes, monitors), reseeds the random stream and draws the
initial state from ``seed``. Brian2's random draws come from the simulation's own stream
(:mod:`~livn_rl.engine.random_stream`), so user code that draws from ``numpy.random`` between steps changes nothing,
and the engine changes nothing of theirs.

Why it never recompiles. Stimulation enters through one 2-D ``TimedArray`` whose values are overwritten in place;
every object has a fixed name, so Brian2's code cache hits on every run.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from livn_rl.checks import check_whole
from livn_rl.engine.copy_state import element_variables, restore_copies, snapshot
from livn_rl.engine.interrupts import hold_interrupts
from livn_rl.engine.monitors import Monitors
from livn_rl.engine.parked_run import ParkedRun
from livn_rl.engine.random_stream import BrianRandom, drawing_from, forget_buffer_owner
from livn_rl.engine.stimulus_feed import StimulusFeed
from livn_rl.mea import MEA, ChannelDetector
from livn_rl.recording import Recording
from livn_rl.stimulus import StimulusLike, as_currents, n_timesteps
from livn_rl.systems import System, make_system

__all__ = ["Simulation"]


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
    :param record_traces: further variables of the system's neurons recorded for the same cells
        (``Recording.traces``, SI units), e.g. ``("u", "g_ampa", "I_syn")`` for the ring
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
        record_traces: Sequence[str] = (),
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
        self._traces = tuple(record_traces)
        if self._traces and not self._voltage_index.size:
            raise ValueError(f"record_traces={list(self._traces)} needs the cells to record: pass record_voltages")

        detection = self.mea.detection_probability(self.system.positions_um)
        self._detectors = [
            ChannelDetector(detection, self.mea.false_positive_rate_hz, self.mea.dead_time_ms) for _ in range(n_copies)
        ]
        self._random: BrianRandom | None = None
        self._closed = False
        self._build(background)
        self._master_seed = np.random.SeedSequence(seed)
        self.reset(seed)

    # ------------------------------------------------------------------------------------------------- build
    def _build(self, background: bool) -> None:
        import brian2

        brian2.prefs.codegen.target = self.target
        n = self.system.n_neurons
        stim = brian2.TimedArray(np.zeros((self._control_rows, n * self.n_copies)), dt=self.dt_ms * brian2.ms,
                                 name="stim_current")
        # the TimedArray keeps its own float64 array: the feed fills that one in place from now on
        drive = self.mea.stimulation_matrix(self.system.positions_um) * self.system.stimulus_gain()  # (C, N) nA per uA
        self._feed = StimulusFeed(stim.values, self._control_rows, drive, self.mea.membrane_current)
        # explicitly named clocks: automatic names (neurons_clock_1, ...) would differ between simulations that
        # coexist, and the names end up in the generated code, the key of Brian2's compiled-code cache
        clock = brian2.Clock(self.dt_ms * brian2.ms, name="simulation_clock")
        self._built = self.system.build(self.n_copies, {"stim_current": stim, "stim_rows": self._control_rows}, clock)
        self.system.set_background(self._built, background)
        record = (self._voltage_index[None, :] + n * np.arange(self.n_copies)[:, None]).ravel()
        variables = self._built.neurons.variables
        known = sorted(k for k in variables if not k.startswith("_") and k not in ("N", "i", "t", "dt", "t_in_timesteps"))
        unknown = [name for name in self._traces if name not in known]
        if unknown:
            raise ValueError(f"record_traces: {self.system.name} has no variable(s) {unknown}; it has {known}")
        self._monitors = Monitors(self._built.neurons, clock, record, self._traces)
        self._run = ParkedRun(clock, self._feed, self._monitors)
        self._net = brian2.Network(*self._built.objects, *self._monitors.objects, self._run.operation,
                                   name="livn_rl_network")
        self._net.store("built")
        self._elements = snapshot(self._net, n)

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
        writable = element_variables(self._built.neurons, n * k)
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
        with hold_interrupts():
            self._stop_run()
            self._net.restore("built")
            self._feed.clear()
            if self._random is not None:
                self._random.close()
            self._random = BrianRandom(int(seed))
            forget_buffer_owner()  # the next run refills Brian2's buffers from the fresh stream
            self._record_rngs: list[np.random.Generator | None] = [None] * self.n_copies
            for k in range(self.n_copies):
                self._initialise_copy(k, int(seed))
            self.seed = int(seed)
            self._t_ms = 0.0
            self._start_run()

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
        if not self._run.running:
            raise RuntimeError("the simulation is not running; call reset() (it was closed, failed, or stopped by a second Ctrl-C)")
        with hold_interrupts():
            restore_copies(self._elements, copies)
            for k, seed in zip(copies.tolist(), seeds):
                self._initialise_copy(k, int(seed))

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
        self._feed.clear(slice(k * n, (k + 1) * n))

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
        """Stop the worker thread; the simulation cannot step afterwards."""
        self._stop_run()
        self._closed = True
        if self._random is not None:
            self._random.close()

    def __del__(self) -> None:
        try:
            self._stop_run()
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

    # ------------------------------------------------------------------------------------- the parked run
    def _start_run(self) -> None:
        import brian2

        if self._closed:
            raise RuntimeError("this Simulation was closed")
        brian2.prefs.codegen.target = self.target
        with drawing_from(self, self._random):
            self._run.start(self._net, self.dt_ms)  # the first control tick parks the run at t = 0

    def _stop_run(self) -> None:
        run = getattr(self, "_run", None)
        if run is not None:
            run.stop(lambda: drawing_from(self, self._random))

    def _advance(self, currents: np.ndarray | None, n_chunks: int) -> Recording:
        """One step of the parked run. Ctrl-C during it is raised when the step is done and booked, so the simulation
        stays between two steps and can go on; a second Ctrl-C stops its run at once (reset() starts it again)."""
        with hold_interrupts():
            with drawing_from(self, self._random):
                try:
                    spikes_i, spikes_t, v_t, v, traces = self._run.advance(currents, n_chunks)
                except KeyboardInterrupt:
                    self._run.abort()
                    raise
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
