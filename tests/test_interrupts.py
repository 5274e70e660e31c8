"""Ctrl-C as a user presses it: SIGINT sent to real processes that simulate, sample, train and run experiments."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


class Run:
    """A Python process started with ``code``, its output in files so that the test can watch it while it runs."""

    def __init__(self, code: str, cwd: Path) -> None:
        self.stdout_path, self.stderr_path = cwd / "stdout.txt", cwd / "stderr.txt"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.stdout_path.open("w") as out, self.stderr_path.open("w") as err:
            self.proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, text=True,
                                         stdout=out, stderr=err)

    @classmethod
    def cli(cls, args: list[str], cwd: Path) -> "Run":
        return cls(f"import sys; from livn_rl.cli import main; sys.exit(main({args!r}))", cwd)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_for(self, condition, what: str, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                pytest.fail(f"the process ended (status {self.proc.returncode}) before {what}:\n"
                            f"{self.stdout[-2000:]}\n{self.stderr[-3000:]}")
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"timed out waiting for {what}")
            time.sleep(0.1)

    def interrupt(self, times: int = 1) -> int:
        """Send SIGINT ``times`` times (as Ctrl-C does) and wait for the process to end; returns its status."""
        for _ in range(times):
            self.proc.send_signal(signal.SIGINT)
            time.sleep(0.05)
        try:
            return self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail("the process did not stop after SIGINT")


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", f"import sys; from livn_rl.cli import main; sys.exit(main({args!r}))"],
                          cwd=cwd, capture_output=True, text=True, timeout=900)


def _lines_of(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


# ---------------------------------------------------------------------------------------------- the engine
def test_ctrl_c_raises_at_a_step_boundary_and_every_simulation_steps_on(tmp_path):
    """A KeyboardInterrupt reaches the caller, after the step in progress is done and booked; the interrupted
    simulation and another one in the same process both step on, without reset()."""
    run = Run("""
        from livn_rl import Simulation
        a, b = Simulation("S1", seed=1), Simulation("S1", seed=2)
        b.step(None, 10.0)
        print("ready", flush=True)
        steps = 0
        try:
            while True:
                a.step(None, 10.0)
                steps += 1
        except KeyboardInterrupt:
            print("interrupted", steps, a.time_ms, flush=True)
        ra, rb = a.step(None, 10.0), b.step(None, 10.0)
        print("after", ra.t_start_ms, rb.t_start_ms, flush=True)
        a.reset(1)
        print("reset", a.step(None, 10.0).t_start_ms, flush=True)
    """, tmp_path)
    run.wait_for(lambda: "ready" in run.stdout, "the first steps")
    time.sleep(1.0)
    assert run.interrupt() == 0, run.stderr
    out, err = run.stdout, run.stderr
    lines = dict((line.split()[0], line.split()[1:]) for line in out.splitlines())
    steps, time_ms = int(lines["interrupted"][0]), float(lines["interrupted"][1])
    assert steps > 0
    # the interrupted step was finished and booked: time is at a step boundary, one step past the completed ones
    assert time_ms == pytest.approx(10.0 * (steps + 1))
    assert [float(x) for x in lines["after"]] == [pytest.approx(time_ms), pytest.approx(10.0)]
    assert float(lines["reset"][0]) == 0.0
    assert "Traceback" not in err and "please report" not in err.lower()


def test_a_second_ctrl_c_stops_a_long_step_at_once_and_reset_starts_again(tmp_path):
    run = Run("""
        from livn_rl import Simulation
        sim = Simulation("S1", seed=1)
        sim.step(None, 10.0)
        print("ready", flush=True)
        try:
            sim.step(None, 10_000_000.0)  # hours of simulated time: only the second Ctrl-C ends it
            print("finished")
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        try:
            sim.step(None, 10.0)
        except RuntimeError as err:
            print("stopped:", err, flush=True)
        sim.reset(3)
        print("reset", sim.step(None, 10.0).t_start_ms, flush=True)
    """, tmp_path)
    run.wait_for(lambda: "ready" in run.stdout, "the first step")
    time.sleep(1.0)
    assert run.interrupt(times=2) == 0, run.stderr
    out = run.stdout
    assert "interrupted" in out and "finished" not in out
    assert "stopped: the simulation is not running; call reset()" in out and "second Ctrl-C" in out
    assert "reset 0.0" in out


def test_ctrl_c_in_a_plain_brian2_run_keeps_brian2s_graceful_stop(tmp_path):
    """A user's own Network.run in the main thread is stopped the way Brian2 stops it, with simulations around."""
    run = Run("""
        import time
        import brian2 as b2
        from livn_rl import Simulation
        sim = Simulation("S1", seed=1, target="numpy")
        b2.prefs.codegen.target = "numpy"
        group = b2.NeuronGroup(1, "dv/dt = -v / (10*ms) : 1", name="user_group")
        net = b2.Network(group, name="user_net")
        print("ready", flush=True)
        started = time.perf_counter()
        net.run(1000 * b2.second)
        print("stopped at", float(net.t / b2.second), flush=True)
        sim.reset(1)
        print("sim", sim.step(None, 5.0).t_start_ms, flush=True)
    """, tmp_path)
    run.wait_for(lambda: "ready" in run.stdout, "the user's run")
    time.sleep(2.0)
    assert run.interrupt() == 0, run.stderr
    out = run.stdout
    stopped = float(out.split("stopped at")[1].split()[0])
    assert 0 < stopped < 1000
    assert "sim 0.0" in out


# ------------------------------------------------------------------------------------------- the commands
def test_sample_stops_cleanly_and_the_same_command_finishes_the_dataset(tmp_path):
    out_dir = tmp_path / "data"
    args = ["sample", "S1", "--samples", "400", "--trials-per-episode", "20", "--copies", "2", "--window-ms", "10",
            "--out", str(out_dir)]
    run = Run.cli(args, tmp_path)
    run.wait_for(lambda: len(list((out_dir / "data").glob("train-*.parquet"))) >= 1, "the first shard")
    assert run.interrupt() == 130, run.stderr
    last = _last_line(run.stderr)
    assert last.startswith("livn-rl sample: interrupted: kept ") and "run the same command again" in last, run.stderr
    assert "Traceback" not in run.stderr
    kept = len(list((out_dir / "data").glob("train-*.parquet")))
    assert 1 <= kept < 10

    done = _cli(args, tmp_path)
    assert done.returncode == 0, done.stderr
    from livn_rl.data import load_dataset

    trials = load_dataset(out_dir)
    assert trials.num_rows == 400 and sorted(trials["trial"]) == list(range(400))


@pytest.mark.slow
def test_train_keeps_its_evaluations_and_model_and_resume_finishes_the_run(tmp_path):
    out_dir = tmp_path / "run"
    args = ["train", "livn_rl/Pendulum-S1-v0", "--timesteps", "400", "--eval-every", "200", "--eval-episodes", "1",
            "--out", str(out_dir), "-q"]
    run = Run.cli(args, tmp_path)
    log = out_dir / "evaluations.jsonl"
    run.wait_for(lambda: _lines_of(log) >= 2, "two evaluations", timeout=400)
    assert run.interrupt() == 130, run.stderr
    last = _last_line(run.stderr)
    assert last.startswith("livn-rl train: interrupted: kept ") and "--resume" in last, run.stderr
    assert (out_dir / "model.zip").is_file()
    state = json.loads((out_dir / "checkpoint" / "state.json").read_text())
    assert state["steps"] >= 200 and len(state["evaluations"]) == _lines_of(log)

    other = _cli(args + ["--resume", "--seed", "5"], tmp_path)  # another setting is refused, and named
    assert other.returncode == 2 and "seed was 0, now 5" in other.stderr, other.stderr

    done = _cli(args + ["--resume"], tmp_path)
    assert done.returncode == 0, done.stderr
    steps = [json.loads(line)["steps"] for line in log.read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[0] == 0 and steps[-1] >= 400  # each evaluation once, in order
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["thresholds"]["values"] == [-250.0, -500.0]


def test_ring_stops_cleanly_with_one_line(tmp_path):
    run = Run.cli(["ring", "--serotonin", "normal", "--seeds", "20", "--no-gif", "--out", str(tmp_path / "ring")],
                  tmp_path)
    run.wait_for(lambda: "building the ring" in run.stderr, "the trials to start")
    time.sleep(3.0)
    assert run.interrupt() == 130, run.stderr
    assert _last_line(run.stderr).startswith("livn-rl ring: interrupted: nothing written"), run.stderr
    assert "Traceback" not in run.stderr


def test_lateral_line_stops_cleanly_and_says_what_it_kept(tmp_path):
    small = ["mon.n=400", "ts.n=40", "ts.n_inhibitory=5", "training.n_trials=40", "training.trial_ms=100"]
    run = Run.cli(["lateral-line", "--out-dir", str(tmp_path), "--run-name", "stopped", "--seeds", "3", "--no-figures",
                   *[a for o in small for a in ("--set", o)]], tmp_path)
    run.wait_for(lambda: (tmp_path / "stopped" / "params.json").exists(), "the run folder")
    time.sleep(4.0)
    assert run.interrupt() == 130, run.stderr
    last = _last_line(run.stderr)
    assert last.startswith("livn-rl lateral-line: interrupted: kept the ") and "--overwrite" in last, run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "stopped" / "run_summary.json").exists()
