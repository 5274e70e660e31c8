// The env page: a scrolling raster, the MEA (clickable in culture-control envs), rates, reward and the task.
"use strict";

const STEPS_KEPT = 200;           // steps on the rate and reward charts
const RASTER_MS = 1000;           // simulated time on the raster

const view = {                    // read by people in the console and by the browser tests
  layout: null, frames: 0, resets: 0, lastStep: null, lastReset: null, state: null, errors: [], clicks: [],
  electrodeCentres: [], rasterSpikes: 0, stimulations: [],
};
window.livnView = view;

const ctx = {
  raster: setupCanvas(document.getElementById("raster")),
  mea: setupCanvas(document.getElementById("mea")),
  task: setupCanvas(document.getElementById("task")),
  rates: setupCanvas(document.getElementById("rates")),
  reward: setupCanvas(document.getElementById("reward")),
};
const steps = [];                 // recent step frames (for charts)
let spikes = [];                  // [t_ms, neuron] of the recent windows
let windows = [];                 // [t_start, t_stop, stimulated?]
let colourOf = [];                // neuron -> colour
let maxCount = 1;                 // largest electrode count lately (colour scale)
const el = (id) => document.getElementById(id);

function setStatus(kind, text) { el("status").className = kind; el("status").textContent = text; }

// ------------------------------------------------------------------------------------------------- layout
function onLayout(layout) {
  view.layout = layout;
  document.title = `${layout.env_id} live - livn_rl`;
  el("title").textContent = layout.env_id;
  el("facts").textContent = `${layout.system}: ${layout.n_neurons} neurons, ${layout.n_channels} electrodes, ` +
    `${layout.window_ms} ms per step, policy: ${layout.policy}`;
  el("pace").value = layout.pace;
  colourOf = new Array(layout.n_neurons).fill("#888");
  el("legend").innerHTML = "";
  for (const p of layout.populations) {
    for (let i = p.start; i < p.stop; i++) colourOf[i] = p.colour;
    const item = document.createElement("span");
    item.innerHTML = `<i style="background:${p.colour}"></i>${p.name} (${p.excitatory ? "exc." : "inh."}, ${p.stop - p.start})`;
    el("legend").appendChild(item);
  }
  el("amplitude-label").hidden = !layout.clickable;
  el("mea-hint").textContent = "Electrodes: darker = more spikes detected; orange ring = stimulated." +
    (layout.clickable ? " Click an electrode to stimulate it in the next step." : "");
  meaGeometry();
  drawMea(null);
}

// the MEA picture: um -> canvas pixels, the same scale on both axes
let meaMap = null;
function meaGeometry() {
  const { width, height } = ctx.mea.size;
  const points = view.layout.neurons_xy.concat(view.layout.electrodes_xy);
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const margin = 22;
  const scale = Math.min((width - 2 * margin) / ((x1 - x0) || 1), (height - 2 * margin) / ((y1 - y0) || 1));
  const ox = (width - scale * (x1 - x0)) / 2, oy = (height - scale * (y1 - y0)) / 2;
  meaMap = { x: (u) => ox + scale * (u - x0), y: (v) => height - (oy + scale * (v - y0)) };
  const e = view.layout.electrodes_xy;
  let pitch = Infinity;
  for (let a = 0; a < e.length; a++) for (let b = a + 1; b < e.length; b++) pitch = Math.min(pitch, Math.hypot(e[a][0] - e[b][0], e[a][1] - e[b][1]));
  meaMap.radius = Math.max(6, Math.min(18, Number.isFinite(pitch) ? 0.3 * pitch * scale : 18));
  view.electrodeCentres = e.map((p) => [meaMap.x(p[0]), meaMap.y(p[1])]);
}

function drawMea(frame) {
  const c = ctx.mea, layout = view.layout;
  c.clearRect(0, 0, c.size.width, c.size.height);
  if (!layout) return;
  const fired = new Set(frame ? frame.spike_i : []);
  layout.neurons_xy.forEach((p, i) => {
    c.globalAlpha = fired.has(i) ? 1 : 0.25;
    c.fillStyle = colourOf[i];
    c.beginPath(); c.arc(meaMap.x(p[0]), meaMap.y(p[1]), fired.has(i) ? 3.2 : 2, 0, 2 * Math.PI); c.fill();
  });
  c.globalAlpha = 1;
  const counts = frame ? frame.channel_counts : [];
  const stimulated = new Set(frame ? frame.stimulated : []);
  const goal = frame && frame.task && frame.task.goal ? frame.task.goal : [];
  if (counts.length) maxCount = Math.max(1, 0.9 * maxCount, ...counts);
  view.electrodeCentres.forEach(([x, y], k) => {
    const level = counts.length ? Math.min(1, counts[k] / maxCount) : 0;
    c.fillStyle = `rgba(27, 63, 115, ${0.08 + 0.85 * level})`;
    c.strokeStyle = stimulated.has(k) ? layout.stimulus_colour : "#7a8599";
    c.lineWidth = stimulated.has(k) ? 4 : 1.2;
    c.beginPath(); c.arc(x, y, meaMap.radius, 0, 2 * Math.PI); c.fill(); c.stroke();
    if (goal[k] > 0) {
      c.setLineDash([3, 3]); c.strokeStyle = "#1f7a3a"; c.lineWidth = 1.5;
      c.beginPath(); c.arc(x, y, meaMap.radius + 5, 0, 2 * Math.PI); c.stroke(); c.setLineDash([]);
    }
    c.fillStyle = level > 0.55 ? "#fff" : "#1d2430";
    c.font = "10px system-ui, sans-serif";
    c.fillText(String(k), x - (k > 9 ? 6 : 3), y + 3.5);
  });
}

el("mea").addEventListener("click", (event) => {
  if (!view.layout || !view.layout.clickable) return;
  const box = el("mea").getBoundingClientRect();
  const sx = (event.clientX - box.left) * ctx.mea.size.width / box.width;
  const sy = (event.clientY - box.top) * ctx.mea.size.height / box.height;
  let best = -1, bestDistance = Infinity;
  view.electrodeCentres.forEach(([x, y], k) => {
    const d = Math.hypot(x - sx, y - sy);
    if (d < bestDistance) { best = k; bestDistance = d; }
  });
  if (best < 0 || bestDistance > meaMap.radius + 6) return;
  view.clicks.push(best);
  stream.send({ cmd: "stimulate", channel: best, amplitude: +el("amplitude").value });
});

// ------------------------------------------------------------------------------------------------ raster
function drawRaster() {
  const c = ctx.raster, layout = view.layout;
  const now = steps.length ? steps[steps.length - 1].t_stop_ms : RASTER_MS;
  const start = Math.max(0, now - RASTER_MS);
  const n = layout ? layout.n_neurons : 1;
  const box = drawAxes(c, { yMin: 0, yMax: n, yLabel: "neuron", xLabel: `time (ms), ${Math.round(start)}-${Math.round(now)}` });
  const x = (t) => box.left + (box.right - box.left) * (t - start) / RASTER_MS;
  c.fillStyle = "rgba(224, 161, 0, 0.11)";
  for (const [t0, t1, stim] of windows) if (stim && t1 > start) c.fillRect(x(Math.max(t0, start)), box.top, x(t1) - x(Math.max(t0, start)), box.bottom - box.top);
  const h = Math.max(1, Math.min(6, (box.bottom - box.top) / n));
  let drawn = 0;
  for (const [t, i] of spikes) {
    if (t < start) continue;
    c.fillStyle = colourOf[i] || "#888";
    c.fillRect(x(t) - 0.75, box.y(i + 0.5) - h / 2, 1.5, h);
    drawn += 1;
  }
  view.rasterSpikes = drawn;
}

// ------------------------------------------------------------------------------------------------ charts
function drawSeries(c, series, { yLabel, xLabel, zero = false }) {
  const values = series.flatMap((s) => s.values).filter((v) => v !== null && Number.isFinite(v));
  let lo = values.length ? Math.min(...values) : 0, hi = values.length ? Math.max(...values) : 1;
  if (zero) lo = Math.min(0, lo);
  if (hi - lo < 1e-9) { hi += 0.5; lo -= zero && lo >= 0 ? 0 : 0.5; }
  const box = drawAxes(c, { yMin: lo, yMax: hi, yLabel, xLabel });
  for (const s of series) {
    const x = (k) => box.left + (box.right - box.left) * (k + STEPS_KEPT - s.values.length) / (STEPS_KEPT - 1);
    c.strokeStyle = s.colour; c.lineWidth = 1.5; c.beginPath();
    let moved = false;
    s.values.forEach((v, k) => {
      if (v === null || !Number.isFinite(v)) { moved = false; return; }
      if (!moved) { c.moveTo(x(k), box.y(v)); moved = true; } else c.lineTo(x(k), box.y(v));
    });
    c.stroke();
  }
}

function drawCharts() {
  const layout = view.layout;
  if (!layout) return;
  drawSeries(ctx.rates, layout.populations.map((p) => ({ colour: p.colour, values: steps.map((f) => f.population_rates_hz[p.name]) })),
    { yLabel: "Hz", xLabel: `last ${STEPS_KEPT} steps`, zero: true });
  drawSeries(ctx.reward, [{ colour: "#1f7a3a", values: steps.map((f) => f.reward) }], { yLabel: "reward" });
}

// -------------------------------------------------------------------------------------------------- task
function drawTask(task, frame) {
  const c = ctx.task, { width, height } = c.size;
  c.clearRect(0, 0, width, height);
  c.font = "12px system-ui, sans-serif";
  c.lineCap = "round";
  const cx = width / 2, cy = height / 2;
  const rows = [];
  const action = task.action ? task.action[0] : null;
  if (task.kind === "pendulum") {
    const L = 0.38 * height, th = task.theta;
    const bx = cx + L * Math.sin(th), by = cy - L * Math.cos(th);
    line(c, cx, cy, bx, by, "#c0392b", 10);
    disc(c, cx, cy, 5, "#1d2430");
    if (action !== null) torqueArc(c, cx, cy, 0.2 * height, action / task.max_torque);
    rows.push(["angle (rad)", task.theta], ["angular velocity", task.theta_dot], ["torque", action]);
  } else if (task.kind === "cartpole") {
    const scale = (width - 40) / (2.4 * task.x_threshold), base = 0.72 * height;
    line(c, 20, base, width - 20, base, "#7a8599", 2);
    const x = cx + task.x * scale;
    c.fillStyle = "#2f6db5"; c.fillRect(x - 26, base - 16, 52, 24);
    line(c, x, base - 16, x + 0.45 * height * Math.sin(task.theta), base - 16 - 0.45 * height * Math.cos(task.theta), "#c8935b", 7);
    if (action !== null) arrow(c, x, base + 22, action >= 0.5 ? 1 : -1);
    rows.push(["cart position", task.x], ["pole angle (rad)", task.theta], ["push", action === null ? null : (action >= 0.5 ? "right" : "left")]);
  } else if (task.kind === "mountain_car") {
    const X = (p) => 20 + (width - 40) * (p - task.min_position) / (task.max_position - task.min_position);
    const Y = (p) => height * 0.55 - 0.35 * height * Math.sin(3 * p);
    c.strokeStyle = "#7a8599"; c.lineWidth = 2; c.beginPath();
    for (let k = 0; k <= 100; k++) { const p = task.min_position + (task.max_position - task.min_position) * k / 100; k ? c.lineTo(X(p), Y(p)) : c.moveTo(X(p), Y(p)); }
    c.stroke();
    line(c, X(task.goal_position), Y(task.goal_position), X(task.goal_position), Y(task.goal_position) - 30, "#1f7a3a", 2);
    disc(c, X(task.position), Y(task.position) - 8, 9, "#2f6db5");
    rows.push(["position", task.position], ["velocity", task.velocity], ["force", action]);
  } else if (task.kind === "acrobot") {
    const L = 0.22 * height, x1 = cx + L * Math.sin(task.theta1), y1 = cy + L * Math.cos(task.theta1);
    const x2 = x1 + L * Math.sin(task.theta1 + task.theta2), y2 = y1 + L * Math.cos(task.theta1 + task.theta2);
    line(c, 20, cy - L, width - 20, cy - L, "#1f7a3a", 1);
    line(c, cx, cy, x1, y1, "#2f6db5", 8); line(c, x1, y1, x2, y2, "#2f6db5", 8);
    disc(c, cx, cy, 5, "#1d2430"); disc(c, x1, y1, 5, "#e0a100");
    rows.push(["theta1", task.theta1], ["theta2", task.theta2], ["torque", action === null ? null : action - 1]);
  } else if (task.kind === "ring") {
    const R = 0.38 * height;
    const a = (deg) => (deg - 90) * Math.PI / 180;   // 0 degrees at the top, clockwise
    const drive = steps.length ? steps[steps.length - 1].action : [];
    for (let s = 0; s < task.sectors; s++) {
      const mid = 360 * s / task.sectors, half = 180 / task.sectors, level = drive.length ? (drive[s] + 1) / 2 : 0;
      c.strokeStyle = `rgba(224, 161, 0, ${0.1 + 0.8 * level})`; c.lineWidth = 14;
      c.beginPath(); c.arc(cx, cy, R, a(mid - half) + 0.02, a(mid + half) - 0.02); c.stroke();
    }
    tick(c, cx, cy, R, a(task.target_deg), "#1f7a3a", "target");
    if (task.bump_deg !== null) disc(c, cx + R * Math.cos(a(task.bump_deg)), cy + R * Math.sin(a(task.bump_deg)), 5 + 10 * (task.strength || 0), "#d1453b");
    c.fillStyle = "#667085"; c.fillText(task.cueing ? "cueing the start angle" : "sector currents (orange)", 8, height - 8);
    rows.push(["bump (deg)", task.bump_deg], ["strength", task.strength], ["target (deg)", task.target_deg]);
  } else if (task.kind === "lateral_line") {
    const X = (cm) => 30 + (width - 60) * cm / task.length_cm, base = 0.6 * height;
    c.fillStyle = "#b7c4d6"; c.beginPath(); c.ellipse(cx, base, (width - 60) / 2, 18, 0, 0, 2 * Math.PI); c.fill();
    c.fillStyle = "#1d2430"; c.beginPath(); c.arc(X(task.length_cm * 0.05), base - 4, 3, 0, 2 * Math.PI); c.fill();
    c.fillStyle = "#667085"; c.fillText("head", 24, base + 36); c.fillText("tail", width - 50, base + 36);
    if (task.source_cm !== null) disc(c, X(task.source_cm), base - 70, 9, "#2f6db5");
    if (task.reported_cm !== null) { c.fillStyle = "#d1453b"; c.beginPath(); c.moveTo(X(task.reported_cm), base - 26); c.lineTo(X(task.reported_cm) - 8, base - 40); c.lineTo(X(task.reported_cm) + 8, base - 40); c.fill(); }
    c.fillStyle = "#667085"; c.fillText("source (blue), reported (red)", 8, 16);
    rows.push(["source (cm)", task.source_cm], ["reported (cm)", task.reported_cm], ["distance (cm)", task.distance_cm]);
  } else if (task.kind === "rate_track") {
    drawSeries(c, [{ colour: "#2f6db5", values: steps.map((f) => f.task.rate_hz) }, { colour: "#1f7a3a", values: steps.map((f) => f.task.target_hz) }],
      { yLabel: "Hz (rate blue, target green)", zero: true });
    rows.push(["rate (Hz)", task.rate_hz], ["target (Hz)", task.target_hz], ["current (nA)", task.current_na]);
  } else if (task.kind === "culture" && frame) {
    // each electrode's detected rate in the last window, and its goal where it has one
    const seconds = (frame.t_stop_ms - frame.t_start_ms) / 1000;
    const rates = frame.channel_counts.map((n) => n / seconds);
    const goals = (task.goal || []).map((g) => g * task.rate_scale_hz);
    const top = Math.max(10, ...rates, ...goals) * 1.1;
    const box = drawAxes(c, { yMin: 0, yMax: top, yLabel: "Hz per electrode (goal: green)", xLabel: "electrode" });
    const slot = (box.right - box.left) / rates.length;
    const stimulated = new Set(frame.stimulated);
    rates.forEach((r, k) => {
      c.fillStyle = stimulated.has(k) ? view.layout.stimulus_colour : "#2f6db5";
      c.fillRect(box.left + k * slot + slot * 0.15, box.y(r), slot * 0.7, box.bottom - box.y(r));
      if (goals[k] > 0) line(c, box.left + k * slot + slot * 0.05, box.y(goals[k]), box.left + (k + 0.95) * slot, box.y(goals[k]), "#1f7a3a", 2);
      if (rates.length <= 32) { c.fillStyle = "#667085"; c.fillText(String(k), box.left + (k + 0.4) * slot, box.bottom + 12); }
    });
  } else {
    c.fillStyle = "#667085";
    c.fillText(task.kind === "culture" ? "no window simulated yet" : "Observation", 8, 18);
    if (task.observation) task.observation.forEach((v, k) => rows.push([`obs[${k}]`, v]));
  }
  for (const [key, value] of Object.entries(task.values || {})) rows.push([key, value]);
  el("values").innerHTML = rows.map(([k, v]) => `<tr><td>${k}</td><td>${typeof v === "number" ? formatNumber(v) : (v ?? "-")}</td></tr>`).join("");
}

function line(c, x0, y0, x1, y1, colour, width) { c.strokeStyle = colour; c.lineWidth = width; c.beginPath(); c.moveTo(x0, y0); c.lineTo(x1, y1); c.stroke(); }
function disc(c, x, y, r, colour) { c.fillStyle = colour; c.beginPath(); c.arc(x, y, r, 0, 2 * Math.PI); c.fill(); }
function tick(c, cx, cy, R, angle, colour, label) {
  line(c, cx + (R - 16) * Math.cos(angle), cy + (R - 16) * Math.sin(angle), cx + (R + 16) * Math.cos(angle), cy + (R + 16) * Math.sin(angle), colour, 3);
  c.fillStyle = colour; c.fillText(label, cx + (R + 20) * Math.cos(angle) - 14, cy + (R + 20) * Math.sin(angle) + 4);
}
function torqueArc(c, cx, cy, r, fraction) {
  const f = Math.max(-1, Math.min(1, fraction || 0));
  c.strokeStyle = "#e0a100"; c.lineWidth = 4; c.beginPath();
  c.arc(cx, cy, r, -Math.PI / 2, -Math.PI / 2 + f * Math.PI * 0.9, f < 0); c.stroke();
}
function arrow(c, x, y, direction) {
  line(c, x - 18 * direction, y, x + 18 * direction, y, "#e0a100", 3);
  c.fillStyle = "#e0a100"; c.beginPath(); c.moveTo(x + 24 * direction, y); c.lineTo(x + 14 * direction, y - 6); c.lineTo(x + 14 * direction, y + 6); c.fill();
}

// ------------------------------------------------------------------------------------------------ frames
function onStep(frame) {
  view.frames += 1;
  view.lastStep = frame;
  if (frame.stimulated.length) {
    view.stimulations.push({ episode: frame.episode, step: frame.step, stimulated: frame.stimulated, override: frame.override });
    if (view.stimulations.length > 100) view.stimulations.shift();
  }
  steps.push(frame);
  if (steps.length > STEPS_KEPT) steps.shift();
  for (let k = 0; k < frame.spike_i.length; k++) spikes.push([frame.spike_t[k], frame.spike_i[k]]);
  windows.push([frame.t_start_ms, frame.t_stop_ms, frame.stimulated.length > 0]);
  const start = frame.t_stop_ms - RASTER_MS;
  if (spikes.length && spikes[0][0] < start) spikes = spikes.filter(([t]) => t >= start);
  windows = windows.filter(([, t1]) => t1 >= start);
  el("episode").textContent = frame.episode;
  el("step").textContent = frame.step + (view.layout && view.layout.max_episode_steps ? ` / ${view.layout.max_episode_steps}` : "");
  el("return").textContent = formatNumber(frame.return);
  drawRaster();
  drawMea(frame);
  drawCharts();
  drawTask(frame.task, frame);
}

function onReset(frame) {
  view.resets += 1;
  view.lastReset = frame;
  steps.length = 0;
  spikes = [];
  windows = [];
  el("episode").textContent = frame.episode;
  el("step").textContent = 0;
  el("return").textContent = "0";
  if (document.activeElement !== el("seed")) el("seed").value = frame.seed + 1;
  drawRaster(); drawMea(null); drawCharts(); drawTask(frame.task, null);
}

function onState(state) {
  view.state = state;
  el("pause").textContent = state.paused ? "Resume" : "Pause";
  el("pace").value = state.pace;
  setStatus(state.paused ? "paused" : "live", state.paused ? "paused" : "live");
}

function onMessage(message) {
  if (message.type === "layout") onLayout(message);
  else if (message.type === "step") onStep(message);
  else if (message.type === "reset") onReset(message);
  else if (message.type === "state") onState(message);
  else if (message.type === "error") { view.errors.push(message.error); el("error").textContent = message.error; }
}

const stream = connectStream(onMessage, setStatus);
stream.onOpen(() => stream.send({ cmd: "state" }));

el("pause").addEventListener("click", () => stream.send({ cmd: view.state && view.state.paused ? "resume" : "pause" }));
el("reset").addEventListener("click", () => {
  const seed = el("seed").value === "" ? undefined : Number(el("seed").value);
  stream.send(seed === undefined ? { cmd: "reset" } : { cmd: "reset", seed });
});
el("pace").addEventListener("change", () => stream.send({ cmd: "pace", mode: el("pace").value }));
el("amplitude").addEventListener("input", () => { el("amplitude").nextElementSibling.textContent = (+el("amplitude").value).toFixed(2); });
