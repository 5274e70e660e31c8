"""The scripts in examples/ run to the end (tiny arguments, Brian2's numpy target, in a subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, check=False, timeout=300, cwd=cwd,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    return done


def test_quickstart_steps_renders_a_png_and_runs_a_vector_env(tmp_path):
    png = tmp_path / "frame.png"
    done = _run("quickstart.py", "--target", "numpy", "--steps", "3", "--out", str(png), cwd=tmp_path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert "vector env: observations (4, 3), actions (4, 1)" in done.stdout


def test_custom_encoder_example_checks_the_env_and_trains_sac(tmp_path):
    done = _run("custom_encoder.py", "--target", "numpy", "--episodes", "1", "--max-steps", "5", "--timesteps", "12",
                cwd=tmp_path)
    out = done.stdout
    assert "PushPullEncoder(" in out and "LeftRightDecoder(" in out
    assert "check_env: Gymnasium and stable-baselines3 checks passed" in out
    assert "random policy, episode 0: return" in out and "over 5 steps" in out
    assert "SAC: 12 steps" in out and "SAC policy, one evaluation episode: return" in out


def test_lif_tutorial_draws_its_six_figures_and_prints_the_tutorials_numbers(tmp_path):
    done = _run("lif_tutorial.py", "--target", "numpy", "--out", str(tmp_path / "lif"), cwd=tmp_path)
    names = ("discrete", "fi_curve", "population", "reset", "tau", "step_response")
    for name in names:
        assert (tmp_path / "lif" / f"lif_{name}.png").read_bytes()[:4] == b"\x89PNG"
    out = done.stdout
    for line in ("Number of spikes: 14", "Firing rate: 70.00 Hz", "Mean ISI: 13.90 ms", "ISI CV: 0.000",
                 "Rheobase (minimum spiking current): 1.579 nA", "Soft reset fires 0.0% more frequently",
                 "tau = 20 ms: 5 spikes in 150 ms"):
        assert line in out, line


def test_livn_round_trip_reads_ours_as_livn_and_replays_livns_layout(tmp_path):
    done = _run("livn_round_trip.py", "--target", "numpy", "--out", str(tmp_path / "rt"), cwd=tmp_path)
    out = done.stdout
    assert "1. livn's access pattern on our data:" in out and "t_end 200.0 ms" in out
    assert "2. livn's layout read by livn_rl: 4 samples" in out
    assert "replayed into an SB3 ReplayBuffer: 4 transitions" in out
