"""One compiled standalone program, running some copies of a system, and the protocol the Python side speaks to it.

The program (``cpp/livn_rl_loop.cpp``) and this process share one memory area (a ``memfd``, so nothing appears in
the file system) and two pipes. Every message is eight 64-bit integers. A command goes down the command pipe; the
program answers on the reply pipe when it is done. Large data (stimulus rows, values, spikes, voltages) lives in the
shared areas, in this order: ``payload`` (float64), ``descriptor`` (int64), ``voltage`` (float64), ``spike_i`` and
``spike_step`` (int32), ``slots`` (int32).

========================  =========================================================================================
command (word 0, word 1)  what the program does
========================  =========================================================================================
``ADVANCE rows``          simulate ``rows`` time steps; ``slots[r]`` is the payload row holding time step ``r``'s
                          stimulus (one current per neuron, nA), -1 for none. It answers at the end with the number
                          of spikes, which are in ``spike_i``/``spike_step`` (step counted from the advance's first);
                          recorded voltages are in ``voltage`` (one row per time step)
``SET entries``           ``descriptor`` holds (variable, first element, count) triples; ``payload`` their values
``RESET words``           restore every variable to its first-time-step value, empty the spike queues, set t = 0 and
                          seed the noise with ``descriptor[:words]``
``RESTORE_COPIES n``      restore the variables of copies ``descriptor[:n]`` and drop their queued synaptic events
``RECORD n``              record ``v`` of neurons ``descriptor[:n]`` from the next time step on
``STOP``                  exit
========================  =========================================================================================

The program ignores SIGINT (Ctrl-C is the Python side's business), runs in its own session, and exits when its
command pipe closes or its parent dies. The Python side watches for its death while waiting and says how it died.
"""

from __future__ import annotations

import mmap
import os
import select
import signal
import subprocess
import tempfile
import weakref

import numpy as np

from livn_rl.engine.standalone.build import Project

__all__ = ["CompiledProcess", "StandaloneProcessError"]

ADVANCE, SET, RESET, RESTORE_COPIES, RECORD, STOP = 1, 2, 3, 4, 5, 6
PROTOCOL = 1
#: Bytes of the spike area (it holds up to one spike per neuron and time step of an advance, so it bounds the rows of
#: an advance) and of the payload area (it bounds the stimulated rows of an advance). Only touched pages use memory.
SPIKE_BYTES = 64 * 2**20
PAYLOAD_BYTES = 32 * 2**20
MAX_ROWS = 10_000


class StandaloneProcessError(RuntimeError):
    """The compiled program ended unexpectedly or broke the protocol."""


class CompiledProcess:
    """A running compiled program and its shared memory.

    :param project: the compiled variant to run
    :param n_recorded: how many neurons' voltages it may be asked to record
    """

    def __init__(self, project: Project, n_recorded: int) -> None:
        meta = project.meta
        self.label = f"{meta['system']} ({meta['n_copies']} cop{'y' if meta['n_copies'] == 1 else 'ies'})"
        self.n_total = n_total = meta["n_neurons"] * meta["n_copies"]
        self.max_rows = int(np.clip(SPIKE_BYTES // (8 * n_total), 1, MAX_ROWS))
        self.payload_rows = int(np.clip(PAYLOAD_BYTES // (8 * n_total), 1, self.max_rows))
        self.n_recorded = n_recorded
        sizes = {"payload": self.payload_rows * n_total, "descriptor": max(4096, n_total + 16),
                 "voltage": self.max_rows * n_recorded, "spikes": self.max_rows * n_total}
        nbytes = 8 * (sizes["payload"] + sizes["descriptor"] + sizes["voltage"] + sizes["spikes"]) + 4 * self.max_rows
        self._memory_fd = os.memfd_create("livn_rl-standalone", os.MFD_CLOEXEC)
        os.ftruncate(self._memory_fd, nbytes)
        self._memory = mmap.mmap(self._memory_fd, nbytes)
        views, offset = {}, 0
        for name, dtype, count in (("payload", np.float64, sizes["payload"]), ("descriptor", np.int64, sizes["descriptor"]),
                                   ("voltage", np.float64, sizes["voltage"]), ("spike_i", np.int32, sizes["spikes"]),
                                   ("spike_step", np.int32, sizes["spikes"]), ("slots", np.int32, self.max_rows)):
            views[name] = np.frombuffer(self._memory, dtype, count, offset)
            offset += count * np.dtype(dtype).itemsize
        self.payload, self.descriptor, self.voltage = views["payload"], views["descriptor"], views["voltage"]
        self.spike_i, self.spike_step, self.slots = views["spike_i"], views["spike_step"], views["slots"]
        command_read, self._command = os.pipe()
        self._reply, reply_write = os.pipe()
        self._stderr = tempfile.TemporaryFile()
        layout = [sizes["payload"], sizes["descriptor"], self.max_rows, n_recorded, sizes["spikes"]]
        env = {**os.environ, "LIVN_RL_PROTOCOL": str(PROTOCOL),
               "LIVN_RL_FDS": f"{command_read},{reply_write},{self._memory_fd}",
               "LIVN_RL_LAYOUT": ",".join(map(str, layout))}
        try:
            self.proc = subprocess.Popen([str(project.executable)], cwd=project.directory, env=env,
                                         pass_fds=(command_read, reply_write, self._memory_fd), start_new_session=True,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr)
        finally:
            os.close(command_read)
            os.close(reply_write)
        self._finalizer = weakref.finalize(self, _shut_down, self.proc, [self._command, self._reply, self._memory_fd])
        ready = self._receive()
        if ready[2] != PROTOCOL:
            self.kill()
            raise StandaloneProcessError(f"the compiled program of {self.label} speaks protocol {ready[2]}, not {PROTOCOL}")

    @property
    def alive(self) -> bool:
        return self._finalizer.alive and self.proc.poll() is None

    # ------------------------------------------------------------------------------------------------ commands
    def advance(self, rows: int) -> int:
        """Simulate ``rows`` time steps with the stimulus already in ``payload``/``slots``; returns the spike count.
        Split in two (:meth:`send_advance`, :meth:`receive`) when several processes run side by side."""
        self.send_advance(rows)
        return int(self.receive()[1])

    def send_advance(self, rows: int) -> None:
        self._send(ADVANCE, rows)

    def receive(self) -> np.ndarray:
        return self._receive()

    def set_values(self, entries: list[tuple[int, int, np.ndarray]]) -> None:
        """Write ``values`` into elements ``first ...`` of variable ``variable`` for every ``(variable, first,
        values)``, in as many commands as the payload area needs."""
        batch: list[tuple[int, int, int]] = []
        used = 0
        room = self.payload.size
        for variable, first, values in entries:
            values = np.asarray(values, dtype=np.float64).ravel()
            done = 0
            while done < values.size:
                if used == room or len(batch) * 3 + 3 > self.descriptor.size:
                    self._set(batch)
                    batch, used = [], 0
                take = min(values.size - done, room - used)
                self.payload[used : used + take] = values[done : done + take]
                batch.append((variable, first + done, take))
                used += take
                done += take
        if batch:
            self._set(batch)

    def _set(self, batch: list[tuple[int, int, int]]) -> None:
        self.descriptor[: 3 * len(batch)] = np.asarray(batch, dtype=np.int64).ravel()
        self._command_and_wait(SET, len(batch))

    def reset(self, seed_words: np.ndarray) -> None:
        self.descriptor[: seed_words.size] = seed_words
        self._command_and_wait(RESET, seed_words.size)

    def restore_copies(self, copies: np.ndarray) -> None:
        self.descriptor[: copies.size] = copies
        self._command_and_wait(RESTORE_COPIES, copies.size)

    def record(self, neurons: np.ndarray) -> None:
        if neurons.size > self.n_recorded:
            raise ValueError(f"{neurons.size} recorded neurons, room for {self.n_recorded}")
        self.descriptor[: neurons.size] = neurons
        self._command_and_wait(RECORD, neurons.size)

    def close(self) -> None:
        """Stop the program (STOP, then SIGKILL if it does not exit) and release the pipes and memory."""
        self._finalizer()
        for name in ("payload", "descriptor", "voltage", "spike_i", "spike_step", "slots"):
            setattr(self, name, None)
        try:
            self._memory.close()
        except BufferError:  # a view is still referenced somewhere; the mapping goes with it
            pass
        self._stderr.close()

    def kill(self) -> None:
        """End the program at once (it may be in the middle of an advance), then release everything."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.close()

    # ---------------------------------------------------------------------------------------------- messages
    def _command_and_wait(self, kind: int, count: int) -> np.ndarray:
        self._send(kind, count)
        return self._receive()

    def _send(self, kind: int, count: int) -> None:
        message = np.zeros(8, np.int64)
        message[:2] = kind, count
        try:
            os.write(self._command, message.tobytes())
        except (BrokenPipeError, OSError):
            raise StandaloneProcessError(self._death()) from None

    def _receive(self) -> np.ndarray:
        data = b""
        while len(data) < 64:
            ready, _, _ = select.select([self._reply], [], [], 1.0)
            if not ready:
                if self.proc.poll() is not None:
                    raise StandaloneProcessError(self._death())
                continue
            chunk = os.read(self._reply, 64 - len(data))
            if not chunk:
                raise StandaloneProcessError(self._death())
            data += chunk
        return np.frombuffer(data, np.int64)

    def _death(self) -> str:
        try:
            status = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = self.proc.wait()
        if status < 0:
            how = f"killed by signal {-status} ({signal.Signals(-status).name})"
        else:
            how = f"exited with status {status}"
        self._stderr.seek(0)
        said = self._stderr.read()[-2000:].decode(errors="replace").strip()
        return (f"the compiled program of {self.label} (pid {self.proc.pid}) ended unexpectedly: {how}"
                + (f"; it said: {said}" if said else ""))


def _shut_down(proc: subprocess.Popen, fds: list[int]) -> None:
    """Ask the program to stop, kill it if it does not, and close the pipes (also at interpreter exit)."""
    if proc.poll() is None:
        try:
            message = np.zeros(8, np.int64)
            message[0] = STOP
            os.write(fds[0], message.tobytes())
            proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
