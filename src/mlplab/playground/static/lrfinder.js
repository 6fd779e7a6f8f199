// The learning-rate finder (tools.py: mlplab.lr_find on the current setup): its curve, loss
// against the learning rate on a log scale (raw and smoothed), the suggestion and its rule, and
// a button that applies the suggested rate (rounded to 3 significant digits).

import { lineChart, fmt } from "./charts.js";

const $ = (id) => document.getElementById(id);

export class LRFinderView {
  constructor(send, apply) {
    this.result = null;
    $("lr-find").onclick = () => {
      $("lr-find").disabled = true;
      $("lr-find-text").textContent = "Running the range test…";
      send("lr_find");
    };
    $("lr-apply").onclick = () => this.result && this.result.applied !== null && apply(this.result.applied);
  }

  show(msg) {
    this.result = msg;
    $("lr-find").disabled = false;
    const marks = msg.suggestion === null ? [] : [{ x: msg.suggestion, color: "#2ca02c", label: `suggested ${fmt(msg.suggestion)}` }];
    // the y range: up to twice the smoothed loss at the start (the divergence at the end is cut)
    const first = msg.smoothed_loss.find((v) => v !== null);
    const cap = (v) => (v === null || first === undefined ? v : Math.min(v, 2 * first));
    lineChart($("lr-find-chart"), [
      { x: msg.lr, y: msg.loss.map(cap), color: "#bbb", width: 1 },
      { x: msg.lr, y: msg.smoothed_loss.map(cap), color: "#1a73e8", width: 2 },
    ], { logX: true, markers: marks, yLabel: "loss (grey: per update, blue: smoothed)", xLabel: "learning rate (log)" });
    const text = msg.suggestion === null
      ? `No suggestion: ${msg.stop_reason}.`
      : `Suggested learning rate ${fmt(msg.suggestion)}: ${msg.rule_text}. ${msg.lr.length} updates of ${msg.optimizer_text} ` +
        `from ${fmt(msg.start_lr)} to ${fmt(msg.lr[msg.lr.length - 1])}; ${msg.stop_reason}.`;
    $("lr-find-text").textContent = text;
    $("lr-apply").hidden = msg.applied === null;
    $("lr-apply").textContent = `Use ${msg.applied}`;
    $("lr-apply").dataset.value = String(msg.applied);
  }
}
