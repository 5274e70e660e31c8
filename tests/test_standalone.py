"""The standalone backend (compiled Brian2 C++ programs): every guarantee of the runtime engine, tested the same way,
plus its own failure modes (no compiler, a program killed with SIGKILL, nothing left running).

Every test uses one model variant (the tiny culture, 2 copies, 1 program) so the suite compiles once (about a minute
cold, cached on disk afterwards); only the slow test of programs side by side compiles a second one. The suite's
default backend is the runtime one (conftest.py), so every test here asks for ``backend="standalone"``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from brian2 import mV

from livn_rl import Pulse, Simulation, pulse_train
from livn_rl.engine.standalone import StandaloneBuildError, cache_root, compiler_problem

from conftest import TINY_CULTURE, as_arrays, assert_same_spikes, protocol

pytestmark = pytest.mark.skipif(compiler_problem() is not None, reason=f"no C++ toolchain: {compiler_problem()}")

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def make_standalone():
    """Factory of standalone simulations of the tiny culture (2 copies), all closed after the test."""
    sims: list[Simulation] = []

    def factory(**kwargs) -> Simulation:
        kwargs.setdefault("n_copies", 2)
        sim = Simulation(TINY_CULTURE, backend="standalone", **kwargs)
        sims.append(sim)
        return sim

    yield factory
    for sim in sims:
        sim.close()


def _children(sim: Simulation) -> list[subprocess.Popen]:
    return [process.proc for process in sim._backend._processes]


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its parent, does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# ------------------------------------------------------------------------------------------------- determinism
def test_same_seed_same_spikes_and_exact_reset(make_standalone):
    sim = make_standalone(seed=7, record_voltages=[0, 5])
    assert sim.backend == "standalone"
    first = protocol(sim)
    assert sum(r.neuron_i.size for r in first) >= 10 and first[-1].neuron_i.size > 0, "the protocol must evoke activity"
    sim.reset(7)
    assert sim.time_ms == 0.0
    second = protocol(sim)
    assert_same_spikes(first, second)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.voltage_mv, b.voltage_mv)
    sim.reset(8)
    other = protocol(sim)
    assert not np.array_equal(as_arrays(other)["neuron_t_ms"], as_arrays(first)["neuron_t_ms"])
    sim.reset(7)
    assert_same_spikes(first, protocol(sim))
    # a second simulation of the same variant in this process, stepped alternately, gives the same spikes
    twin, busy = make_standalone(seed=7, record_voltages=[0, 5]), make_standalone(seed=3)
    assert_same_spikes(first, protocol(twin, between=lambda: busy.step(pulse_train(0, 15.0, 0.5), 5.0)))


_EPISODE = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {tests!r})
    from conftest import TINY_CULTURE, as_arrays, protocol
    from livn_rl import Simulation
    with Simulation(TINY_CULTURE, n_copies=2, seed=11, backend="standalone") as sim:
        data = as_arrays(protocol(sim))
    json.dump({{k: v.tolist() for k, v in data.items()}}, sys.stdout)
    """
)


def test_same_seed_same_spikes_across_processes_without_recompiling(tmp_path, make_standalone):
    here = as_arrays(protocol(make_standalone(seed=11)))  # the variant is compiled (or cached) before the child starts
    script = tmp_path / "episode.py"
    script.write_text(_EPISODE.format(tests=str(TESTS)))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "compiling" not in done.stderr, "the compiled variant must come from the disk cache"
    there = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(there["neuron_i"]) >= 10
    assert_same_spikes(here, there)


def test_one_compile_per_variant_never_per_episode_or_step(make_standalone, capfd):
    sim = make_standalone(seed=1)
    capfd.readouterr()
    projects = sorted(p.name for p in cache_root().iterdir())
    executable = sim._backend._projects[0].executable
    built = executable.stat().st_mtime_ns
    for episode in range(3):
        sim.reset(episode)
        for k in range(10):
            sim.step(pulse_train(k % sim.n_channels, 10.0, 0.5) if k % 2 else None, 5.0 + 5.0 * (k % 3))
        sim.reset_copies([1], [episode])
        sim.set_background(episode % 2 == 0)
        sim.set_neuron_variable("v", -65.0 * mV, copy=0)
    make_standalone(seed=2, record_voltages=[3]).run(20.0)
    assert sorted(p.name for p in cache_root().iterdir()) == projects
    assert executable.stat().st_mtime_ns == built
    assert "compiling" not in capfd.readouterr().err


def test_user_numpy_random_is_neither_used_nor_changed(make_standalone):
    sim = make_standalone(seed=5, record_voltages=[0, 3])
    reference = [sim.step(pulse_train(k % 4, 6.0, 1.0, n_pulses=2, rate_hz=100.0), 20.0) for k in range(4)]
    sim.reset(5)
    np.random.seed(42)
    expected = np.random.rand(12)
    np.random.seed(42)
    got, disturbed = [], []
    for k in range(4):
        got.append(np.random.rand(3))
        disturbed.append(sim.step(pulse_train(k % 4, 6.0, 1.0, n_pulses=2, rate_hz=100.0), 20.0))
    np.testing.assert_array_equal(np.concatenate(got), expected)
    assert_same_spikes(reference, disturbed)
    sim.reset(5)
    np.random.seed(7)  # reseeding the user's generator between steps changes nothing either
    for k, rec in enumerate(reference):
        np.random.normal(size=k + 1)
        again = sim.step(pulse_train(k % 4, 6.0, 1.0, n_pulses=2, rate_hz=100.0), 20.0)
        np.testing.assert_array_equal(again.voltage_mv, rec.voltage_mv)


# ---------------------------------------------------------------------------------------------------- copies
def test_reset_copies_restores_one_copy_and_leaves_the_other_untouched(make_standalone):
    burst = pulse_train(0, 20.0, 1.0, 3, 100.0)

    def run(reset_copy_1: bool):
        sim = make_standalone(seed=5)
        sim.step(burst, 30.0)
        if reset_copy_1:
            sim.reset_copies([1], [11])
        rec = sim.step(None, 60.0)
        return [rec.copy_of(k) for k in range(2)]

    plain, with_reset = run(False), run(True)
    for name in ("neuron_i", "neuron_t_ms", "channel_t_ms"):
        np.testing.assert_array_equal(getattr(plain[0], name), getattr(with_reset[0], name))
    # the reset copy starts from the state reset(11) gives it, with no synaptic events of the burst still queued:
    # with background noise off, its trajectory is then exactly that of a fresh episode
    quiet = make_standalone(seed=5, background=False, record_voltages=list(range(20)))
    fresh = make_standalone(seed=11, background=False, record_voltages=list(range(20)))
    for _ in range(3):  # strong pulses just before the boundary: synaptic events of copy 1 are in flight
        quiet.step([Pulse(c, 0.5, 30.0) for c in range(quiet.n_channels)], 1.0)
    quiet.reset_copies([1], [11])
    a, b = quiet.step(None, 15.0), fresh.step(None, 15.0)
    np.testing.assert_array_equal(a.voltage_mv[1], b.voltage_mv[1])
    assert not np.array_equal(a.voltage_mv[0], b.voltage_mv[0])


# ------------------------------------------------------------------------------------------------------ memory
def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_memory_stays_flat_over_10000_steps(make_standalone):
    import tracemalloc

    sim = make_standalone(seed=0, record_voltages=[1])
    stimulus = pulse_train(0, 20.0, 0.0)

    def steps(first: int, count: int) -> int:
        return sum(sim.step(stimulus if k % 10 == 0 else None, 1.0).neuron_i.size for k in range(first, first + count))

    n_spikes = steps(0, 300)
    child = _children(sim)[0].pid
    child_before, parent_before = _rss_kb(child), _rss_kb(os.getpid())
    n_spikes += steps(300, 10_000)
    assert n_spikes > 1000, "the steps must produce spikes for the check to mean anything"
    assert sim.time_ms == pytest.approx(10_300.0)
    assert _rss_kb(child) - child_before < 1_000, "the compiled program's memory grew"
    assert _rss_kb(os.getpid()) - parent_before < 10_000, "this process's memory grew"
    tracemalloc.start()  # and no Python object accumulates (slow to trace, so over fewer steps)
    try:
        steps(0, 20)
        start = tracemalloc.get_traced_memory()[0]
        steps(20, 300)
        growth = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert growth < 50_000, f"Python memory grew by {growth} bytes over 300 steps"


# ------------------------------------------------------------------------------------------ failures and exits
def test_a_killed_program_is_a_clear_error_and_reset_starts_a_new_one(make_standalone):
    sim = make_standalone(seed=1)
    reference = protocol(sim)
    sim.reset(1)
    sim.step(None, 5.0)
    child = _children(sim)[0]
    child.send_signal(signal.SIGKILL)
    with pytest.raises(RuntimeError, match=r"standalone backend stopped.*SIGKILL.*backend='runtime'"):
        sim.step(None, 5.0)
    with pytest.raises(RuntimeError, match="not running; call reset"):
        sim.step(None, 5.0)
    assert _wait_gone(child.pid)
    sim.reset(1)
    assert _children(sim)[0].pid != child.pid
    assert_same_spikes(reference, protocol(sim))


def test_close_ends_the_program_and_a_closed_simulation_refuses_to_step(make_standalone):
    sim = make_standalone(seed=1)
    pid = _children(sim)[0].pid
    sim.close()
    assert _wait_gone(pid, timeout=5.0)
    with pytest.raises(RuntimeError):
        sim.step(None, 5.0)


_LEFT_RUNNING = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, {tests!r})
    from conftest import TINY_CULTURE
    from livn_rl import Simulation
    sim = Simulation(TINY_CULTURE, n_copies=2, seed=1, backend="standalone")
    sim.step(None, 5.0)
    print(" ".join(str(p.proc.pid) for p in sim._backend._processes), flush=True)
    if sys.argv[1] == "hang":
        time.sleep(600)
    # "exit": leave without close()
    """
)


@pytest.mark.parametrize("how", ["exit", "sigkill"])
def test_no_program_outlives_its_python_process(tmp_path, how):
    script = tmp_path / "leave.py"
    script.write_text(_LEFT_RUNNING.format(tests=str(TESTS)))
    proc = subprocess.Popen([sys.executable, str(script), "exit" if how == "exit" else "hang"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert pids, proc.stderr.read()[-3000:]
        if how == "sigkill":
            assert all(_alive(pid) for pid in pids)
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for pid in pids:
        assert _wait_gone(pid, timeout=10.0), f"compiled program {pid} still runs after its parent ended ({how})"


_FALLBACK = textwrap.dedent(
    """
    from livn_rl import Simulation
    with Simulation({culture!r}, n_copies=2, seed=1) as sim:  # (conftest.py would choose the runtime backend)
        sim.step(None, 5.0)
        print(sim.backend)
    """
)


def test_no_compiler_is_a_clear_error_and_auto_falls_back_to_runtime(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # neither make nor g++ can be found
    with pytest.raises(StandaloneBuildError, match=r"(?s)backend='standalone'.*not found.*backend='runtime'"):
        Simulation(TINY_CULTURE, n_copies=2, seed=1, backend="standalone")
    # a machine without a compiler, in a process of its own (a fresh home: no compiled code cached anywhere)
    env = {**os.environ, "LIVN_RL_BACKEND": "auto", "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("LIVN_RL_CACHE_DIR", None)
    done = subprocess.run([sys.executable, "-c", _FALLBACK.format(culture=TINY_CULTURE)], capture_output=True, text=True,
                          timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["runtime"]
    assert re.search(r"standalone backend is not available \('make' and 'g\+\+' not found.*using the runtime backend",
                     done.stderr), done.stderr[-2000:]


@pytest.mark.slow
def test_a_failing_compile_is_a_clear_error_and_auto_falls_back_to_runtime(monkeypatch, tmp_path):
    """A compiler that fails (``CXX=false``: generated code, then a failed make) in an empty cache."""
    monkeypatch.setenv("LIVN_RL_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CXX", "false")
    with pytest.raises(StandaloneBuildError, match=r"(?s)backend='standalone'.*compiling 'tiny'.*failed.*backend='runtime'"):
        Simulation(TINY_CULTURE, n_copies=2, seed=1, backend="standalone")
    assert not [p for p in (tmp_path / "standalone").iterdir() if p.is_dir()], "no half-built project is kept"
    env = {**os.environ, "LIVN_RL_BACKEND": "auto"}  # a compile that fails: auto says so and falls back
    done = subprocess.run([sys.executable, "-c", _FALLBACK.format(culture=TINY_CULTURE)], capture_output=True, text=True,
                          timeout=600, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["runtime"]
    assert "standalone backend is not available (compiling 'tiny' for the standalone backend failed" in done.stderr


def test_bad_backend_arguments_are_named():
    with pytest.raises(ValueError, match="backend must be one of"):
        Simulation(TINY_CULTURE, backend="gpu")
    with pytest.raises(ValueError, match="processes=3 is more than n_copies=2"):
        Simulation(TINY_CULTURE, n_copies=2, backend="standalone", processes=3)
    with pytest.raises(ValueError, match="processes=2 is a setting of the standalone backend"):
        Simulation(TINY_CULTURE, n_copies=2, backend="runtime", processes=2)
    with pytest.raises(ValueError, match="target='numpy' is a setting of the runtime backend"):
        Simulation(TINY_CULTURE, backend="standalone", target="numpy")
    with pytest.raises(ValueError, match=r"record_traces=\['u'\] is recorded by backend='runtime' only"):
        Simulation(TINY_CULTURE, backend="standalone", record_voltages=[0], record_traces=("u",))
    with pytest.raises(ValueError, match="LateralLine.*backend='runtime'"):
        Simulation("LateralLine", backend="standalone")


# ------------------------------------------------------------------------------------------ programs side by side
@pytest.mark.slow
def test_copies_split_over_two_programs_keep_every_guarantee(make_standalone):
    """Two programs (one copy each, a second variant to compile): same seed same spikes, exact reset, per-copy reset
    across programs, and different programs get different noise."""
    sim = make_standalone(seed=4, processes=2, record_voltages=[0, 2])
    assert len(_children(sim)) == 2
    first = protocol(sim)
    sim.reset(4)
    assert_same_spikes(first, protocol(sim))
    v = first[0].voltage_mv
    assert not np.array_equal(v[0], v[1]), "the two programs must not share one noise stream"
    sim.reset_copies([0], [9])
    sim.step(None, 10.0)
    assert_same_spikes(first, protocol(make_standalone(seed=4, processes=2, record_voltages=[0, 2])))


# ---------------------------------------------------------------------------------------------------- Ctrl-C
def test_ctrl_c_stops_at_a_step_boundary_and_a_second_one_stops_a_long_step(tmp_path):
    """docs/stopping.md on this backend: the first SIGINT raises KeyboardInterrupt once the step in progress is done
    (the simulation steps on without reset); a second one inside a long step ends it at once, and reset() starts new
    programs. The compiled programs ignore SIGINT themselves."""
    from test_interrupts import Run

    run = Run(f"""
        import sys
        sys.path.insert(0, {str(TESTS)!r})
        from conftest import TINY_CULTURE
        from livn_rl import Simulation
        sim = Simulation(TINY_CULTURE, n_copies=2, seed=1, backend="standalone")
        print("ready", flush=True)
        steps = 0
        try:
            while True:
                sim.step(None, 10.0)
                steps += 1
        except KeyboardInterrupt:
            print("interrupted", steps, sim.time_ms, flush=True)
        print("after", sim.step(None, 10.0).t_start_ms, flush=True)
        print("long", flush=True)
        try:
            sim.step(None, 10_000_000.0)  # hours of simulated time: only the second Ctrl-C ends it
            print("finished")
        except KeyboardInterrupt:
            print("stopped", flush=True)
        try:
            sim.step(None, 10.0)
        except RuntimeError as err:
            print("refused:", err, flush=True)
        sim.reset(3)
        print("reset", sim.step(None, 10.0).t_start_ms, flush=True)
    """, tmp_path)
    run.wait_for(lambda: "ready" in run.stdout, "the first steps")
    time.sleep(1.0)
    run.proc.send_signal(signal.SIGINT)
    run.wait_for(lambda: "long" in run.stdout, "the step after the interrupt")
    time.sleep(1.0)
    assert run.interrupt(times=2) == 0, run.stderr
    lines = {line.split()[0]: line.split()[1:] for line in run.stdout.splitlines()}
    steps, time_ms = int(lines["interrupted"][0]), float(lines["interrupted"][1])
    assert time_ms == pytest.approx(10.0 * (steps + 1)), "the interrupted step was finished and booked"
    assert float(lines["after"][0]) == pytest.approx(time_ms)
    assert "stopped" in lines and "finished" not in lines
    assert "not running; call reset()" in run.stdout
    assert float(lines["reset"][0]) == 0.0
    assert "Traceback" not in run.stderr


# ------------------------------------------------------------------------------------------------------ envs
def test_a_vector_env_on_the_standalone_backend_auto_resets_copies_reproducibly():
    """A vector env (2 copies, episodes of 3 steps, so copies auto-reset in place with reset_copies) gives the same
    observations and rewards for the same seed, and differs from the runtime backend's only by its noise."""
    import gymnasium as gym

    def run(backend: str):
        venv = gym.make_vec("livn_rl/RateClamp-S1-v0", num_envs=2, system=TINY_CULTURE, backend=backend,
                            window_ms=10.0, max_episode_steps=3, **({"target": "numpy"} if backend == "runtime" else {}))
        try:
            assert venv.simulation.backend == backend
            obs, _ = venv.reset(seed=4)
            rng = np.random.default_rng(0)
            trace = [obs]
            for _ in range(8):
                obs, reward, terminated, truncated, _ = venv.step(rng.uniform(-1, 1, venv.action_space.shape).astype(np.float32))
                trace += [obs, reward, truncated]
            return trace
        finally:
            venv.close()

    first, second = run("standalone"), run("standalone")
    assert any(np.any(t) for t in first[3::3]), "episodes must end (and copies auto-reset) during the run"
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    runtime = run("runtime")
    assert len(runtime) == len(first) and all(np.shape(a) == np.shape(b) for a, b in zip(runtime, first))
