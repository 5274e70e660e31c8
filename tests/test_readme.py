"""The README's set-up commands and what it says about them."""

from __future__ import annotations

import re
from pathlib import Path

from packaging.specifiers import SpecifierSet

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
CI = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
SET_UP = ("pip install torch==2.13.0 && pip install . && livn-rl train",
          "pip install torch==2.13.0 && pip install -e '.[test]' && pytest -q")


def test_the_two_set_up_commands_are_the_ones_ci_runs():
    for command in SET_UP:
        assert f"```bash\n{command}\n```" in README
    assert SET_UP[1] in CI.splitlines()


def test_the_readme_says_which_torch_build_the_pin_installs_and_how_to_get_the_cpu_one():
    note = " ".join(README.split("(`pip install torch==2.13.0` first installs", 1)[1].split("The first simulation")[0].split())
    assert "CPU wheelhouse" in note and "from the public index on Linux it is the CUDA build" in note
    cpu = re.search(r"`pip install (torch==[\d.]+) --index-url https://download.pytorch.org/whl/cpu`", note)
    assert cpu and cpu.group(1) == "torch==2.13.0"  # the same pin as the set-up commands
    # "pip keeps the torch it finds": the pin matches the CPU build's local version, so pip installs nothing else
    assert SpecifierSet("==2.13.0").contains("2.13.0+cpu")
