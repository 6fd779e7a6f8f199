// Step-through backpropagation (trace.py): "Step one mini-batch" makes one update of every run
// and records it; a click on a neuron or a link of the network then shows that update's numbers,
// all the engine's: z, a = f(z), delta = dJ/dz per sample, dJ/dw and dJ/db, the optimizer's rule
// with its state before and after, and the lecture's chain rule written out with these numbers.

import { numberSpan, fmt } from "./charts.js";

const $ = (id) => document.getElementById(id);
const SHOWN = 8; // samples shown in the table (the sums are over the whole batch)

function el(tag, cls, ...children) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const c of children) e.append(c);
  return e;
}

// A line of text and numbers: parts are strings or [value, key]; a negative number after an
// operator is bracketed ("0.9 × (−0.041) + (−0.076)").
function line(...parts) {
  const out = [];
  let prev = "";
  for (const p of parts) {
    if (!Array.isArray(p)) {
      out.push(p);
      prev = p;
      continue;
    }
    const span = numberSpan(p[0], p[1]);
    const operand = p[0] < 0 && /[×+−\-/·]\s*$/.test(prev);
    out.push(...(operand ? ["(", span, ")"] : [span]));
    prev = "";
  }
  return el("p", "formula", ...out);
}

export class BackpropView {
  constructor(send, labels) {
    this.send = send;
    this.labels = labels; // {feature: label}
    this.trace = null;
    this.selected = null;
    $("step-batch").onclick = () => send("step_batch");
  }

  get active() {
    return this.trace !== null;
  }

  // Leave the step-through (play, an epoch step, a new run): its mini-batch's numbers go.
  stop() {
    this.trace = null;
    $("backprop").classList.remove("active");
    $("bp-summary").innerHTML = "";
    $("bp-detail").innerHTML = "";
  }

  onTrace(msg, layout) {
    if (msg.run !== "main") return;
    this.trace = msg;
    this.layout = layout;
    $("backprop").classList.add("active");
    const summary = $("bp-summary");
    summary.innerHTML = "";
    summary.append(line(
      `Update ${msg.t} (epoch ${msg.epoch + 1}, mini-batch ${msg.batch + 1}) on ${msg.rows} samples: J = `,
      [msg.J, "J"], `, learning rate `, [msg.lr, "lr"], `, ${msg.optimizer.name}.`,
      msg.status === "diverged" ? " The loss was not a number: no update was made." : "",
    ));
    if (this.selected) this.select(...this.selected);
    else $("bp-detail").textContent = "Click a neuron (its bias) or a link (its weight) in the network.";
  }

  select(layer, from, to) {
    this.selected = [layer, from, to];
    this.send("inspect", from === null ? { layer, to } : { layer, to, from });
  }

  unitName(layer, j) {
    return layer === this.layout.widths.length - 1 ? (this.layout.widths[layer] > 1 ? `output ${j + 1}` : "the output")
      : `neuron ${j + 1} of layer ${layer + 1}`;
  }

  onInspect(msg) {
    const t = this.trace;
    const box = $("bp-detail");
    box.innerHTML = "";
    const link = msg.from !== null;
    const source = link ? (msg.layer === 0 ? this.labels[this.layout.inputs[msg.from]] : `neuron ${msg.from + 1} of layer ${msg.layer}`) : null;
    box.append(el("h3", "", link ? `Weight from ${source} to ${this.unitName(msg.layer, msg.to)}` : `Bias of ${this.unitName(msg.layer, msg.to)}`));
    box.append(this.table(msg, t, link));
    box.append(...this.chain(msg, t, link));
    box.append(...this.update(link ? msg.weight : msg.bias, t, link ? "w" : "b"));
    box.dataset.layer = msg.layer;
    box.dataset.to = msg.to;
    box.dataset.from = link ? msg.from : "";
  }

  table(msg, t, link) {
    const fused = msg.last && t.fused;
    const cols = [["n", null]];
    if (link) cols.push(["a_i (input)", "input"]);
    cols.push(["z", "z"], [msg.last ? "ŷ = f(z)" : "a = f(z)", "a"]);
    if (fused) cols.push(["y", "y"]);
    if (msg.da) cols.push(["∂J/∂a", "da"]);
    if (msg.fprime) cols.push(["f′(z)", "fprime"]);
    cols.push(["δ = ∂J/∂z", "delta"]);
    if (link) cols.push(["a_i · δ", "prod"]);
    const table = el("table", "bp-table");
    const head = table.insertRow();
    for (const [label] of cols) head.insertCell().textContent = label;
    const n = Math.min(SHOWN, msg.z.length);
    for (let i = 0; i < n; i++) {
      const row = table.insertRow();
      for (const [, key] of cols) {
        const cell = row.insertCell();
        if (key === null) cell.textContent = i + 1;
        else if (key === "y") cell.append(numberSpan(t.Y[i][Math.min(msg.to, t.Y[i].length - 1)], `y-${i}`));
        else if (key === "prod") cell.append(numberSpan(msg.input[i] * msg.delta[i], `prod-${i}`));
        else cell.append(numberSpan(msg[key][i], `${key}-${i}`));
      }
    }
    if (t.rows > n) table.insertRow().insertCell().textContent = `… ${t.rows - n} more samples in this mini-batch`;
    return table;
  }

  chain(msg, t, link) {
    const p = link ? msg.weight : msg.bias;
    const x = link ? "w" : "b";
    const out = [];
    const last = msg.last && t.fused;
    const factors = last ? "∂J/∂ŷ · ∂ŷ/∂z" : msg.da ? "∂J/∂a · ∂a/∂z" : "∂J/∂z";
    out.push(line(`Chain rule: ∂J/∂${x} = Σₙ ${factors} · ∂z/∂${x}, with ∂z/∂${x} = ${link ? "a_i (the input of the link)" : "1"}.`));
    const d0 = msg.delta[0];
    if (last) {
      out.push(line(`Sample 1: δ = ∂J/∂ŷ · ∂ŷ/∂z = (ŷ − y) / n = (`, [msg.a[0], "chain-a"], " − ",
        [t.Y[0][Math.min(msg.to, t.Y[0].length - 1)], "chain-y"], `) / ${t.rows} = `, [d0, "chain-delta"]));
    } else if (msg.da && msg.fprime) {
      out.push(line("Sample 1: δ = ∂J/∂a · f′(z) = (Σₖ w_jk δₖ) · f′(z) = ", [msg.da[0], "chain-da"], " × ",
        [msg.fprime[0], "chain-fprime"], " = ", [d0, "chain-delta"]));
    }
    if (link) out.push(line("Sample 1: ∂J/∂w term = δ · a_i = ", [d0, "chain-delta2"], " × ", [msg.input[0], "chain-input"], " = ", [d0 * msg.input[0], "chain-term"]));
    const sum = link ? msg.input.reduce((s, v, i) => s + v * msg.delta[i], 0) : msg.delta_sum;
    const parts = [`Summed over the ${t.rows} samples: ∂J/∂${x} = `, [p.grad, "grad"]];
    if (p.penalty) parts.push(" (data ", [p.grad - p.penalty, "data-grad"], " + penalty ", [p.penalty, "penalty"], ")");
    if (link && t.rows <= msg.input.length) {
      const shown = Math.min(SHOWN, t.rows);
      parts.push(`; Σ of a_i · δ over all ${t.rows} samples of the mini-batch` +
        (shown < t.rows ? ` (the table shows ${shown})` : "") + `: ${fmt(sum)}`);
    }
    out.push(line(...parts));
    return out;
  }

  update(p, t, x) {
    const o = t.optimizer;
    const out = [el("h4", "", `The update (${o.name}, learning rate ${fmt(t.lr)})`)];
    if (p.g_used !== p.grad) out.push(line("Gradient clipping: g = ", [p.g_used, "g_used"], " (∂J/∂" + x + " was ", [p.grad, "grad2"], ")."));
    const sb = p.state_before;
    const sa = p.state_after;
    const before = [p.before, "before"];
    const after = [p.after, "after"];
    // torch's SGD: g += weight_decay · w; buf ← μ buf + (1 − dampening) g (buf = g at the first update)
    const wd = o.name === "SGD" ? o.weight_decay || 0 : 0;
    const gd = wd ? p.g_used + wd * p.before : p.g_used;
    if (wd) out.push(line(`g ← g + weight_decay · ${x} = `, [p.g_used, "g_used"], ` + ${wd} × `, before, " = ", [gd, "g_decayed"]));
    const gKey = wd ? "g_decayed2" : "g_used";
    if (o.name === "SGD" && "momentum_buffer" in sa) {
      const d = o.dampening || 0;
      const first = sb.momentum_buffer === undefined;
      const damp = d && !first ? [`(1 − ${d}) × `] : [];
      out.push(line(`buf ← μ · buf + ${d ? "(1 − dampening) · " : ""}g = ${o.momentum} × `,
        [sb.momentum_buffer ?? 0, "state-momentum_buffer-before"], " + ", ...damp, [gd, gKey], " = ",
        [sa.momentum_buffer, "state-momentum_buffer-after"], first ? " (first update: buf = g)" : ""));
      const step = o.nesterov ? gd + o.momentum * sa.momentum_buffer : sa.momentum_buffer;
      out.push(line(`${x} ← ${x} − lr · ${o.nesterov ? "(g + μ · buf)" : "buf"} = `, before, ` − ${fmt(t.lr)} × `,
        [step, "step"], " = ", after));
      if (!o.nesterov && !d) out.push(line("This is torch's form of the lecture's v ← ηv − α ∂J/∂β, β ← β + v: the same rule with v = −lr · buf, η = μ, α = lr (while lr stays the same)."));
    } else if (o.name === "SGD") {
      out.push(line(`${x} ← ${x} − lr · g = `, before, ` − ${fmt(t.lr)} × `, [gd, wd ? gKey : "g"], " = ", after));
    } else if ("exp_avg" in sa && "exp_avg_sq" in sa) {
      const [b1, b2] = o.betas;
      out.push(line(`m ← β₁ m + (1 − β₁) g = ${b1} × `, [sb.exp_avg ?? 0, "state-exp_avg-before"], ` + ${fmt(1 - b1)} × `, [p.g_used, "g"], " = ", [sa.exp_avg, "state-exp_avg-after"]));
      out.push(line(`v ← β₂ v + (1 − β₂) g² = ${b2} × `, [sb.exp_avg_sq ?? 0, "state-exp_avg_sq-before"], ` + ${fmt(1 - b2)} × g² = `, [sa.exp_avg_sq, "state-exp_avg_sq-after"]));
      if (o.name === "Adam" && !o.amsgrad && !o.weight_decay) {  // torch's Adam, its bias corrections written out
        const mHat = sa.exp_avg / (1 - b1 ** t.t);
        const vHat = sa.exp_avg_sq / (1 - b2 ** t.t);
        const step = (t.lr * mHat) / (Math.sqrt(vHat) + o.eps);
        out.push(line(`m̂ = m / (1 − β₁ᵗ) = `, [mHat, "m_hat"], `, v̂ = v / (1 − β₂ᵗ) = `, [vHat, "v_hat"], `, with t = ${t.t}`));
        out.push(line(`${x} ← ${x} − lr · m̂ / (√v̂ + ε) = `, before, ` − ${fmt(t.lr)} × `, [mHat, "m_hat2"], ` / (√`,
          [vHat, "v_hat2"], ` + ${o.eps}) = `, before, " − (", [step, "step"], ") = ", after));
      } else {
        out.push(line(`${x} ← ${x} − lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε), t = ${t.t}: `, before, " → ", after));
      }
    } else {
      for (const name of Object.keys(sa)) out.push(line(`${name}: `, [sb[name] ?? 0, `state-${name}-before`], " → ", [sa[name], `state-${name}-after`]));
      out.push(line(`${x}: `, before, " → ", after));
    }
    out.push(line(`Change of ${x} in this update: `, [p.update, "update"]));
    return out;
  }
}
