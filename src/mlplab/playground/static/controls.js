// The controls: built from the server's "hello" options, kept in step with the configuration.
// Every change calls onChange(updates), a partial configuration.

import { CLASS_COLORS, colorOf, css } from "./draw.js";

const TF_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const TF_REG_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const POINTS = [0, 100, 200, 500, 1000, 2000, 5000, 10000];
const SPEEDS = [1, 2, 5, 10, 20, 50, 100, 0];
const $ = (id) => document.getElementById(id);

function fill(select, values, label = (v) => String(v)) {
  const keep = select.value;
  select.innerHTML = "";
  for (const v of values) {
    const o = document.createElement("option");
    o.value = String(v);
    o.textContent = label(v);
    select.append(o);
  }
  if (values.map(String).includes(keep)) select.value = keep;
}

function setSelect(select, value, label) {
  if (![...select.options].some((o) => o.value === String(value))) {
    const o = document.createElement("option");
    o.value = String(value);
    o.textContent = label ? label(value) : String(value);
    select.append(o);
  }
  select.value = String(value);
}

// A small picture of each data set (a sketch; the real points come from the server); a 1-D
// data set's function (``curve``: its values from x = -6 to 6, spec.options' one_d) as a line.
function sketch(canvas, name, curve) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width;
  ctx.fillStyle = "#f4f4f4";
  ctx.fillRect(0, 0, w, w);
  if (curve) {
    ctx.strokeStyle = "#333";
    ctx.lineWidth = 2;
    ctx.beginPath();
    curve.forEach((v, i) => ctx[i ? "lineTo" : "moveTo"]((i / (curve.length - 1)) * w, w / 2 - (v * w) / 3));
    ctx.stroke();
    return;
  }
  let seed = 7;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const dot = (x, y, c) => {
    ctx.fillStyle = css(c);
    ctx.beginPath();
    ctx.arc(((x + 6) / 12) * w, ((6 - y) / 12) * w, w / 40, 0, 2 * Math.PI);
    ctx.fill();
  };
  const [orange, blue] = CLASS_COLORS;
  for (let i = 0; i < 160; i++) {
    const a = rand() * 2 * Math.PI;
    const u = rand();
    if (name === "circle") {
      const r = i % 2 ? u * 2.5 : 3.5 + 1.5 * u;
      dot(r * Math.sin(a), r * Math.cos(a), i % 2 ? blue : orange);
    } else if (name === "xor") {
      const x = rand() * 10 - 5;
      const y = rand() * 10 - 5;
      dot(x, y, x * y >= 0 ? blue : orange);
    } else if (name === "gauss") {
      const s = i % 2 ? 2 : -2;
      dot(s + (rand() - 0.5) * 2.5, s + (rand() - 0.5) * 2.5, i % 2 ? blue : orange);
    } else if (name === "spiral") {
      const t = (i % 80) / 80;
      const d = i < 80 ? 0 : Math.PI;
      dot(5 * t * Math.sin(3.5 * Math.PI * t + d), 5 * t * Math.cos(3.5 * Math.PI * t + d), i < 80 ? blue : orange);
    } else if (name === "reg-plane") {
      const x = rand() * 12 - 6;
      const y = rand() * 12 - 6;
      dot(x, y, colorOf((x + y) / 10));
    } else if (name === "reg-gauss") {
      const x = rand() * 12 - 6;
      const y = rand() * 12 - 6;
      const v = Math.cos((x * Math.PI) / 4) * Math.sign(y) * Math.max(0, 1 - Math.abs(Math.abs(y) - 2.5) / 2);
      dot(x, y, colorOf(v));
    } else if (name === "custom") {
      dot(rand() * 10 - 5, rand() * 10 - 5, i % 3 ? blue : orange);
    }
  }
}

export class Controls {
  constructor(options, onChange) {
    this.o = options;
    this.onChange = onChange;
    const send = (key, parse = (v) => v) => (e) => onChange({ [key]: parse(e.target.value) });
    fill($("learningRate"), TF_RATES);
    $("learningRate").onchange = send("learningRate", Number);
    fill($("activation"), options.activations);
    $("activation").onchange = send("activation");
    fill($("regularization"), options.choices.regularization);
    $("regularization").onchange = send("regularization");
    fill($("regularizationRate"), TF_REG_RATES);
    $("regularizationRate").onchange = send("regularizationRate", Number);
    fill($("problem"), options.choices.problem);
    $("problem").onchange = send("problem");
    for (const key of ["percTrainData", "noise", "batchSize", "classes"]) {
      $(key).oninput = (e) => ($(`${key}-value`).textContent = e.target.value);
      $(key).onchange = send(key, Number);
    }
    fill($("numSamples"), POINTS, (v) => (v ? v.toLocaleString("en") : "TF's (500 / 1,200)"));
    $("numSamples").onchange = send("numSamples", Number);
    fill($("optimizer"), options.choices.optimizer);
    $("optimizer").onchange = (e) => onChange({ optimizer: e.target.value, opt: {} });
    fill($("schedule"), options.choices.schedule);
    $("schedule").onchange = (e) => onChange({ schedule: e.target.value, sched: {} });
    $("loss").onchange = send("loss");
    for (const key of ["l1Ratio", "dropout"]) $(key).onchange = send(key, Number);
    for (const key of ["patience", "epochs"]) $(key).onchange = send(key, Number);  // 2.5: refused, not rounded
    fill($("speed"), SPEEDS, (v) => (v ? `${v} epoch${v > 1 ? "s" : ""} / frame` : "as fast as it trains"));
    $("speed").onchange = send("speed", Number);
    $("seed").onchange = send("seed");
    for (const key of ["showTestData", "discretize"]) $(key).onchange = (e) => onChange({ [key]: e.target.checked });
    fill($("click-class"), [0, 1, 2, 3, 4]);
    $("click-class").value = "1";
    $("add-layer").onclick = () => this.shape((s) => (s.length < options.limits.layers ? [...s, 2] : s));
    $("remove-layer").onclick = () => this.shape((s) => s.slice(0, -1));
  }

  shape(f) {
    const shape = f([...this.cfg.networkShape]);
    const acts = this.cfg.activation;
    const activation = Array.isArray(acts) ? shape.map((_, i) => acts[Math.min(i, acts.length - 1)]) : acts;
    this.onChange({ networkShape: shape, activation: shape.length ? activation : acts });
  }

  datasets(cfg, hasCustom) {
    const box = $("datasets");
    const reg = cfg.problem === "regression";
    const names = reg ? [...this.o.choices.regDataset] : [...this.o.choices.dataset];
    const chosen = reg ? cfg.regDataset : cfg.dataset;
    const shown = names.filter((n) => n !== "custom" || hasCustom || chosen === "custom");
    box.innerHTML = "";
    for (const name of shown) {
      const c = document.createElement("canvas");
      c.width = c.height = 64;
      c.title = name;
      c.dataset.name = name;
      c.className = name === chosen ? "selected" : "";
      sketch(c, name, reg ? this.o.one_d[name] : undefined);
      c.onclick = () => this.onChange({ [reg ? "regDataset" : "dataset"]: name, ...(reg ? this.inputsFor(name) : {}) });
      box.append(c);
    }
  }

  // A 1-D data set's inputs: x1 on, those of x2 (always 0 there) off; others as they are.
  inputsFor(name) {
    if (!this.o.one_d[name]) return {};
    return { x: true, ...Object.fromEntries(this.o.x2_features.map((k) => [k, false])) };
  }

  params(box, table, values, key) {
    box.innerHTML = "";
    for (const [name, spec] of Object.entries(table || {})) {
      const row = document.createElement("label");
      row.className = "row";
      row.textContent = name + " ";
      const current = name in values ? values[name] : spec.default;
      const emit = (v) => this.onChange({ [key]: { ...this.cfg[key], [name]: v } });
      if (typeof spec.default === "boolean") {
        const input = document.createElement("input");
        input.type = "checkbox";
        input.checked = current;
        input.onchange = () => emit(input.checked);
        row.append(input);
      } else if (Array.isArray(spec.default)) {
        const inputs = current.map((v) => Object.assign(document.createElement("input"), { type: "number", step: "any", value: v }));
        inputs.forEach((inp) => (inp.onchange = () => emit(inputs.map((i) => Number(i.value)))));
        row.append(...inputs);
      } else {
        const input = Object.assign(document.createElement("input"), { type: "number", step: "any" });
        input.value = current === null ? "" : current;
        input.placeholder = current === null ? "none" : "";
        input.onchange = () => emit(input.value === "" ? null : Number(input.value));
        row.append(input);
      }
      row.dataset.param = name;
      box.append(row);
    }
  }

  update(cfg, layout, hasCustom) {
    this.cfg = cfg;
    setSelect($("learningRate"), cfg.learningRate);
    const acts = cfg.activation;
    setSelect($("activation"), Array.isArray(acts) ? "(per layer)" : acts);
    setSelect($("regularization"), cfg.regularization);
    setSelect($("regularizationRate"), cfg.regularizationRate);
    setSelect($("problem"), cfg.problem);
    for (const key of ["percTrainData", "noise", "batchSize", "classes"]) {
      $(key).value = cfg[key];
      $(`${key}-value`).textContent = cfg[key];
    }
    const multi = cfg.problem === "classification" && this.o.multiclass_datasets.includes(cfg.dataset);
    $("classes-row").hidden = !multi;
    setSelect($("numSamples"), cfg.numSamples);
    setSelect($("optimizer"), cfg.optimizer);
    setSelect($("schedule"), cfg.schedule);
    this.params($("opt-params"), this.o.optimizers[cfg.optimizer], cfg.opt, "opt");
    this.params($("sched-params"), this.o.schedules[cfg.schedule], cfg.sched, "sched");
    fill($("loss"), ["auto", ...this.o.losses[layout ? layout.kind : "binary"]]);
    setSelect($("loss"), cfg.loss);
    for (const key of ["l1Ratio", "dropout", "patience", "epochs", "seed"]) $(key).value = cfg[key];
    setSelect($("speed"), cfg.speed);
    $("showTestData").checked = cfg.showTestData;
    $("discretize").checked = cfg.discretize;
    const n = cfg.networkShape.length;
    $("layers-label").textContent = `${n} hidden layer${n === 1 ? "" : "s"}`;
    this.datasets(cfg, hasCustom);
  }

  // +/- and an activation above each hidden layer's column.
  layerControls(cfg, colX) {
    const box = $("layer-controls");
    box.innerHTML = "";
    const acts = Array.isArray(cfg.activation) ? cfg.activation : cfg.networkShape.map(() => cfg.activation);
    const room = Math.min(76, (colX[1] - colX[0]) - 4);
    cfg.networkShape.forEach((width, l) => {
      const div = document.createElement("div");
      div.className = "layer-ctl";
      div.style.left = `${colX[l + 1] - 20}px`;
      div.style.width = `${room}px`;
      const plus = Object.assign(document.createElement("button"), { textContent: "+", title: "Add a neuron" });
      const minus = Object.assign(document.createElement("button"), { textContent: "−", title: "Remove a neuron" });
      const count = Object.assign(document.createElement("span"), { textContent: `${width}` });
      const resize = (d) => {
        const shape = [...cfg.networkShape];
        shape[l] = Math.max(1, Math.min(this.o.limits.neurons, shape[l] + d));
        this.onChange({ networkShape: shape });
      };
      plus.onclick = () => resize(1);
      minus.onclick = () => resize(-1);
      plus.className = "neuron-plus";
      minus.className = "neuron-minus";
      const sel = document.createElement("select");
      sel.className = "layer-act";
      sel.style.width = `${room - 2}px`;
      fill(sel, this.o.activations);
      sel.value = acts[l];
      sel.onchange = () => {
        const next = [...acts];
        next[l] = sel.value;
        this.onChange({ activation: next.every((a) => a === next[0]) ? next[0] : next });
      };
      div.append(plus, minus, count, sel);
      box.append(div);
    });
  }
}
