"""livn-rl view: the LIF stream and the env stream, as their clients see them (the websockets client, plain HTTP),
and livn-rl animate. The page itself, in a real browser: tests/test_view_browser.py."""

from __future__ import annotations

import asyncio
import http.client
import json
import shutil
import signal
import socket
import time

import numpy as np
import pytest

websockets = pytest.importorskip("websockets", reason="livn-rl view needs the websockets package (livn_rl[view])")
from websockets.sync.client import connect  # noqa: E402

from livn_rl.cli import main  # noqa: E402
from livn_rl.systems.lif import DiscreteLIF, simulate_lif  # noqa: E402

LIF_KEYS = {"v": float, "spike": int, "input": int, "t": int, "threshold": float}
NUMPY = ("--env-arg", "target=numpy")


def frames_of(ws, n: int, timeout: float = 30.0) -> list[dict]:
    """The next ``n`` data frames of a LIF stream (messages with a ``type`` are replies, set aside)."""
    frames = []
    while len(frames) < n:
        message = json.loads(ws.recv(timeout=timeout))
        if "type" not in message:
            frames.append(message)
    return frames


def next_of(ws, kind: str, timeout: float = 60.0, where=lambda m: True) -> dict:
    """The next message of type ``kind`` (for which ``where`` holds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if message.get("type") == kind and where(message):
            return message
    raise AssertionError(f"no {kind!r} message in {timeout} s")


# ------------------------------------------------------------------------------------------ the LIF recurrence
def test_the_stepper_is_the_recurrence_of_simulate_lif():
    params = {"rate": 0.3, "threshold": 1.5, "spike_fraction": 0.5, "dv": 0.1, "du": 0.6, "bias": 0.01}
    trace = simulate_lif(300, **params, seed=4)
    neuron = DiscreteLIF(**params, seed=4)
    steps = [neuron.step() for _ in range(300)]
    assert [s.input for s in steps] == trace["input"]
    assert [s.spike for s in steps] == trace["spikes"] and sum(trace["spikes"]) > 5
    assert [s.v for s in steps] == trace["membrane_potential"]
    assert [s.current for s in steps] == trace["current"]
    neuron.set(rate=0.0, bias=0.0)
    assert all(neuron.step().input == 0 for _ in range(50))
    with pytest.raises(ValueError, match=r"rate .* in \[0, 1\], got 1\.5"):
        neuron.set(rate=1.5, dv=0.5)
    assert neuron.dv == 0.1  # nothing changes when one value is bad
    with pytest.raises(ValueError, match=r"unknown LIF parameter\(s\) \['tau'\]"):
        neuron.set(tau=3)


# ------------------------------------------------------------------------------------------- the LIF stream
def test_the_issue_client_reads_the_lif_stream(start_view):
    _, port = start_view("lif", "--rate", "0.08", "--dv", "0.04", "--spike-fraction", "0.4", "--delay-ms", "5")

    async def probe():  # the client from the issue, verbatim but for the port
        async with websockets.connect(f"ws://localhost:{port}/stream") as ws:
            frames = [json.loads(await ws.recv()) for _ in range(120)]
        rate = sum(f["spike"] for f in frames) / len(frames)
        return rate, frames

    rate, frames = asyncio.run(probe())
    for frame in frames:
        assert set(frame) == set(LIF_KEYS)
        assert all(type(frame[key]) is kind for key, kind in LIF_KEYS.items()), frame
    t = [f["t"] for f in frames]
    assert t == list(range(t[0], t[0] + 120))
    # the stream is the recurrence itself: seed 1 and the demo's parameters give simulate_lif's trace, step for step
    trace = simulate_lif(t[-1] + 1, rate=0.08, dv=0.04, spike_fraction=0.4, seed=1)
    assert [f["v"] for f in frames] == trace["membrane_potential"][t[0]:]
    assert [f["input"] for f in frames] == trace["input"][t[0]:]
    assert [f["spike"] for f in frames] == trace["spikes"][t[0]:]
    # and the rate lies in the range the recurrence gives over 120 steps (any seed)
    rates = [sum(simulate_lif(120, rate=0.08, dv=0.04, spike_fraction=0.4, seed=s)["spikes"]) / 120 for s in range(300)]
    assert min(rates) <= rate <= max(rates)
    assert 0 < max(rates) < 0.1


def test_commands_change_the_run_and_bad_messages_get_an_error_for_their_sender_only(start_view):
    _, port = start_view("lif", "--delay-ms", "2", "--quiet")
    url = f"ws://127.0.0.1:{port}/stream"
    with connect(url) as watcher, connect(url) as controller:
        bad = {
            "{not json": "malformed JSON",
            "[1, 2]": "must be a JSON object",
            '{"cmd": "explode"}': "unknown command 'explode'",
            '{"rate": 0.5}': "unknown command None",
            '{"cmd": "set", "rate": 1.5}': r"rate must be a finite number in [0, 1], got 1.5",
            '{"cmd": "set", "rate": NaN}': "NaN is not a number JSON allows",
            '{"cmd": "set", "rate": true}': "rate must be a finite number",
            '{"cmd": "set", "tau": 3}': "takes no field(s) ['tau']",
            '{"cmd": "set"}': "needs at least one of the fields",
            '{"cmd": "set", "delay_ms": -1}': "delay_ms must be a finite number in [0, 10000]",
            json.dumps({"cmd": "pause", "padding": "x" * 10_000}): "longer than the 4096 bytes allowed",
            b"\x00\x01": "binary messages are not understood",
        }
        for message, words in bad.items():
            controller.send(message)
            error = next_of(controller, "error", timeout=10)
            assert words in error["error"], (message, error)
        # an oversized frame closes only that connection (the library refuses to read it)
        with connect(url) as reckless:
            reckless.send("x" * 100_000)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    reckless.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        controller.send(json.dumps({"cmd": "set", "rate": 1.0, "spike_fraction": 0.0}))
        params = next_of(controller, "params", timeout=10)
        assert params["params"]["rate"] == 1.0 and params["params"]["spike_fraction"] == 0.0
        frames = frames_of(controller, 20)
        assert all(f["input"] == 1 and f["spike"] == 0 for f in frames)
        # the watcher saw frames only, uninterrupted, the new rate among them
        seen = [json.loads(watcher.recv(timeout=10)) for _ in range(400)]
        assert all("type" not in m for m in seen)
        assert [m["t"] for m in seen] == list(range(seen[0]["t"], seen[0]["t"] + 400))
        controller.send('{"cmd": "pause"}')
        assert next_of(controller, "params", timeout=10)["paused"] is True
        time.sleep(0.3)
        last = seen[-1]
        while True:  # drain what was sent before the pause
            try:
                last = json.loads(watcher.recv(timeout=0.5))
            except TimeoutError:
                break
        with pytest.raises(TimeoutError):
            watcher.recv(timeout=0.5)
        controller.send('{"cmd": "resume"}')
        assert json.loads(watcher.recv(timeout=10))["t"] == last["t"] + 1


def test_a_slow_client_loses_frames_and_the_others_do_not(start_view):
    _, port = start_view("lif", "--delay-ms", "0", "--quiet")
    url = f"ws://127.0.0.1:{port}/stream"

    async def run():
        stalled = socket.socket()  # a client that stops reading: a tiny receive buffer, and it never asks for more
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", port))
        slow = await websockets.connect(url, sock=stalled, max_queue=1)
        async with websockets.connect(url) as fast:
            start = time.monotonic()
            steady = []
            while time.monotonic() - start < 3.0:
                steady.append(json.loads(await fast.recv())["t"])
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)  # it reads again, at full speed
        late = [json.loads(await slow.recv())["t"] for _ in range(3000)]
        slow.transport.abort()  # gone without a goodbye (a closing handshake would wait behind its backlog)
        return steady, late

    steady, late = asyncio.run(run())
    assert steady == list(range(steady[0], steady[0] + len(steady)))  # every frame, in order
    gaps = [b - a for a, b in zip(late, late[1:]) if b != a + 1]
    assert gaps and all(g > 1 for g in gaps)  # frames dropped for the slow client, never reordered
    assert late[-1] > steady[0] + len(late)  # and what it gets is recent, not the backlog


# ---------------------------------------------------------------------------------------- HTTP and security
def _get(port: int, path: str, headers: dict | None = None) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers=headers or {})  # the path is sent as given, not normalised
    response = connection.getresponse()
    result = response.status, response.getheader("Content-Type", ""), response.read()
    connection.close()
    return result


def test_the_server_serves_its_own_files_and_nothing_else(start_view):
    _, port = start_view("lif", "--quiet")
    status, kind, body = _get(port, "/")
    assert status == 200 and kind.startswith("text/html") and b"One LIF neuron" in body
    assert _get(port, "/lif.js")[:2] == (200, "text/javascript; charset=utf-8")
    assert _get(port, "/view.css")[0] == 200
    for path in ("/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc/passwd", "/static/lif.js",
                 "/server.py", "/../server.py", "//etc/passwd", "/lif.js/..", "/env.js%00.html", "/does-not-exist"):
        status, _, body = _get(port, path)
        assert status == 404, path
        assert b"root:" not in body and b"import" not in body
    # a page of another origin cannot open the stream (no other web site can steer the run); this origin can
    with pytest.raises(websockets.InvalidStatus) as refused:
        connect(f"ws://127.0.0.1:{port}/stream", origin="http://evil.example")
    assert refused.value.response.status_code == 403
    with connect(f"ws://127.0.0.1:{port}/stream", origin=f"http://127.0.0.1:{port}") as ws:
        assert set(json.loads(ws.recv(timeout=10))) == set(LIF_KEYS)


def test_the_server_listens_on_loopback_and_ctrl_c_stops_it(start_view):
    process, port = start_view("lif")
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    assert process.poll() is None
    process.send_signal(signal.SIGINT)
    assert process.wait(20) == 0
    assert "livn-rl view: stopped" in "".join(iter(lambda: process.lines.get(timeout=10), None))
    with socket.socket() as again:  # the port is free again
        again.bind(("127.0.0.1", port))


# ----------------------------------------------------------------------------------------------- CLI errors
def test_bad_command_lines_exit_with_status_2_and_a_clear_message(capsys, tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        cases = [
            (["view", "lif", "--port", str(taken.getsockname()[1])], "cannot listen on 127.0.0.1:"),
            (["view", "Pendulum-S9-v0"], "unknown env 'Pendulum-S9-v0'"),
            (["view", "lif", "--policy", "none"], "--policy applies to livn-rl view ENV only"),
            (["view", "RateClamp-S1-v0", "--rate", "0.5"], "--rate applies to livn-rl view lif only"),
            (["view", "lif", "--rate", "1.5"], "rate (an input spike probability) must be a finite number in [0, 1]"),
            (["view", "lif", "--port", "70000"], "--port must be 0..65535"),
            (["view", "RateClamp-S1-v0", "--policy", str(tmp_path / "missing.zip")], "is not a file"),
            (["view", "RateClamp-S1-v0", "--env-arg", "window_ms=-5"], "window_ms"),
            (["view", "lif", "--export", str(tmp_path / "trace.txt")], "must end in one of .json"),
            (["animate", "RateClamp-S1-v0", "--out", str(tmp_path / "a.avi")], "must end in one of .gif, .mp4"),
            (["animate", "Nope-v0"], "unknown env 'Nope-v0'"),
        ]
        for argv, words in cases:
            assert main(argv) == 2, argv
            err = capsys.readouterr().err
            assert words in err, (argv, err)
    finally:
        taken.close()
    (tmp_path / "not-a-model.zip").write_text("hello")
    assert main(["view", "RateClamp-S1-v0", "--policy", str(tmp_path / "not-a-model.zip")]) == 2
    assert "is not a stable-baselines3 model" in capsys.readouterr().err


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two untrained SAC models saved as livn-rl train saves them: one for RateClamp-S1's spaces, one for
    Pendulum-v1's (which do not match any livn_rl env)."""
    import gymnasium as gym
    from stable_baselines3 import SAC

    folder = tmp_path_factory.mktemp("models")
    env = gym.make("livn_rl/RateClamp-S1-v0", target="numpy")
    SAC("MlpPolicy", env, learning_starts=0, buffer_size=10, seed=0).save(folder / "rate_clamp.zip")
    env.close()
    SAC("MlpPolicy", gym.make("Pendulum-v1"), buffer_size=10, seed=0).save(folder / "pendulum.zip")
    return folder


def test_a_policy_must_match_the_env(models, capsys):
    import gymnasium as gym

    from livn_rl.view import make_policy

    assert main(["view", "RateClamp-S1-v0", "--policy", str(models / "pendulum.zip")]) == 2
    err = capsys.readouterr().err
    assert "was trained with observation_space Box" in err and "use a model trained on this env" in err
    env = gym.make("livn_rl/RateClamp-S1-v0", target="numpy")
    policy = make_policy(str(models / "rate_clamp.zip"), env)
    obs, _ = env.reset(seed=0)
    action = policy(obs)
    assert action.shape == env.action_space.shape and env.action_space.contains(action)
    assert np.array_equal(policy(obs), action)  # deterministic
    env.close()


# ---------------------------------------------------------------------------------------------- LIF export
def test_export_writes_the_trace_of_simulate_lif(tmp_path, capsys):
    out = tmp_path / "traces" / "data.json"
    assert main(["view", "lif", "--export", str(out), "--steps", "50", "--seed", "3", "--rate", "0.3"]) == 0
    assert json.loads(out.read_text()) == simulate_lif(50, rate=0.3, seed=3)
    assert sorted(p.name for p in out.parent.iterdir()) == ["data.json"]  # no partial file left
    assert "50 steps" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------------- env stream
def test_an_env_stream_and_a_person_stimulating_an_electrode(start_view, models):
    process, port = start_view("RateClamp-S1-v0", "--policy", "none", "--fast", "--seed", "5", *NUMPY)
    with connect(f"ws://127.0.0.1:{port}/stream") as ws:
        layout = json.loads(ws.recv(timeout=30))
        assert layout["type"] == "layout" and layout["env_id"] == "livn_rl/RateClamp-S1-v0"
        assert layout["n_channels"] == 4 and len(layout["electrodes_xy"]) == 4 and len(layout["neurons_xy"]) == 10
        assert [p["name"] for p in layout["populations"]] == ["E", "I"] and layout["clickable"] is True
        assert layout["policy"] == "none" and layout["task_kind"] == "culture" and layout["max_episode_steps"] == 200
        reset = next_of(ws, "reset")
        assert (reset["episode"], reset["seed"]) == (1, 5) and reset["task"]["kind"] == "culture"
        step = next_of(ws, "step")
        assert len(step["spike_i"]) == len(step["spike_t"]) and len(step["channel_counts"]) == 4
        assert all(step["t_start_ms"] <= t < step["t_stop_ms"] for t in step["spike_t"])
        assert step["stimulated"] == [] and step["action"] == [-1.0] * 4 and step["override"] == {}
        assert set(step["population_rates_hz"]) == {"E", "I"} and len(step["task"]["goal"]) == 4
        ws.send(json.dumps({"cmd": "stimulate", "channel": 2, "amplitude": 0.5}))
        assert next_of(ws, "state")["overrides"] == {"2": 0.5}
        clicked = next_of(ws, "step", where=lambda m: m["override"])
        assert clicked["override"] == {"2": 0.5} and clicked["stimulated"] == [2]
        assert clicked["action"] == [-1.0, -1.0, 0.0, -1.0]  # half the largest amplitude on electrode 2 only
        after = next_of(ws, "step")
        assert after["step"] == clicked["step"] + 1 and after["stimulated"] == [] and after["override"] == {}
        for message, words in [({"cmd": "stimulate", "channel": 4}, "channel must be a whole number in 0..3"),
                               ({"cmd": "stimulate", "channel": 1, "amplitude": 0}, "amplitude must be a finite number in (0, 1]"),
                               ({"cmd": "stimulate"}, "needs the field(s) ['channel']"),
                               ({"cmd": "reset", "seed": -2}, "seed must be a whole number in 0..2147483647"),
                               ({"cmd": "pace", "mode": "slow"}, "mode must be one of ['realtime', 'fast']")]:
            ws.send(json.dumps(message))
            assert words in next_of(ws, "error")["error"]
        ws.send(json.dumps({"cmd": "pause"}))
        assert next_of(ws, "state")["paused"] is True
        ws.send(json.dumps({"cmd": "reset", "seed": 11}))  # a paused run resets at once, and stays paused
        reset = next_of(ws, "reset")
        assert (reset["episode"], reset["seed"]) == (2, 11)
        with pytest.raises((TimeoutError, AssertionError)):  # no step while paused
            next_of(ws, "step", timeout=1.5)
        ws.send(json.dumps({"cmd": "resume"}))
        assert next_of(ws, "step")["step"] == 1
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0


def test_an_env_stream_of_a_task_env_shows_the_task_and_refuses_clicks(start_view):
    _, port = start_view("Pendulum-S1-v0", "--fast", *NUMPY)
    with connect(f"ws://127.0.0.1:{port}/stream") as ws:
        layout = next_of(ws, "layout")
        assert layout["clickable"] is False and layout["task_kind"] == "pendulum" and layout["policy"] == "random"
        step = next_of(ws, "step")
        task = step["task"]
        assert task["kind"] == "pendulum" and -np.pi <= task["theta"] <= np.pi and task["max_torque"] == 2.0
        assert len(task["action"]) == 1 and abs(task["action"][0]) <= 2.0
        ws.send(json.dumps({"cmd": "stimulate", "channel": 0}))
        assert "not a culture-control env" in next_of(ws, "error")["error"]
        assert next_of(ws, "step")["step"] > step["step"]  # the run goes on


@pytest.mark.parametrize("env_id, kind, keys", [
    ("livn_rl/LIF-RateTrack-v0", "rate_track", {"rate_hz", "target_hz", "current_na"}),
    ("livn_rl/CartPole-S1-v0", "cartpole", {"x", "theta", "x_threshold", "action"}),
    ("livn_rl/Pattern-S1-v0", "culture", {"goal", "values"}),
])
def test_frames_of_each_task_kind(env_id, kind, keys):
    import gymnasium as gym

    from livn_rl.view.env_frames import layout, reset_frame, step_frame

    env = gym.make(env_id, target="numpy")
    base = env.unwrapped
    obs, info = env.reset(seed=0)
    assert layout(base, env_id, "random", "fast", 10)["task_kind"] == kind
    assert keys <= set(reset_frame(base, 1, 0, obs, info)["task"])
    action = env.action_space.sample()
    obs, reward, terminated, truncated, info = env.step(action)
    frame = step_frame(base, episode=1, step=1, action=action, override={}, observation=obs, reward=reward,
                       episode_return=reward, terminated=terminated, truncated=truncated, info=info)
    json.dumps(frame, allow_nan=False)  # plain JSON: no NaN reaches the page
    assert keys <= set(frame["task"]) and frame["task"]["kind"] == kind
    assert sum(frame["channel_counts"]) == base.last_recording.channel_c.size
    env.close()


# ------------------------------------------------------------------------------------------------- animate
def test_animate_writes_a_gif_one_frame_per_step(tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "episode.gif"
    assert main(["animate", "RateClamp-S1-v0", "--steps", "3", "--fps", "5", "--out", str(out), *NUMPY]) == 0
    captured = capsys.readouterr()
    assert "3 frames" in captured.out and "3/3" in captured.err  # the progress bar
    with Image.open(out) as gif:
        assert gif.n_frames == 3 and gif.size[0] > 400
    assert sorted(p.name for p in tmp_path.iterdir()) == ["episode.gif"]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="MP4 needs the ffmpeg program")
def test_animate_writes_an_mp4_with_ffmpeg(tmp_path):
    out = tmp_path / "episode.mp4"
    assert main(["animate", "RateClamp-S1-v0", "--steps", "2", "--out", str(out), "--quiet", *NUMPY]) == 0
    assert out.read_bytes()[4:8] == b"ftyp"


def test_animate_names_the_missing_mp4_writer(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no ffmpeg on this PATH
    assert main(["animate", "RateClamp-S1-v0", "--out", str(tmp_path / "e.mp4"), *NUMPY]) == 2
    assert "writing MP4 needs the ffmpeg program" in capsys.readouterr().err
    assert not (tmp_path / "e.mp4").exists()


def test_help_explains_view_and_animate(capsys):
    for command, words in (("view", "ws://localhost:8765/stream"), ("animate", "--out episode.gif")):
        with pytest.raises(SystemExit) as done:
            from livn_rl.cli.main import build_parser

            build_parser().parse_args([command, "--help"])
        assert done.value.code == 0
        out = capsys.readouterr().out
        assert "examples:" in out and words in out


def test_ctrl_c_stops_animate_and_leaves_no_movie(tmp_path):
    import os
    import subprocess
    import sys
    import threading

    process = subprocess.Popen([sys.executable, "-m", "livn_rl.cli", "animate", "RateClamp-S1-v0", "--steps", "500",
                                "--out", str(tmp_path / "e.gif"), *NUMPY], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    err = bytearray()
    reader = threading.Thread(target=lambda: [err.extend(chunk) for chunk in iter(lambda: os.read(process.stderr.fileno(), 4096), b"")],
                              daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and b"1/500" not in err:  # a frame is written: stop it mid-movie
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        process.wait(60)
        reader.join(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130 and b"livn-rl animate: interrupted" in err
    assert list(tmp_path.iterdir()) == []  # neither the movie nor its partial file
