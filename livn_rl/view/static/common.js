// Shared by the LIF and env pages: the stream connection and the small canvas helpers.
"use strict";

// Connect to the stream of the server that served this page (same origin); reconnect after a drop.
function connectStream(onMessage, onStatus) {
  if (location.protocol !== "http:" && location.protocol !== "https:") {
    onStatus("offline", "no server: opened from a file");
    return { send() { return false; } };
  }
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/stream";
  let socket = null;
  let opened = [];
  function open() {
    socket = new WebSocket(url);
    socket.onopen = () => { onStatus("live", "live"); opened.forEach((f) => f()); };
    socket.onmessage = (event) => onMessage(JSON.parse(event.data));
    socket.onclose = () => { onStatus("error", "disconnected, retrying"); setTimeout(open, 1000); };
  }
  open();
  return {
    send(command) {
      if (!socket || socket.readyState !== WebSocket.OPEN) return false;
      socket.send(JSON.stringify(command));
      return true;
    },
    onOpen(f) { opened.push(f); },
  };
}

// A canvas sized for the screen's pixel ratio; returns its 2-D context in CSS pixels.
function setupCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.getAttribute("width") * 1, height = canvas.getAttribute("height") * 1;
  canvas.dataset.cssWidth = width;
  canvas.dataset.cssHeight = height;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  canvas.style.aspectRatio = width + " / " + height;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.size = { width, height };
  return ctx;
}

// Axes frame with a y label and ticks; returns the plot box.
function drawAxes(ctx, { yMin, yMax, yLabel, xLabel, ticks = 4 }) {
  const { width, height } = ctx.size;
  const box = { left: 46, right: width - 8, top: yLabel ? 20 : 8, bottom: height - (xLabel ? 28 : 14) };
  ctx.clearRect(0, 0, width, height);
  ctx.strokeStyle = "#c9cfd9";
  ctx.fillStyle = "#667085";
  ctx.font = "11px system-ui, sans-serif";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(box.left, box.top);
  ctx.lineTo(box.left, box.bottom);
  ctx.lineTo(box.right, box.bottom);
  ctx.stroke();
  for (let k = 0; k <= ticks; k++) {
    const value = yMin + (yMax - yMin) * k / ticks;
    const y = box.bottom - (box.bottom - box.top) * k / ticks;
    ctx.fillText(formatNumber(value), 4, y + 4);
  }
  if (yLabel) ctx.fillText(yLabel, box.left + 6, 11);
  if (xLabel) ctx.fillText(xLabel, box.right - ctx.measureText(xLabel).width, ctx.size.height - 4);
  box.y = (value) => box.bottom - (box.bottom - box.top) * (value - yMin) / ((yMax - yMin) || 1);
  return box;
}

function formatNumber(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "-";
  const size = Math.abs(value);
  if (size >= 1000) return value.toFixed(0);
  if (size >= 10) return value.toFixed(1);
  return value.toFixed(2);
}
