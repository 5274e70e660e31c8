"""Compiling a system for the standalone backend: once per model variant, cached on disk.

A variant is a system (its class, its data and the source of the package that defines it), a number of copies and a
time step. Its compiled project lives in ``<cache>/<key>/`` (:func:`cache_root`): the program ``main``, the static
arrays it loads, and ``livn_rl.json``, which tells the Python side how to talk to it. The key hashes everything the
generated code depends on, so a project is never reused for a model that changed, and a second process that needs
the same variant waits for the first one's compile (a lock file) instead of compiling again.

The compile itself runs in a separate Python process (``python -m livn_rl.engine.standalone.build REQUEST``):
Brian2's device is process-wide, so the C++ standalone device must not replace the runtime device of the process
that simulates. That process builds the system twice: once in runtime mode, only to learn which variables
``System.set_background`` changes and to what, and once on the C++ standalone device with the closed loop
(``cpp/livn_rl_loop.cpp``): a one-element ticker group calls the loop at the start of every time step, the stimulus
reaches the equations through a C++ ``stim_current`` function, and ``livn_rl_bind.cpp``, generated here, tells the
loop where the model's arrays are.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

__all__ = ["Project", "StandaloneBuildError", "cache_root", "compiled_project", "compiler_problem", "main"]

#: Version of the project layout and protocol; part of every key.
FORMAT = 1
CPP_DIR = Path(__file__).resolve().parent / "cpp"
LOOP_SOURCES = ("livn_rl_loop.h", "livn_rl_loop.cpp")
#: The compiled run's nominal length in time steps; the loop ends it by exiting.
FOREVER_STEPS = 2**39
#: Element types the loop can restore and write: numpy dtype -> the loop's kind code.
KINDS = {np.dtype(np.float64): 0, np.dtype(np.bool_): 1, np.dtype(np.int32): 2, np.dtype(np.int64): 3}
#: Structural variables (indices and counts) that never change after building.
STRUCTURE = {"i", "j", "N", "N_incoming", "N_outgoing"}
#: Brian2's ``Network::run`` reads the process's CPU time after every time step (``std::clock``, a system call of
#: about 0.5 us here), only to report progress, which the loop never does; about a tenth of a 100-cell time step.
CPU_TIME_PER_STEP = re.compile(r"current = std::clock\(\);(\s*elapsed_realtime = )\(double\)\(current - start\)/\(1 \* CLOCKS_PER_SEC\);")


class StandaloneBuildError(RuntimeError):
    """The standalone backend could not compile a system (no compiler, a failed compile, an unsupported model)."""


@dataclass
class Project:
    """A compiled variant: its folder, its description and the values ``set_background`` writes.

    :param directory: the project folder (``main`` and ``static_arrays/`` inside)
    :param meta: the contents of ``livn_rl.json``
    :param background: ``{True: [(variable id, values)], False: [...]}``
    """

    directory: Path
    meta: dict
    background: dict

    @property
    def executable(self) -> Path:
        return self.directory / "main"

    @classmethod
    def load(cls, directory: Path) -> "Project":
        meta = json.loads((directory / "livn_rl.json").read_text())
        with np.load(directory / "background.npz") as arrays:
            background = {state: [(int(key.split("_")[1]), arrays[key]) for key in sorted(arrays) if key.startswith(prefix)]
                          for state, prefix in ((True, "on_"), (False, "off_"))}
        return cls(directory, meta, background)


def cache_root() -> Path:
    """Where compiled projects are kept: ``$LIVN_RL_CACHE_DIR/standalone``, else ``$XDG_CACHE_HOME/livn_rl/standalone``,
    else ``~/.cache/livn_rl/standalone``."""
    if os.environ.get("LIVN_RL_CACHE_DIR"):
        return Path(os.environ["LIVN_RL_CACHE_DIR"]) / "standalone"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "livn_rl" / "standalone"


def _compiler() -> str:
    return os.environ.get("CXX") or "g++"


def compiler_problem() -> str | None:
    """Why this machine cannot compile standalone projects (``make`` or the C++ compiler missing), or None."""
    missing = [tool for tool in ("make", _compiler().split()[0]) if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(repr(m) for m in missing)} not found on PATH (the standalone backend compiles C++ with make)"
    return None


def _source_files(system) -> list[Path]:
    """The Python sources a system's generated code depends on: the package of each class it derives from (its
    equations live there), and the standalone backend itself."""
    roots: set[Path] = {Path(__file__).resolve().parent}
    for cls in type(system).__mro__:
        module = sys.modules.get(cls.__module__)
        path = getattr(module, "__file__", None)
        if path is None or cls.__module__ in ("builtins", "abc"):
            continue
        path = Path(path).resolve()
        roots.add(path.parent if module.__package__ else path)
    files: set[Path] = set()
    for root in roots:
        files.update(root.rglob("*.py") if root.is_dir() else [root])
    files.update(CPP_DIR / name for name in LOOP_SOURCES)
    return sorted(files)


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return platform.processor()


def project_key(system, system_bytes: bytes, n_copies: int, dt_ms: float) -> str:
    """The cache key of a variant (hex)."""
    digest = hashlib.sha256()
    parts = [f"format {FORMAT}", f"copies {n_copies}", f"dt {dt_ms!r}", f"brian2 {metadata.version('brian2')}",
             f"compiler {_compiler()} {shutil.which(_compiler().split()[0])} {os.environ.get('CXXFLAGS', '')}",
             f"machine {platform.machine()} {_cpu_flags()}"]
    for part in parts:
        digest.update(part.encode() + b"\0")
    digest.update(hashlib.sha256(system_bytes).digest())
    for path in _source_files(system):
        digest.update(str(path.name).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:24]


def compiled_project(system, n_copies: int, dt_ms: float) -> Project:
    """The compiled project of a variant, compiled now if no process has compiled it before.

    :raises StandaloneBuildError: the system cannot be sent to the compiling process, no compiler, or the compile
        failed (the message ends with the end of its log)
    """
    if type(system).__module__ == "__main__":
        raise StandaloneBuildError(f"system class {type(system).__name__} is defined in __main__; the compiling "
                                   "process can only import systems defined in modules")
    try:
        system_bytes = pickle.dumps(system, protocol=4)
    except Exception as err:  # any pickling failure: say what it was
        raise StandaloneBuildError(f"system {system.name!r} cannot be pickled for the compiling process: {err}") from None
    root = cache_root()
    key = project_key(system, system_bytes, n_copies, dt_ms)
    final = root / key
    if (final / "livn_rl.json").is_file():
        return Project.load(final)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process compiling the same variant: wait for it
        if (final / "livn_rl.json").is_file():
            return Project.load(final)
        problem = compiler_problem()
        if problem:
            raise StandaloneBuildError(problem)
        print(f"livn_rl: compiling {system.name} ({n_copies} cop{'y' if n_copies == 1 else 'ies'}, dt {dt_ms} ms) for "
              f"the standalone backend, once per model variant (30-90 s) into {final}", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(dir=root, prefix=f"{key}.building-") as scratch:
            scratch = Path(scratch)
            request = scratch / "request.pkl"
            request.write_bytes(pickle.dumps({"system": system_bytes, "n_copies": n_copies, "dt_ms": dt_ms,
                                              "directory": str(scratch / "project")}, protocol=4))
            log = scratch / "build.log"
            package_parent = str(Path(__file__).resolve().parents[3])
            path = os.pathsep.join([package_parent] + [p for p in sys.path if p and os.path.isdir(p)])
            with open(log, "w") as out:
                done = subprocess.run([sys.executable, "-m", "livn_rl.engine.standalone.build", str(request)],
                                      cwd=scratch, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env={**os.environ, "PYTHONPATH": path})
            if done.returncode != 0:
                tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-25:])
                raise StandaloneBuildError(f"compiling {system.name!r} for the standalone backend failed "
                                           f"(exit status {done.returncode}); the end of its log:\n{tail}")
            for leftover in (scratch / "project").rglob("*.o"):
                leftover.unlink()
            os.replace(scratch / "project", final)  # atomic: a project folder is complete or absent
    return Project.load(final)


# ------------------------------------------------------------------------------------- the compiling process
def main(argv: list[str] | None = None) -> int:
    """The compiling process: build the request's system on the C++ standalone device and compile it."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        request = pickle.loads(Path(argv[0]).read_bytes())
        _generate(pickle.loads(request["system"]), request["n_copies"], request["dt_ms"], Path(request["directory"]))
    except Exception:  # everything goes to the log the parent reads
        traceback.print_exc()
        return 1
    return 0


def _state_variables(group, n_copies: int) -> list[tuple[str, object, int, int]]:
    """``(name, variable, owner, per_copy)`` of every array of ``group`` that can change while it runs."""
    import brian2
    from brian2.core.variables import ArrayVariable

    found = []
    for name, var in sorted(group.variables.items()):
        if (not isinstance(var, ArrayVariable) or getattr(var.owner, "name", None) != group.name
                or name.startswith("_") or name in STRUCTURE or np.dtype(var.dtype) not in KINDS):
            continue
        source = group.source if isinstance(group, brian2.Synapses) else group
        if len(source) % n_copies:
            raise StandaloneBuildError(f"{group.name!r} has {len(source)} elements, not a whole number per copy")
        if var.scalar:
            owner = 2
        else:
            owner = 1 if isinstance(group, brian2.Synapses) else 0
        found.append((name, var, owner, len(source) // n_copies))
    return found


def _groups(objects) -> list:
    import brian2

    return [obj for obj in objects if isinstance(obj, (brian2.NeuronGroup, brian2.Synapses))]


def _background_values(system, n_copies: int, dt_ms: float) -> dict:
    """``{(group, variable): (values with background on, values with it off)}`` for every variable that
    ``system.set_background`` changes, learnt from a runtime build (nothing is run, nothing compiled)."""
    import brian2

    brian2.prefs.codegen.target = "numpy"
    clock = brian2.Clock(dt_ms * brian2.ms, name="simulation_clock")
    stim = brian2.TimedArray(np.zeros((1, system.n_neurons * n_copies)), dt=dt_ms * brian2.ms, name="stim_current")
    built = system.build(n_copies, {"stim_current": stim, "stim_rows": 1}, clock)

    def values() -> dict:
        return {(g.name, name): np.array(var.get_value()) for g in _groups(built.objects)
                for name, var, _, _ in _state_variables(g, n_copies)}

    system.set_background(built, True)
    on = values()
    system.set_background(built, False)
    off = values()
    return {key: (on[key], off[key]) for key in on if not np.array_equal(on[key], off[key])}


def _check_supported(built, clock) -> None:
    import brian2
    from brian2.groups.group import CodeRunner

    for obj in built.objects:
        if not isinstance(obj, (brian2.NeuronGroup, brian2.Synapses, CodeRunner)):
            raise StandaloneBuildError(f"the standalone backend runs NeuronGroup, Synapses and run_regularly "
                                       f"objects; {obj.name!r} is a {type(obj).__name__}")
        for part in [obj, *obj.contained_objects]:
            if part.clock is not clock:
                raise StandaloneBuildError(f"{part.name!r} does not run on the simulation clock")


def _loop_functions():
    """The two C++ functions that connect the model to the loop: ``stim_current(t, i)`` (this time step's stimulus of
    neuron ``i``, read by :data:`~livn_rl.systems.system.STIMULUS_EQUATION`) and ``livn_rl_tick(t)``."""
    import brian2

    header = ['"livn_rl_loop.h"']

    @brian2.implementation("cpp", "double stim_current(const double t, const int i) "
                           "{ return livn_rl::stimulus_row[i]; }", headers=header)
    @brian2.check_units(t=brian2.second, i=1, result=1)
    def stim_current(t, i):
        raise NotImplementedError("stim_current only exists in the compiled program")

    @brian2.implementation("cpp", "double livn_rl_tick(const double t) { return livn_rl::tick(); }", headers=header)
    @brian2.check_units(t=brian2.second, result=1)
    def livn_rl_tick(t):
        raise NotImplementedError("livn_rl_tick only exists in the compiled program")

    livn_rl_tick.stateless = False  # called for its effect, once per time step
    return stim_current, livn_rl_tick


def _generate(system, n_copies: int, dt_ms: float, directory: Path) -> None:
    import brian2

    started = time.perf_counter()
    background = _background_values(system, n_copies, dt_ms)
    brian2.set_device("cpp_standalone", build_on_run=False)
    brian2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j", str(os.cpu_count() or 1)]
    directory.mkdir(parents=True)
    for name in LOOP_SOURCES:
        shutil.copy(CPP_DIR / name, directory / name)
    stim, tick = _loop_functions()
    clock = brian2.Clock(dt_ms * brian2.ms, name="simulation_clock")
    built = system.build(n_copies, {"stim_current": stim, "stim_rows": 1}, clock)
    _check_supported(built, clock)
    ticker = brian2.NeuronGroup(1, "livn_rl_done : 1", clock=clock, namespace={"livn_rl_tick": tick},
                                name="livn_rl_ticker")
    operation = ticker.run_regularly("livn_rl_done = livn_rl_tick(t)", when="start", order=-1000, name="livn_rl_tick")
    net = brian2.Network(*built.objects, ticker, operation, name="livn_rl_network")
    net.run(FOREVER_STEPS * dt_ms * brian2.ms, namespace={})
    device = brian2.get_device()
    table = [(g, *entry) for g in _groups(built.objects) for entry in _state_variables(g, n_copies)]
    (directory / "livn_rl_bind.cpp").write_text(_bind_source(device, built, clock, table, n_copies))
    device.build(directory=str(directory), compile=False, run=False,
                 additional_source_files=["livn_rl_loop.cpp", "livn_rl_bind.cpp"])
    network = directory / "network.cpp"
    network.write_text(CPU_TIME_PER_STEP.sub(r"\g<1>0.0;", network.read_text(), count=1))
    from brian2.codegen.cpp_prefs import get_compiler_and_args

    device.compile_source(str(directory), get_compiler_and_args()[0], debug=False, clean=False)
    ids = {(g.name, name): k for k, (g, name, *_) in enumerate(table)}
    arrays = {}
    for key, (on, off) in background.items():
        arrays[f"on_{ids[key]}"], arrays[f"off_{ids[key]}"] = on, off
    np.savez(directory / "background.npz", **arrays)
    neurons, n = built.neurons, system.n_neurons
    meta = {
        "format": FORMAT, "system": system.name, "n_neurons": n, "n_copies": n_copies, "dt_ms": dt_ms,
        "brian2": brian2.__version__, "compile_seconds": round(time.perf_counter() - started, 1),
        "variables": [{"group": g.name, "name": name, "kind": KINDS[np.dtype(var.dtype)], "owner": owner}
                      for g, name, var, owner, _ in table],
        "neuron_variables": {
            name: {"id": ids[(neurons.name, name)], "dim": [float(x) for x in var.dim._dims]}
            for g, name, var, owner, _ in table
            if g is neurons and owner == 0 and not var.read_only and KINDS[np.dtype(var.dtype)] == 0
        },
        "recorded_group": neurons.name,
        "voltage": "v" in neurons.variables,
    }
    (directory / "livn_rl.json").write_text(json.dumps(meta, indent=1))


def _bind_source(device, built, clock, table, n_copies: int) -> str:
    """``livn_rl_bind.cpp``: where the loop finds the clock, the spikes, ``v``, every state variable and queue."""
    import brian2

    def array(var) -> str:
        return "brian::" + device.get_array_name(var)

    def data_and_size(var) -> tuple[str, str]:
        if isinstance(var, brian2.core.variables.DynamicArrayVariable):
            name = "brian::" + device.get_array_name(var, access_data=False)
            return f"{name}.data()", f"{name}.size()"
        return array(var), str(var.size)

    lines = []
    for group, _name, var, owner, per_copy in table:
        data, size = data_and_size(var)
        pre = data_and_size(group.variables["_synaptic_pre"])[0] if owner == 1 else "nullptr"
        lines.append(f"    b.variables.push_back(livn_rl::Variable{{(char *){data}, {KINDS[np.dtype(var.dtype)]}, "
                     f"{np.dtype(var.dtype).itemsize}, (int64_t){size}, {owner}, {per_copy}, {pre}}});")
    for group in _groups(built.objects):
        if isinstance(group, brian2.Synapses):
            pre = data_and_size(group.variables["_synaptic_pre"])[0]
            for pathway in group._pathways:
                lines.append(f"    b.queues.push_back(livn_rl::Queue{{&brian::{pathway.name}.queue[0]->queue, {pre}, "
                             f"{len(group.source) // n_copies}}});")
    neurons = built.neurons
    voltage = array(neurons.variables["v"]) if "v" in neurons.variables else "nullptr"
    body = "\n".join(lines)
    return f"""// Generated by livn_rl/engine/standalone/build.py for {neurons.name!r} ({n_copies} copies).
#include "objects.h"
#include "livn_rl_loop.h"
#include <random>
#include <type_traits>

namespace {{
// Seed every Mersenne twister of Brian2 with a whole seed sequence, not just 32 bits.
void seed_generators(const uint32_t *words, int n) {{
    static_assert(std::is_standard_layout<brian::RandomGenerator>::value, "RandomGenerator starts with its engine");
    std::seed_seq sequence(words, words + n);
    for (auto &generator : brian::_random_generators) {{
        generator.seed(0ul);  // forgets a stored Gaussian
        reinterpret_cast<std::mt19937 *>(&generator)->seed(sequence);
    }}
}}
}}  // namespace

void livn_rl::bind(Binding &b) {{
    b.timestep = {array(clock.variables['timestep'])};
    b.t = {array(clock.variables['t'])};
    b.spikespace = {array(neurons.variables['_spikespace'])};
    b.n_total = {len(neurons)};
    b.n_copies = {n_copies};
    b.voltage = {voltage};
    b.seed = seed_generators;
{body}
}}
"""


if __name__ == "__main__":
    sys.exit(main())
