"""Files are complete or absent: livn_rl.atomic writes under a temporary name and renames."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from livn_rl.atomic import PARTIAL_GLOB, atomic_path, copy_file, partial_path, write_bytes, write_json, write_text


def test_writes_replace_the_file_and_leave_no_temporary(tmp_path):
    target = tmp_path / "state.json"
    target.write_text("old")
    assert write_json(target, {"steps": 3}) == target
    assert json.loads(target.read_text()) == {"steps": 3}
    write_text(tmp_path / "table.md", "| a |\n")
    write_bytes(tmp_path / "model.zip", b"\x00\x01")
    assert (tmp_path / "model.zip").read_bytes() == b"\x00\x01"
    assert copy_file(tmp_path / "model.zip", tmp_path / "copy.zip").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.zip", "model.zip", "state.json", "table.md"]


def test_an_error_while_writing_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "summary.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(target) as partial:
            partial.write_text("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert list(tmp_path.glob(PARTIAL_GLOB)) == []


def test_the_temporary_is_hidden_beside_the_target_keeps_its_suffix_and_names_the_writer(tmp_path):
    partial = partial_path(tmp_path / "run.mp4")
    assert partial.parent == tmp_path and partial.name.startswith(".") and partial.suffix == ".mp4"
    assert str(os.getpid()) in partial.name
    assert partial.match(PARTIAL_GLOB)


def test_a_writer_killed_mid_write_leaves_the_old_file_whole(tmp_path):
    """SIGKILL between the write and the rename: the target still holds the old content; the temporary is findable."""
    target = tmp_path / "meta.json"
    target.write_text('{"old": true}')
    script = textwrap.dedent(f"""
        import os, signal
        from livn_rl.atomic import atomic_path
        with atomic_path({str(target)!r}) as partial:
            partial.write_text('{{"new": ')
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == -9
    assert json.loads(target.read_text()) == {"old": True}
    assert len(list(tmp_path.glob(PARTIAL_GLOB))) == 1
