// Line charts on a canvas: several series over a shared x axis, linear or logarithmic y, a
// cursor, markers and a reference line. Used by the race, the diagnostics and the LR finder.

export const SERIES_COLORS = ["#222", "#e8710a", "#1a73e8", "#2ca02c", "#9467bd", "#d62728", "#8c564b", "#17becf", "#bcbd22"];

const finite = (v) => v !== null && v !== undefined && Number.isFinite(v);

// Draw series [{x: [...], y: [...], color, width, dash}] on canvas; opts: {logY, logX, cursor
// (an x), markers [{x, color, label}], hline (a y), yLabel, xLabel, ticks (tick values on both
// axes: powers of ten on a log axis)}. Returns the scales {sx(x), sy(y)} (canvas pixels) and
// the texts drawn [{text, x, y, width}] (left end, baseline), for tests and overlays.
export function lineChart(canvas, series, opts = {}) {
  const ctx = canvas.getContext("2d");
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  const tx = opts.logX ? Math.log10 : (v) => v;
  const ty = opts.logY ? (v) => Math.log10(Math.max(v, 1e-30)) : (v) => v;
  const xs = [];
  const ys = [];
  for (const s of series) {
    s.x.forEach((x, i) => {
      if (finite(x) && finite(s.y[i]) && (!opts.logY || s.y[i] > 0)) {
        xs.push(tx(x));
        ys.push(ty(s.y[i]));
      }
    });
  }
  if (opts.hline !== undefined && finite(opts.hline)) ys.push(ty(opts.hline));
  const left = opts.ticks ? 36 : 4;
  const right = w - 4;
  const top = opts.ticks ? 14 : 6;
  const bottom = h - (opts.ticks ? 26 : opts.xLabel ? 14 : 4);
  const texts = [];
  const write = (text, x, y, align = "left") => {
    const width = ctx.measureText(text).width;
    const at = Math.max(0, Math.min(align === "right" ? x - width : x, w - width));  // inside the canvas
    ctx.fillText(text, at, y);
    texts.push({ text, x: at, y, width });
  };
  if (!xs.length) return null;
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (opts.cursor !== undefined) x1 = Math.max(x1, tx(opts.cursor));
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  if (!opts.logY) y0 = Math.min(0, y0);
  const sx = (x) => left + ((tx(x) - x0) / (x1 - x0)) * (right - left);
  const sy = (y) => bottom - ((ty(y) - y0) / (y1 - y0)) * (bottom - top);
  if (opts.ticks) drawTicks(ctx, { x0, x1, y0, y1, left, right, top, bottom, logX: opts.logX, logY: opts.logY, write });
  if (opts.hline !== undefined && finite(opts.hline)) {
    ctx.strokeStyle = "#bbb";
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    ctx.moveTo(left, sy(opts.hline));
    ctx.lineTo(right, sy(opts.hline));
    ctx.stroke();
    ctx.setLineDash([]);
  }
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = s.width || 2;
    ctx.setLineDash(s.dash || []);
    ctx.beginPath();
    let started = false;
    s.x.forEach((x, i) => {
      const y = s.y[i];
      if (!finite(x) || !finite(y) || (opts.logY && y <= 0)) {
        started = false;
        return;
      }
      if (started) ctx.lineTo(sx(x), sy(y));
      else ctx.moveTo(sx(x), sy(y));
      started = true;
    });
    ctx.stroke();
  }
  ctx.setLineDash([]);
  for (const m of opts.markers || []) {
    if (!finite(m.x)) continue;
    const x = sx(m.x);
    const inside = x >= left && x <= right;
    ctx.strokeStyle = m.color || "#0a0";
    ctx.lineWidth = 2;
    if (inside) {
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, bottom);
      ctx.stroke();
    }
    if (m.label) {  // beside its line, inside the plot; an arrow when the line is off the range
      ctx.fillStyle = m.color || "#0a0";
      ctx.font = "10px sans-serif";
      const text = inside ? m.label : x < left ? `← ${m.label}, below the range` : `${m.label}, above the range →`;
      const width = ctx.measureText(text).width;
      let at = x < left ? left + 2 : x > right ? right - width : x + 3;
      if (at + width > right) at = x - 3 - width;
      write(text, Math.max(left + 2, at), top + (opts.yLabel && !opts.ticks ? 20 : 9));
    }
  }
  if (opts.cursor !== undefined) {
    ctx.strokeStyle = "#d62728";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(sx(opts.cursor), top);
    ctx.lineTo(sx(opts.cursor), bottom);
    ctx.stroke();
  }
  ctx.fillStyle = "#777";
  ctx.font = "10px sans-serif";
  if (opts.yLabel) write(opts.yLabel, opts.ticks ? 2 : left + 2, opts.ticks ? top - 4 : top + 8);
  if (opts.xLabel) write(opts.xLabel, opts.ticks ? (left + right) / 2 - ctx.measureText(opts.xLabel).width / 2 : left + 2, h - 3);
  return { sx, sy, texts };
}

// A round step near span / n: 1, 2 or 5 times a power of ten.
function niceStep(span, n) {
  const raw = span / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((k) => k * p).find((v) => v >= raw);
}

// Tick marks and their values on both axes (transformed coordinates x0..x1, y0..y1).
function drawTicks(ctx, a) {
  const sx = (u) => a.left + ((u - a.x0) / (a.x1 - a.x0)) * (a.right - a.left);
  const sy = (u) => a.bottom - ((u - a.y0) / (a.y1 - a.y0)) * (a.bottom - a.top);
  ctx.strokeStyle = "#999";
  ctx.fillStyle = "#555";
  ctx.font = "10px sans-serif";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(a.left, a.top);
  ctx.lineTo(a.left, a.bottom);
  ctx.lineTo(a.right, a.bottom);
  ctx.stroke();
  const xStep = a.logX ? Math.max(1, Math.ceil((a.x1 - a.x0) / 6)) : niceStep(a.x1 - a.x0, 4);
  for (let u = Math.ceil(a.x0 / xStep) * xStep; u <= a.x1 + 1e-9; u += xStep) {
    ctx.beginPath();
    ctx.moveTo(sx(u), a.bottom);
    ctx.lineTo(sx(u), a.bottom + 3);
    ctx.stroke();
    const text = a.logX ? `1e${Math.round(u)}` : fmt(Number(u.toPrecision(6)));
    a.write(text, sx(u) - ctx.measureText(text).width / 2, a.bottom + 13);
  }
  const yStep = a.logY ? Math.max(1, Math.ceil((a.y1 - a.y0) / 3)) : niceStep(a.y1 - a.y0, 3);
  for (let u = Math.ceil(a.y0 / yStep) * yStep; u <= a.y1 + 1e-9; u += yStep) {
    ctx.beginPath();
    ctx.moveTo(a.left - 3, sy(u));
    ctx.lineTo(a.left, sy(u));
    ctx.stroke();
    a.write(a.logY ? `1e${Math.round(u)}` : fmt(Number(u.toPrecision(6))), a.left - 5, sy(u) + 3, "right");
  }
}

// A legend: one coloured swatch and name per series, in an element.
export function legend(box, names, colors) {
  box.innerHTML = "";
  names.forEach((name, i) => {
    const item = document.createElement("span");
    item.className = "legend-item";
    const sw = document.createElement("i");
    sw.style.background = colors[i % colors.length];
    item.append(sw, document.createTextNode(name));
    box.append(item);
  });
}

// A number for people: 4 significant digits, exponent form for very small or large ones; the
// exact value kept in data-v (tests read it).
export function numberSpan(v, key) {
  const span = document.createElement("span");
  span.className = "num";
  if (key) span.dataset.k = key;
  span.dataset.v = v === null || v === undefined ? "" : String(v);
  span.textContent = v === null || v === undefined ? "–" : fmt(v); // "–": not measured for this layer
  return span;
}

export function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "NaN";
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(3) : Number(v.toPrecision(4)).toString();
}
