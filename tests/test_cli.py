"""The ``livn-rl`` command line: listings, a short simulation with its outputs, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from livn_rl.cli import main


def test_systems_lists_every_predefined_system(capsys):
    assert main(["systems"]) == 0
    out = capsys.readouterr().out
    for name, size in (("S1", "10"), ("S2", "100"), ("S3", "1,000"), ("S4", "10,000")):
        assert name in out and size in out


def test_systems_json_describes_one_system(capsys):
    assert main(["systems", "S2", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    text = json.dumps(facts)
    assert "S2" in text and "16" in text  # the name and its 4x4 MEA


def test_simulate_writes_a_figure_and_a_summary(tmp_path, capsys):
    png, summary = tmp_path / "s1.png", tmp_path / "s1.json"
    code = main([
        "simulate", "S1", "--duration", "300", "--stimulate", "0:10uA@100msx4/20Hz", "--target", "numpy",
        "--quiet", "--out", str(png), "--json", str(summary),
    ])
    assert code == 0
    assert png.stat().st_size > 10_000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(summary.read_text())
    assert "E" in json.dumps(data) and "I" in json.dumps(data)
    assert "S1" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, words",
    [
        (["simulate", "S9"], ["S9"]),
        (["simulate", "S2", "--duration", "-5"], ["-5"]),
        (["simulate", "S2", "--duration", "nan"], ["nan"]),
        (["simulate", "S2", "--stimulate", "99:3uA@10ms"], ["99"]),
        (["simulate", "S2", "--stimulate", "5:999uA@10ms"], ["999"]),
        (["simulate", "S2", "--stimulate", "five volts"], ["five volts"]),
    ],
)
def test_bad_input_is_one_line_naming_the_value_with_exit_code_2(args, words, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for word in words:
        assert word in err


def test_malformed_config_file_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    assert main(["simulate", str(bad), "--duration", "10"]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "Traceback" not in err


def test_console_script_help_explains_the_commands():
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from livn_rl.cli import main; sys.exit(main(['--help']))"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0
    assert "simulate" in done.stdout and "systems" in done.stdout
