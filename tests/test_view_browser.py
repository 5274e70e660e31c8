"""The live view's pages in a real headless browser (Debian's chromium, driven by playwright): what a person sees
and clicks. Screenshots are saved in each test's tmp_path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright (the test extra)")
from websockets.sync.client import connect  # noqa: E402

import livn_rl.view  # noqa: E402
from livn_rl.cli import main  # noqa: E402
from livn_rl.systems.lif import simulate_lif  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).is_file(),
                                reason="no chromium (apt-get install chromium; .ci/run installs it)")


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    page.close()
    assert not page.errors, page.errors  # no script error on any page


def canvas_image(page, selector: str) -> str:
    return page.evaluate(f"document.querySelector({selector!r}).toDataURL()")


def test_the_lif_page_animates_the_neuron_and_its_sliders_steer_the_run(start_view, page, tmp_path):
    _, port = start_view("lif", "--delay-ms", "10", "--quiet")
    page.goto(f"http://127.0.0.1:{port}/")
    page.wait_for_function("livnView.frames >= 60 && livnView.spikes >= 0 && livnView.params !== null", timeout=30_000)
    assert page.locator("#status").text_content() == "live"
    charts = canvas_image(page, "#potential")
    neuron_images = set()
    for _ in range(10):  # the drawing moves: dendrites glow and fade, the soma fills with v
        neuron_images.add(canvas_image(page, "#neuron"))
        page.wait_for_timeout(60)
    assert len(neuron_images) > 1
    assert canvas_image(page, "#potential") != charts
    counts = page.evaluate("({inputs: livnView.inputs, dendrites: livnView.dendriteFlashes, "
                           "spikes: livnView.spikes, axon: livnView.axonPulses})")
    assert counts["inputs"] > 0 and counts["dendrites"] == counts["inputs"] and counts["axon"] == counts["spikes"]
    page.screenshot(path=str(tmp_path / "lif_page.png"))

    # a slider changes the running neuron: what every client receives
    with connect(f"ws://127.0.0.1:{port}/stream") as ws:
        page.locator("#rate").fill("1")
        page.wait_for_function("livnView.params.rate === 1", timeout=10_000)
        frames = [json.loads(ws.recv(timeout=10)) for _ in range(200)]
        assert all(f["input"] == 1 for f in frames[-50:])  # every step an input spike once the slider moved
        page.locator("#spike_fraction").fill("1")  # w = threshold: every input now fires the neuron
        page.wait_for_function("livnView.params.spike_fraction === 1", timeout=10_000)
        frames = [json.loads(ws.recv(timeout=10)) for _ in range(200)]
        assert all(f["spike"] == 1 for f in frames[-50:])
    page.wait_for_function("livnView.lastFrame.spike === 1", timeout=10_000)
    assert page.evaluate("livnView.axonPulses") > counts["axon"]
    page.screenshot(path=str(tmp_path / "lif_page_firing.png"))

    page.locator("#pause").click()
    page.wait_for_function("document.querySelector('#status').textContent === 'paused'", timeout=10_000)
    frozen = page.evaluate("livnView.frames")
    page.wait_for_timeout(400)
    assert page.evaluate("livnView.frames") <= frozen + 2  # at most what was already on its way
    page.locator("#pause").click()
    page.wait_for_function(f"livnView.frames > {frozen + 10}", timeout=10_000)


def test_the_lif_page_replays_an_exported_trace_offline(page, tmp_path):
    trace_path = tmp_path / "data.json"
    assert main(["view", "lif", "--export", str(trace_path), "--steps", "120", "--rate", "0.3"]) == 0
    trace = simulate_lif(120, rate=0.3)
    lif_page = Path(livn_rl.view.__file__).parent / "static" / "lif.html"
    page.goto(lif_page.as_uri())  # no server at all: the page from the installed package
    assert page.locator("#status").text_content() == "no server: opened from a file"
    page.locator("#delay_ms").fill("0")
    page.locator("#trace").set_input_files(str(trace_path))
    page.wait_for_function("livnView.replayDone === true", timeout=30_000)
    replayed = page.evaluate("({frames: livnView.frames, spikes: livnView.spikes, inputs: livnView.inputs, "
                             "axon: livnView.axonPulses, last: livnView.lastFrame})")
    assert replayed["frames"] == 120
    assert replayed["spikes"] == replayed["axon"] == sum(trace["spikes"]) > 0
    assert replayed["inputs"] == sum(trace["input"])
    assert replayed["last"]["v"] == trace["membrane_potential"][-1]
    page.screenshot(path=str(tmp_path / "lif_replay.png"))


def test_the_env_page_draws_the_run_and_a_click_stimulates_the_electrode(start_view, page, tmp_path):
    _, port = start_view("RateClamp-S1-v0", "--policy", "none", "--fast", "--env-arg", "target=numpy", "--quiet")
    page.goto(f"http://127.0.0.1:{port}/")
    page.wait_for_function("livnView.layout !== null && livnView.frames >= 2", timeout=60_000)
    assert page.locator("#title").text_content() == "livn_rl/RateClamp-S1-v0"
    raster, mea = canvas_image(page, "#raster"), canvas_image(page, "#mea")
    page.wait_for_function("livnView.frames >= 5 && livnView.rasterSpikes > 0", timeout=60_000)
    assert canvas_image(page, "#raster") != raster and canvas_image(page, "#mea") != mea  # both follow the run
    assert page.evaluate("livnView.lastStep.stimulated") == []  # nobody acts: no stimulation

    with connect(f"ws://127.0.0.1:{port}/stream") as ws:
        page.locator("#amplitude").fill("0.5")
        page.locator("#mea").scroll_into_view_if_needed()
        box = page.locator("#mea").bounding_box()  # where electrode 3 is on the screen now
        scale = box["width"] / float(page.evaluate("document.querySelector('#mea').dataset.cssWidth"))
        x, y = page.evaluate("livnView.electrodeCentres[3]")
        page.mouse.click(box["x"] + x * scale, box["y"] + y * scale)  # a person clicks electrode 3
        page.wait_for_function("livnView.stimulations.some((s) => s.stimulated.includes(3))", timeout=30_000)
        # the env received it: every watcher sees the step whose action drove electrode 3 at half amplitude
        for _ in range(200):
            message = json.loads(ws.recv(timeout=30))
            if message.get("type") == "step" and message["override"]:
                break
        assert message["override"] == {"3": 0.5} and message["stimulated"] == [3]
        assert message["action"] == [-1.0, -1.0, -1.0, 0.0]
    assert page.evaluate("livnView.clicks") == [3]
    page.screenshot(path=str(tmp_path / "env_page_click.png"))

    page.locator("#seed").fill("42")
    page.locator("#reset").click()
    page.wait_for_function("livnView.lastReset.seed === 42 && livnView.lastReset.episode === 2", timeout=30_000)
