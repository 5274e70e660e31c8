"""One ``Network.run`` per episode, parked between steps in a worker thread.

A Brian2 ``Network.run()`` call costs 20-270 ms before it simulates anything (a ``gc.collect()`` and the
re-creation of every code object), more than a whole 20 ms step of S2 should take. So the engine calls ``run()``
once per episode, in a worker thread, and parks it: a ``NetworkOperation`` at every time step counts down to the
next control event; at an event it either loads the next interval of stimulation or, at the end of a step, hands
the recording to the caller and waits for the next command. Only one of the two threads ever runs at a time.

The protocol: the caller puts ``(currents, n_chunks)`` on ``commands`` and takes the recording from ``results``;
:data:`STOP` on ``commands`` ends the run. The operation holds its :class:`ParkedRun` only weakly while parked, so
a simulation nobody references any more is collected, and its ``__del__`` ends the thread.
"""

from __future__ import annotations

import queue
import threading
import weakref
from contextlib import nullcontext
from typing import Any, Callable, ContextManager

from livn_rl.engine.brian2_patches import call_code_directly, restore_calls, without_gc_collect
from livn_rl.engine.monitors import Monitors
from livn_rl.engine.stimulus_feed import StimulusFeed

__all__ = ["STOP", "ParkedRun"]

#: The parked run's nominal length in time steps (Brian2 warns above 2**40 steps); stop() ends it.
FOREVER_STEPS = 2**39
#: The command that ends the run (and what the run answers when it ended).
STOP = object()


class _Orphaned(Exception):
    """Ends the parked run of a simulation that was garbage collected in the middle of a step."""


class ParkedRun:
    """The worker thread that runs one network per episode, and the control operation that parks it.

    :param clock: the simulation clock (the operation runs on it, so ``Network.run`` keeps its single-clock path)
    :param feed: the stimulus feed the control events serve
    :param monitors: the monitors emptied at the end of each step
    """

    def __init__(self, clock, feed: StimulusFeed, monitors: Monitors) -> None:
        import brian2

        self.feed = feed
        self.monitors = monitors
        self.network = None
        self.thread: threading.Thread | None = None
        self.patched: list | None = None
        self._commands: queue.Queue = queue.Queue()
        self._results: queue.Queue = queue.Queue()
        self._countdown = [1]
        self.operation = brian2.NetworkOperation(
            _control_tick(weakref.ref(self), self._commands, self._results, self._countdown),
            clock=clock, when="start", order=-100, name="control",
        )

    @property
    def running(self) -> bool:
        return self.thread is not None

    def start(self, network, dt_ms: float) -> None:
        """Start ``network``'s run in a new thread and wait until it parks at its first time step."""
        for leftover in (self._commands, self._results):
            while not leftover.empty():
                leftover.get_nowait()
        self.network = network
        self.patched = None
        self._countdown[0] = 1  # the first time step parks the run at t = 0
        self.thread = threading.Thread(
            target=_run_parked, args=(network, dt_ms, self._results), name="livn_rl-brian2", daemon=True
        )
        with without_gc_collect():
            self.thread.start()
            self.wait()

    def advance(self, currents, n_chunks: int):
        """Run one step of ``n_chunks`` control intervals; returns what the monitors took."""
        if self.thread is None:
            raise RuntimeError(
                "the simulation is not running; call reset() (it was closed, failed, or stopped by a second Ctrl-C)"
            )
        self._commands.put((currents, n_chunks))
        return self.wait()

    def stop(self, context: Callable[[], ContextManager] = nullcontext) -> None:
        """End the run and join its thread (from another thread), or ask it to end itself (from its own).

        :param context: entered while the run winds down in its thread (the simulation's random stream)
        """
        if self.thread is None:
            return
        if self.thread is threading.current_thread():  # collected in its own thread: let the run end itself
            self._commands.put(STOP)
            return
        if self.thread.is_alive():
            with context():
                self._commands.put(STOP)
                self.thread.join()
        self.thread = None

    def abort(self) -> None:
        """End the run at once (after its current time step, even mid-step); :meth:`start` begins a new one."""
        if self.thread is None:
            return
        if self.network is not None:
            self.network.stop()  # ends the run loop after the current time step, if it is not parked
        self._commands.put(STOP)  # ends it if it is parked
        self.thread.join()
        self.thread = None

    def wait(self) -> Any:
        """The next result of the run; failures of the run are raised here, in the caller's thread."""
        while True:
            try:
                result = self._results.get(timeout=0.5)
                break
            except queue.Empty:
                if self.thread is not None and not self.thread.is_alive() and self._results.empty():
                    raise RuntimeError("the simulation thread ended unexpectedly") from None
        if isinstance(result, BaseException):
            self.thread = None
            raise RuntimeError(f"the simulation failed: {result!r}") from result
        if result is STOP:
            self.thread = None
            raise RuntimeError("the simulation reached the end of its run; call reset()")
        return result


def _run_parked(net, dt_ms: float, results: queue.Queue) -> None:
    """The worker thread: one run that only :meth:`ParkedRun.stop` ends."""
    import brian2

    try:
        net.run(FOREVER_STEPS * dt_ms * brian2.ms, namespace={})
        results.put(STOP)
    except BaseException as err:  # hand every failure to the caller
        results.put(err)
    finally:
        restore_calls(net)


def _control_tick(run_ref: weakref.ref, commands: queue.Queue, results: queue.Queue, countdown: list):
    """The NetworkOperation run at every time step, in the worker thread.

    Most calls only decrement ``countdown``. When it reaches zero, a control event is due: inside a step, the
    stimulus of the next control interval is loaded (or cleared); at the end of a step, the recording is handed over
    and the run parks until the next command.
    """

    def tick() -> None:
        countdown[0] -= 1
        if countdown[0]:
            return
        run = run_ref()
        if run is None:  # collected mid-step: end the run
            raise _Orphaned()
        if run.patched is None:  # the first time step of a run: its code objects exist now
            run.patched = call_code_directly(run.network, run.operation)
        if not run.feed.done:
            countdown[0] = run.feed.service()
            return
        results.put(run.monitors.take())
        network = run.network
        del run  # parked without a strong reference
        command = commands.get()
        run = run_ref()
        if command is STOP or run is None:
            countdown[0] = 1
            network.stop()
            return
        run.feed.begin(*command)
        countdown[0] = run.feed.service()

    return tick
