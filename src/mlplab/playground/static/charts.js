// Line charts on a canvas: several series over a shared x axis, linear or logarithmic y, a
// cursor, markers and a reference line. Used by the race, the diagnostics and the LR finder.

export const SERIES_COLORS = ["#222", "#e8710a", "#1a73e8", "#2ca02c", "#9467bd", "#d62728", "#8c564b", "#17becf", "#bcbd22"];

const finite = (v) => v !== null && v !== undefined && Number.isFinite(v);

// Draw series [{x: [...], y: [...], color, width, dash}] on canvas; opts: {logY, logX, cursor
// (an x), markers [{x, color, label}], hline (a y), yLabel, xLabel}. Returns the scales
// {sx(x), sy(y)} (canvas pixels) for tests and overlays.
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
  const left = 4;
  const right = w - 4;
  const top = 6;
  const bottom = h - (opts.xLabel ? 14 : 4);
  if (!xs.length) return null;
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (opts.cursor !== undefined) x1 = Math.max(x1, tx(opts.cursor));
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  if (!opts.logY) y0 = Math.min(0, y0);
  const sx = (x) => left + ((tx(x) - x0) / (x1 - x0)) * (right - left);
  const sy = (y) => bottom - ((ty(y) - y0) / (y1 - y0)) * (bottom - top);
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
    ctx.strokeStyle = m.color || "#0a0";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(sx(m.x), top);
    ctx.lineTo(sx(m.x), bottom);
    ctx.stroke();
    if (m.label) {
      ctx.fillStyle = m.color || "#0a0";
      ctx.font = "10px sans-serif";
      ctx.fillText(m.label, Math.min(sx(m.x) + 3, right - 60), top + 9);
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
  if (opts.yLabel) ctx.fillText(opts.yLabel, left + 2, top + 8);
  if (opts.xLabel) ctx.fillText(opts.xLabel, left + 2, h - 3);
  return { sx, sy };
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
