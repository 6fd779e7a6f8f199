// The optimizer race: the main run and up to three others ("lane1" ...) trained in step from the
// same initial weights and the same batch order, each differing in its optimizer, learning
// rate, schedule or activation (a lane such as "adam:0.003" or "sgd:0.3:act=sigmoid", the URL's
// race key). A pane per run: its decision boundary, test loss and per-layer gradient norms;
// one chart of every run's test loss.

import { paintBoundary } from "./draw.js";
import { lineChart, legend, SERIES_COLORS, fmt } from "./charts.js";

const $ = (id) => document.getElementById(id);

// The label of the main run, written as a lane is.
export function mainLabel(cfg) {
  const parts = [cfg.optimizer, String(cfg.learningRate)];
  if (cfg.schedule !== "none") parts.push(cfg.schedule);
  for (const [k, v] of Object.entries({ ...cfg.opt, ...cfg.sched })) parts.push(`${k}=${Array.isArray(v) ? v.join("/") : v}`);
  return parts.join(":");
}

// Series of a per-layer figure over epochs (diag.grad_norm ...), one per layer.
export function layerSeries(diag, name) {
  if (!diag || !diag[name] || !diag[name].length) return [];
  return diag.layers.map((_, l) => ({
    x: diag.epoch,
    y: diag[name].map((row) => row[l]),
    color: SERIES_COLORS[(l + 1) % SERIES_COLORS.length],
    width: 1.5,
  }));
}

export class RaceView {
  constructor(onChange, send) {
    this.onChange = onChange;
    this.send = send;
    this.panes = {};
    this.last = {};
    $("race-add").onclick = () => this.add();
    $("race-text").addEventListener("keydown", (e) => e.key === "Enter" && this.add());
  }

  add() {
    const text = $("race-text").value.trim();
    if (text) this.onChange({ race: [...this.cfg.race, text] });
  }

  // A new set of runs: main and the lanes of the "run" message.
  setRuns(cfg, layout, lanes) {
    this.cfg = cfg;
    this.lanes = lanes;
    this.last = {};
    const box = $("race-panes");
    box.innerHTML = "";
    this.panes = {};
    $("race").classList.toggle("racing", lanes.length > 0);
    $("race-add").disabled = lanes.length >= 3;
    if (!lanes.length) return;
    const runs = [{ run: "main", lane: mainLabel(cfg), layout }, ...lanes];
    runs.forEach((r, i) => {
      const pane = document.createElement("div");
      pane.className = "pane";
      pane.dataset.run = r.run;
      pane.style.borderTopColor = SERIES_COLORS[i];
      const title = document.createElement("div");
      title.className = "pane-title";
      title.textContent = `${r.run === "main" ? "main" : r.run}: ${r.lane}`;
      if (r.run !== "main") {
        const x = Object.assign(document.createElement("button"), { textContent: "×", title: "Remove this run" });
        x.className = "pane-remove";
        x.onclick = () => this.onChange({ race: cfg.race.filter((_, k) => k !== i - 1) });
        title.append(x);
      }
      const canvas = Object.assign(document.createElement("canvas"), { width: 100, height: 100 });
      canvas.className = "pane-boundary";
      const stats = document.createElement("div");
      stats.className = "pane-stats";
      const grad = Object.assign(document.createElement("canvas"), { width: 180, height: 60 });
      grad.className = "pane-grad";
      grad.title = "gradient norm ||dJ/dW|| per layer (log scale)";
      const warn = document.createElement("div");
      warn.className = "pane-warn";
      const exp = Object.assign(document.createElement("button"), { textContent: "Export" });
      exp.onclick = () => this.send("export", { run: r.run });
      pane.append(title, canvas, stats, grad, warn, exp);
      box.append(pane);
      this.panes[r.run] = { pane, canvas, stats, grad, warn, color: SERIES_COLORS[i], label: r.lane };
    });
    legend($("race-legend"), runs.map((r) => `${r.run}: ${r.lane}`), SERIES_COLORS);
  }

  // Draw one run's frame in its pane, and the chart of every run's test loss.
  draw(frame, discretize) {
    const h = frame.header;
    const p = this.panes[h.run];
    if (!p) return;
    this.last[h.run] = h;
    if (p.canvas.width !== h.density) p.canvas.width = p.canvas.height = h.density;
    const ctx = p.canvas.getContext("2d");
    const image = ctx.createImageData(h.density, h.density);
    paintBoundary(image, frame.sections, discretize);
    ctx.putImageData(image, 0, 0);
    p.pane.dataset.epoch = h.epoch;
    p.pane.dataset.testLoss = h.test.loss === null ? "" : String(h.test.loss);
    p.stats.textContent = `epoch ${h.epoch}, test loss ${fmt(h.test.loss)}, training loss ${fmt(h.train.loss)}` +
      (h.train.accuracy !== undefined ? `, test accuracy ${fmt(h.test.accuracy)}` : "") +
      (h.status !== "ready" && h.status !== "training" ? ` (${h.status})` : "");
    lineChart(p.grad, layerSeries(h.diag, "grad_norm"), { logY: true, yLabel: "||dJ/dW|| per layer" });
    const warnings = h.diag ? h.diag.warnings : [];
    if (p.warn.dataset.n !== String(warnings.length)) {  // the Diagnostics callback's warnings, in its words
      p.warn.dataset.n = String(warnings.length);
      p.warn.textContent = warnings.map((w) => `After epoch ${w.epoch + 1}: ${w.message}`).join(" ");
      p.warn.title = p.warn.textContent;
    }
    const series = Object.entries(this.panes)
      .filter(([run]) => this.last[run])
      .map(([run, q]) => ({ x: this.last[run].curve.epoch, y: this.last[run].curve.test, color: q.color }));
    lineChart($("race-chart"), series, { yLabel: "test loss", xLabel: "epoch" });
  }
}
