// The LIF page: draws the neuron and live charts from frames {v, spike, input, t, threshold}.
"use strict";

const HISTORY = 200;          // steps on the charts
const DENDRITE_MS = 450;      // how long dendrites glow after an input spike
const AXON_MS = 600;          // how long a pulse takes down the axon

const view = {                // read by people in the console and by the browser tests
  mode: "stream", frames: 0, inputs: 0, spikes: 0, dendriteFlashes: 0, axonPulses: 0, lastFrame: null, params: null,
  errors: [],
};
window.livnView = view;

const history = [];
const events = { dendrite: [], axon: [] };   // start times (ms) of running animations
const neuronCtx = setupCanvas(document.getElementById("neuron"));
const potentialCtx = setupCanvas(document.getElementById("potential"));
const spikesCtx = setupCanvas(document.getElementById("spikes"));
const statusEl = document.getElementById("status");

// ------------------------------------------------------------------------------------------- the drawing
const SOMA = { x: 250, y: 130, r: 30 };
// dendrites: polylines from the tip to the soma
const DENDRITES = [
  [[40, 40], [110, 70], [180, 105], [SOMA.x - 26, 118]],
  [[60, 110], [120, 95], [180, 105]],
  [[30, 150], [110, 140], [SOMA.x - 30, 132]],
  [[50, 225], [120, 195], [175, 160], [SOMA.x - 26, 144]],
  [[90, 245], [140, 205], [175, 160]],
];
const AXON = [[SOMA.x + SOMA.r, SOMA.y], [330, 128], [420, 134], [510, 128], [545, 130]];
const TERMINALS = [[[545, 130], [580, 95]], [[545, 130], [588, 132]], [[545, 130], [580, 168]]];

function pointAlong(path, fraction) {
  const lengths = [];
  let total = 0;
  for (let k = 1; k < path.length; k++) {
    const d = Math.hypot(path[k][0] - path[k - 1][0], path[k][1] - path[k - 1][1]);
    lengths.push(d);
    total += d;
  }
  let left = fraction * total;
  for (let k = 0; k < lengths.length; k++) {
    if (left <= lengths[k]) {
      const f = lengths[k] ? left / lengths[k] : 0;
      return [path[k][0] + f * (path[k + 1][0] - path[k][0]), path[k][1] + f * (path[k + 1][1] - path[k][1])];
    }
    left -= lengths[k];
  }
  return path[path.length - 1];
}

function strokePath(ctx, path, colour, width) {
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(path[0][0], path[0][1]);
  for (const p of path.slice(1)) ctx.lineTo(p[0], p[1]);
  ctx.stroke();
}

function mix(a, b, f) {  // two [r, g, b] colours
  return `rgb(${a.map((x, k) => Math.round(x + (b[k] - x) * f)).join(",")})`;
}

function drawNeuron(now) {
  const ctx = neuronCtx;
  ctx.clearRect(0, 0, ctx.size.width, ctx.size.height);
  events.dendrite = events.dendrite.filter((start) => now - start < DENDRITE_MS);
  events.axon = events.axon.filter((start) => now - start < AXON_MS);
  const glow = events.dendrite.reduce((g, start) => Math.max(g, 1 - (now - start) / DENDRITE_MS), 0);
  const rest = [120, 135, 160], lit = [255, 176, 0];
  for (const path of DENDRITES) strokePath(ctx, path, mix(rest, lit, glow), 4 + 3 * glow);
  for (const start of events.dendrite) {  // the input travelling from the tips to the soma
    const f = Math.min(1, (now - start) / (DENDRITE_MS * 0.7));
    ctx.fillStyle = "rgba(255, 200, 40, 0.95)";
    for (const path of DENDRITES) {
      const [x, y] = pointAlong(path, f);
      ctx.beginPath(); ctx.arc(x, y, 4, 0, 2 * Math.PI); ctx.fill();
    }
  }
  strokePath(ctx, AXON, "rgb(120,135,160)", 6);
  for (const t of TERMINALS) strokePath(ctx, t, "rgb(120,135,160)", 4);
  const fired = events.axon.reduce((g, start) => Math.max(g, 1 - (now - start) / AXON_MS), 0);
  for (const start of events.axon) {  // the action potential running down the axon to the terminals
    const f = (now - start) / AXON_MS;
    const [x, y] = pointAlong(AXON, Math.min(1, f * 1.25));
    const gradient = ctx.createRadialGradient(x, y, 0, x, y, 16);
    gradient.addColorStop(0, "rgba(255,255,255,1)");
    gradient.addColorStop(0.35, "rgba(209,69,59,0.95)");
    gradient.addColorStop(1, "rgba(209,69,59,0)");
    ctx.fillStyle = gradient;
    ctx.beginPath(); ctx.arc(x, y, 16, 0, 2 * Math.PI); ctx.fill();
    if (f > 0.8) for (const t of TERMINALS) {
      ctx.fillStyle = `rgba(209,69,59,${(1 - f) * 5})`;
      ctx.beginPath(); ctx.arc(t[1][0], t[1][1], 7, 0, 2 * Math.PI); ctx.fill();
    }
  }
  for (const t of TERMINALS) { ctx.fillStyle = "rgb(120,135,160)"; ctx.beginPath(); ctx.arc(t[1][0], t[1][1], 5, 0, 2 * Math.PI); ctx.fill(); }
  // the soma: its fill follows v / threshold, a flash when it fires
  const frame = view.lastFrame;
  const level = frame ? Math.max(0, Math.min(1, frame.v / frame.threshold)) : 0;
  ctx.fillStyle = fired > 0 ? mix([47, 109, 181], [255, 255, 255], fired) : mix([214, 226, 242], [47, 109, 181], level);
  ctx.strokeStyle = "#1b3f73";
  ctx.lineWidth = 2;
  ctx.beginPath(); ctx.arc(SOMA.x, SOMA.y, SOMA.r, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
  ctx.fillStyle = "#667085";
  ctx.font = "12px system-ui, sans-serif";
  ctx.fillText("dendrites", 20, 18);
  ctx.fillText("soma", SOMA.x - 14, SOMA.y + SOMA.r + 16);
  ctx.fillText("axon", 420, 118);
  requestAnimationFrame(drawNeuron);
}
requestAnimationFrame(drawNeuron);

// ------------------------------------------------------------------------------------------------ charts
function drawCharts() {
  const threshold = history.length ? history[history.length - 1].threshold : 1;
  const top = Math.max(threshold * 1.15, ...history.map((f) => f.v));
  let box = drawAxes(potentialCtx, { yMin: 0, yMax: top, yLabel: "v", xLabel: `last ${HISTORY} steps` });
  const x = (k) => box.left + (box.right - box.left) * (k + HISTORY - history.length) / (HISTORY - 1);
  const ctx = potentialCtx;
  ctx.setLineDash([5, 4]);
  ctx.strokeStyle = "#d1453b";
  ctx.beginPath(); ctx.moveTo(box.left, box.y(threshold)); ctx.lineTo(box.right, box.y(threshold)); ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = "#d1453b";
  ctx.fillText("threshold", box.right - 58, box.y(threshold) - 4);
  ctx.strokeStyle = "#2f6db5";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  history.forEach((f, k) => {
    const y = box.y(f.spike ? threshold : f.v);  // a spike drawn up to the threshold, then the reset
    if (k === 0) ctx.moveTo(x(k), y); else ctx.lineTo(x(k), y);
    if (f.spike) ctx.lineTo(x(k), box.y(f.v));
  });
  ctx.stroke();
  // spikes: input (orange) and output (red) as ticks
  const sctx = spikesCtx;
  sctx.clearRect(0, 0, sctx.size.width, sctx.size.height);
  sctx.font = "11px system-ui, sans-serif";
  const rows = [["input", "input", "#e0a100", 22], ["output", "spike", "#d1453b", 58]];
  for (const [label, key, colour, y] of rows) {
    sctx.fillStyle = "#667085";
    sctx.fillText(label, 4, y + 4);
    sctx.strokeStyle = colour;
    sctx.lineWidth = 2;
    history.forEach((f, k) => {
      if (f[key]) { sctx.beginPath(); sctx.moveTo(x(k), y - 12); sctx.lineTo(x(k), y + 12); sctx.stroke(); }
    });
  }
}

// ------------------------------------------------------------------------------------------------ frames
function onFrame(frame) {
  if (frame.type === "error") { view.errors.push(frame.error); document.getElementById("error").textContent = frame.error; return; }
  if (frame.type === "params") { showParams(frame); return; }
  view.frames += 1;
  view.lastFrame = frame;
  history.push(frame);
  if (history.length > HISTORY) history.shift();
  const now = performance.now();
  if (frame.input) { view.inputs += 1; view.dendriteFlashes += 1; startAnimation(events.dendrite, now); }
  if (frame.spike) { view.spikes += 1; view.axonPulses += 1; startAnimation(events.axon, now); }
  document.getElementById("step").textContent = frame.t;
  document.getElementById("v").textContent = frame.v.toFixed(3);
  document.getElementById("rate-out").textContent = (history.reduce((n, f) => n + f.spike, 0) / history.length).toFixed(3);
  chartsDirty = true;
}

// at most MAX_RUNNING animations of each kind at once (fast streams start one per frame)
const MAX_RUNNING = 6;
function startAnimation(list, now) {
  list.push(now);
  if (list.length > MAX_RUNNING) list.shift();
}

// the charts are redrawn once per screen refresh, however many frames arrived since
let chartsDirty = false;
function refreshCharts() {
  if (chartsDirty) { drawCharts(); chartsDirty = false; }
  requestAnimationFrame(refreshCharts);
}
requestAnimationFrame(refreshCharts);

function setStatus(kind, text) {
  statusEl.className = kind;
  statusEl.textContent = text;
}

// while a trace replays, the live stream's frames are not drawn (the run itself goes on for the others)
function onStream(message) { if (view.mode === "stream" || message.type) onFrame(message); }
const stream = connectStream(onStream, (kind, text) => { if (view.mode === "stream") setStatus(kind, text); });
if (stream.onOpen) stream.onOpen(() => stream.send({ cmd: "params" }));

// ---------------------------------------------------------------------------------------------- controls
const SLIDERS = ["rate", "dv", "spike_fraction", "delay_ms"];
let paused = false;

function showParams(message) {
  view.params = message.params;
  paused = message.paused;
  document.getElementById("pause").textContent = paused ? "Resume" : "Pause";
  if (view.mode === "stream") setStatus(paused ? "paused" : "live", paused ? "paused" : "live");
  for (const name of SLIDERS) {
    const input = document.getElementById(name);
    if (document.activeElement !== input && name in message.params) {
      input.value = message.params[name];
      input.nextElementSibling.textContent = (+message.params[name]).toFixed(name === "delay_ms" ? 0 : 2);
    }
  }
}

for (const name of SLIDERS) {
  const input = document.getElementById(name);
  input.addEventListener("input", () => {
    input.nextElementSibling.textContent = (+input.value).toFixed(name === "delay_ms" ? 0 : 2);
    if (view.mode === "replay" && name === "delay_ms") replayDelay = +input.value;
    else stream.send({ cmd: "set", [name]: +input.value });
  });
}

document.getElementById("pause").addEventListener("click", () => {
  if (view.mode === "replay") { replayPaused = !replayPaused; document.getElementById("pause").textContent = replayPaused ? "Resume" : "Pause"; return; }
  stream.send({ cmd: paused ? "resume" : "pause" });
});

// ------------------------------------------------------------------------------------ offline replay
let replayDelay = 80, replayPaused = false;

function replay(trace) {
  const keys = ["membrane_potential", "spikes", "input", "t"];
  const missing = keys.filter((k) => !Array.isArray(trace[k]));
  if (missing.length) throw new Error(`not a LIF trace: it has no ${missing.join(", ")} (write one with livn-rl view lif --export)`);
  view.mode = "replay";
  view.frames = 0;
  history.length = 0;
  setStatus("live", `replaying ${trace.t.length} steps`);
  let k = 0;
  function next() {
    if (k >= trace.t.length) { setStatus("paused", `replay done (${trace.t.length} steps)`); view.replayDone = true; return; }
    if (!replayPaused) {
      onFrame({ v: trace.membrane_potential[k], spike: trace.spikes[k], input: trace.input[k], t: trace.t[k], threshold: trace.threshold });
      k += 1;
    }
    setTimeout(next, replayDelay);
  }
  next();
}

document.getElementById("trace").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (!file) return;
  file.text().then((text) => replay(JSON.parse(text))).catch((err) => {
    document.getElementById("error").textContent = String(err.message || err);
    view.errors.push(String(err.message || err));
  });
});
