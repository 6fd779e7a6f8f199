// Live diagnostics, from each frame's header (watch.py): the Diagnostics callback's per-layer
// gradient norms over time and its update/weight ratios, its warnings in plain words, the
// learning-rate schedule under the loss chart with a cursor, early stopping's patience bar and
// best epoch. (Dead and saturated units are marked on the network diagram: network.js.)

import { lineChart, legend, numberSpan, SERIES_COLORS, fmt } from "./charts.js";
import { layerSeries } from "./race.js";

const $ = (id) => document.getElementById(id);
const FIGURES = [
  ["grad_norm", "||dJ/dW||"],
  ["weight_norm", "||W||"],
  ["update_ratio", "update / weight"],
  ["dead_fraction", "dead ReLUs"],
  ["saturated_fraction", "saturated"],
  ["act_mean", "mean a"],
  ["act_std", "std a"],
];

export class DiagView {
  // The loss chart (training grey, test black) with early stopping's best epoch marked.
  lossChart(h) {
    const c = h.curve;
    const best = h.early && h.early.best_epoch !== null ? h.early.best_epoch + 1 : undefined;
    const markers = best === undefined ? [] : [{ x: best, color: "#2ca02c", label: `best: epoch ${best}` }];
    lineChart($("chart"), [
      { x: c.epoch, y: c.train, color: "#999" },
      { x: c.epoch, y: c.test, color: "#222" },
    ], { markers });
    $("chart").dataset.bestEpoch = best === undefined ? "" : String(best);
  }

  // The learning rate per epoch, with a cursor at the current epoch.
  schedule(h) {
    const s = h.schedule;
    lineChart($("lr-chart"), [{ x: s.epoch, y: s.lr, color: "#1a73e8", width: 1.5 }], {
      cursor: h.epoch, yLabel: "learning rate",
    });
    $("lr-chart").dataset.cursor = String(h.epoch);
    $("lr-now").textContent = `learning rate ${fmt(h.lr)} at epoch ${h.epoch}`;
  }

  // The patience bar: epochs without improvement of the test loss, of patience.
  early(h) {
    const e = h.early;
    $("early").hidden = !e;
    if (!e) return;
    $("patience-fill").style.width = `${Math.min(100, (100 * e.wait) / Math.max(1, e.patience))}%`;
    $("early").dataset.wait = String(e.wait);
    $("early").dataset.bestEpoch = e.best_epoch === null ? "" : String(e.best_epoch + 1);
    const best = e.best_epoch === null ? "no epoch yet" : `best test loss ${fmt(e.best)} after epoch ${e.best_epoch + 1}`;
    $("early-text").textContent = `Early stopping: ${e.wait} of ${e.patience} epochs without improvement; ${best}` +
      (e.stopped_epoch !== null ? `; stopped after epoch ${e.stopped_epoch + 1}.` : ".");
  }

  draw(h) {
    this.lossChart(h);
    this.schedule(h);
    this.early(h);
    const d = h.diag;
    const colors = SERIES_COLORS.slice(1);
    lineChart($("diag-grad"), layerSeries(d, "grad_norm"), { logY: true, yLabel: "||dJ/dW|| per layer (log)", xLabel: "epoch" });
    lineChart($("diag-ratio"), layerSeries(d, "update_ratio"), { logY: true, hline: 1e-3, yLabel: "update / weight (log; dashed: 1e-3)", xLabel: "epoch" });
    const names = d.layers.join("|");
    if (this.names !== names) {
      legend($("diag-legend"), d.layers, colors);
      this.names = names;
    }
    this.table(d);
    this.measured = Boolean(d.last);
    this.warnings(d.warnings);
  }

  table(d) {
    const t = $("diag-table");
    t.innerHTML = "";
    const head = t.insertRow();
    head.insertCell().textContent = "layer";
    for (const [, label] of FIGURES) head.insertCell().textContent = label;
    if (!d.last) return;
    d.layers.forEach((name, l) => {
      const row = t.insertRow();
      row.insertCell().textContent = name;
      for (const [key] of FIGURES) row.insertCell().append(numberSpan(d.last[key][l], `${key}-${l}`));
    });
  }

  warnings(list) {
    const box = $("diag-warnings");
    const key = list.map((w) => w.kind).join(",") + (this.measured ? "+" : "");
    if (box.dataset.kinds === key) return;
    box.dataset.kinds = key;
    box.innerHTML = "";
    for (const w of list) {
      const p = document.createElement("p");
      p.dataset.kind = w.kind;
      p.textContent = `After epoch ${w.epoch + 1}: ${w.message}`;
      box.append(p);
    }
    if (!list.length) {
      const p = document.createElement("p");
      p.className = "hint";
      p.textContent = this.measured ? "No warning: the gradients, units and updates look healthy so far." : "Measured at the end of each epoch.";
      box.append(p);
    }
  }
}
