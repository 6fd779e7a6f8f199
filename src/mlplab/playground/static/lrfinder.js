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
    this.stale = null;
    $("lr-find").disabled = false;
    const marks = msg.suggestion === null ? [] : [{ x: msg.suggestion, color: "#2ca02c", label: `suggested ${fmt(msg.suggestion)}` }];
    // the y range: up to twice the smoothed loss at the start (the divergence at the end is cut)
    const first = msg.smoothed_loss.find((v) => v !== null);
    const cap = (v) => (v === null || first === undefined ? v : Math.min(v, 2 * first));
    this.chart = lineChart($("lr-find-chart"), [
      { x: msg.lr, y: msg.loss.map(cap), color: "#bbb", width: 1 },
      { x: msg.lr, y: msg.smoothed_loss.map(cap), color: "#1a73e8", width: 2 },
    ], { logX: true, ticks: true, markers: marks, yLabel: "loss (grey: per update, blue: smoothed)", xLabel: "learning rate" });
    const sweep = `${msg.lr.length} updates of ${msg.optimizer_text} from ${fmt(msg.start_lr)} to ${fmt(msg.lr[msg.lr.length - 1])}; ${msg.stop_reason}.`;
    $("lr-find-text").textContent = msg.suggestion === null
      ? `No suggestion: ${msg.no_suggestion || msg.stop_reason}. ${sweep}`
      : `Suggested learning rate ${fmt(msg.suggestion)}: ${msg.rule_text}. ${sweep}`;
    $("lr-apply").hidden = msg.applied === null;
    $("lr-apply").textContent = `Use ${msg.applied}`;
    $("lr-apply").dataset.value = String(msg.applied);
  }

  // A new run: a result of another setup says which one it measured, and cannot be applied (the
  // learning rate, which the test sweeps, and the view keys do not change what it measures).
  setRun(cfg) {
    const r = this.result;
    if (!r || this.stale) return;
    const same = ["learningRate", "showTestData", "discretize", "speed", "epochs", "race"];
    const changed = Object.keys(cfg).filter((k) => !same.includes(k) && JSON.stringify(cfg[k]) !== JSON.stringify(r.config[k]));
    if (!changed.length) return;
    this.stale = changed;
    $("lr-apply").hidden = true;
    $("lr-find-text").textContent = `This range test measured the setup before your change of ${changed.join(", ")} ` +
      `(${changed.map((k) => `${k} ${JSON.stringify(r.config[k])}`).join(", ")}): run it again for this one. ` +
      $("lr-find-text").textContent;
  }
}
