// The network view on one canvas: a column per layer (the seven input features first), a
// thumbnail per node, links drawn with width by |w| and colour by sign (TF Playground's
// scales); hover a node or a link to read it, click a link (or a hidden node's bias) to edit.
// While stepping through backpropagation, a click selects a node or link for its numbers
// instead. Dead and saturated units (the diagnostics' unit figures) are marked.

import { colorOf, css, CLASS_COLORS, paintBytes } from "./draw.js";

const MAX_LINKS = 4096;

export const FEATURE_FUNCS = {
  x: (a, b) => a, y: (a, b) => b, xSquared: (a, b) => a * a, ySquared: (a, b) => b * b,
  xTimesY: (a, b) => a * b, sinX: (a, b) => Math.sin(a), sinY: (a, b) => Math.sin(b),
};

// A feature's thumbnail (side x side bytes), as frames.py makes them: block means of the
// values clipped to [-1, 1] on the 100 x 100 grid over [-6, 6]^2.
function featureThumb(f, side, density = 100, domain = 6) {
  const block = density / side;
  const out = new Uint8Array(side * side);
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      let s = 0;
      for (let i = 0; i < block; i++) {
        for (let j = 0; j < block; j++) {
          const x = -domain + (2 * domain * (c * block + j)) / (density - 1);
          const y = domain - (2 * domain * (r * block + i)) / (density - 1);
          s += Math.max(-1, Math.min(1, f(x, y)));
        }
      }
      out[r * side + c] = Math.round((255 * (s / (block * block) + 1)) / 2);
    }
  }
  return out;
}

export class NetworkView {
  constructor(canvas, card, labels, callbacks) {
    this.canvas = canvas;
    this.card = card;
    this.labels = labels; // {feature: label}
    this.cb = callbacks; // toggleFeature(name), focus(layer, index|null), setWeight(layer, from, to, value)
    this.thumb = document.createElement("canvas");
    this.setSide(20);
    this.hover = null;
    this.stepping = false; // a click selects for the step-through view (cb.inspect) instead of editing
    this.units = null;
    this.marks = { dead: [], saturated: [] };
    canvas.addEventListener("mousemove", (e) => this.onMove(e));
    canvas.addEventListener("mouseleave", () => this.setHover(null));
    canvas.addEventListener("click", (e) => this.onClick(e));
  }

  // The thumbnails' side (the frames' "thumb": the grid's side / 5) and the inputs' own maps.
  setSide(side) {
    this.side = side;
    this.thumb.width = this.thumb.height = side;
    this.localThumbs = {};
    for (const [name, f] of Object.entries(FEATURE_FUNCS)) this.localThumbs[name] = featureThumb(f, side, side * 5);
  }

  // Positions of every node for a layout: cols[c] = [{x, y}] (top-left corners), size S.
  setLayout(layout, activeFeatures) {
    this.layout = layout;
    this.active = activeFeatures;
    const all = Object.keys(FEATURE_FUNCS);
    const outputs = layout.kind === "multiclass" ? layout.widths[layout.widths.length - 1] : 1;
    const columns = [all.length, ...layout.widths.slice(0, -1), outputs];
    const most = Math.max(...columns);
    this.S = most <= 8 ? 30 : Math.max(8, Math.min(30, Math.floor(640 / most) - 3));
    const gap = most <= 8 ? 12 : 3;
    const height = most * (this.S + gap) + 40;
    const width = this.canvas.parentElement.clientWidth || 600;
    this.canvas.width = width * devicePixelRatio;
    this.canvas.height = height * devicePixelRatio;
    this.canvas.style.width = width + "px";
    this.canvas.style.height = height + "px";
    const left = 70;
    const step = Math.min(150, (width - left - 40) / Math.max(1, columns.length - 1));
    this.colX = columns.map((_, c) => left + c * step);
    this.cols = columns.map((n, c) => {
      const top = 20 + ((most - n) * (this.S + gap)) / 2;
      return Array.from({ length: n }, (_, i) => ({ x: this.colX[c], y: top + i * (this.S + gap) }));
    });
    // the model's input i is the i-th active feature: its column-0 row
    this.inputRows = all.map((name, i) => [name, i]).filter(([name]) => activeFeatures.includes(name)).map(([, i]) => i);
    this.features = all;
  }

  // Dense layer l's W (n_in x n_out) and b from the frame's flat weights.
  weights(flat) {
    const out = [];
    let o = 0;
    let nIn = this.layout.inputs.length;
    for (const nOut of this.layout.widths) {
      out.push({ W: flat.subarray(o, o + nIn * nOut), b: flat.subarray(o + nIn * nOut, o + nIn * nOut + nOut), nIn, nOut });
      o += nIn * nOut + nOut;
      nIn = nOut;
    }
    return out;
  }

  // The (from, to) nodes of link (l, i, j): from column l (inputs: an active feature's row).
  ends(l, i, j) {
    const a = l === 0 ? this.cols[0][this.inputRows[i]] : this.cols[l][i];
    const outputs = this.cols[l + 1];
    const b = outputs[Math.min(j, outputs.length - 1)];
    const h = this.S / 2;
    return [a.x + this.S, a.y + h, b.x, b.y + h];
  }

  draw(frame) {
    if (!this.layout) return;
    this.frame = frame || this.frame;
    if (this.frame && this.frame.header.thumb !== this.side) this.setSide(this.frame.header.thumb);
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(devicePixelRatio, 0, 0, devicePixelRatio, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    const f = this.frame;
    if (f && f.sections.weights) this.drawLinks(ctx, this.weights(f.sections.weights));
    this.drawNodes(ctx, f);
  }

  // Links with |w| at least this: all of them, or the MAX_LINKS largest (a canvas draws
  // tens of thousands of lines slowly, and a wide network's smallest weights are a grey fog).
  threshold(layers) {
    const n = layers.reduce((a, L) => a + L.W.length, 0);
    this.shownLinks = Math.min(n, MAX_LINKS);
    this.totalLinks = n;
    if (n <= MAX_LINKS) return 0;
    const all = new Float32Array(n);
    let o = 0;
    for (const L of layers) for (let i = 0; i < L.W.length; i++) all[o++] = Math.abs(L.W[i]);
    all.sort();
    return all[n - MAX_LINKS];
  }

  drawLinks(ctx, layers) {
    const buckets = new Map();
    const k = this.S / 30;
    const least = this.threshold(layers);
    layers.forEach((L, l) => {
      for (let i = 0; i < L.nIn; i++) {
        for (let j = 0; j < L.nOut; j++) {
          const w = L.W[i * L.nOut + j];
          if (Math.abs(w) < least) continue;
          const tone = Math.round((Math.max(-1, Math.min(1, w)) + 1) * 8);
          const width = Math.round(Math.min(Math.abs(w), 5) * 2);
          const key = tone * 16 + width;
          if (!buckets.has(key)) buckets.set(key, []);
          buckets.get(key).push(this.ends(l, i, j));
        }
      }
    });
    for (const [key, segs] of buckets) {
      const tone = Math.floor(key / 16);
      ctx.strokeStyle = css(colorOf(tone / 8 - 1));
      ctx.lineWidth = Math.max(0.4, (1 + (9 * (key % 16)) / 10) * k * 0.6);
      ctx.globalAlpha = 0.8;
      ctx.beginPath();
      for (const [x0, y0, x1, y1] of segs) {
        ctx.moveTo(x0, y0);
        ctx.lineTo(x1, y1);
      }
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    if (this.hover && this.hover.type === "link") {
      const [x0, y0, x1, y1] = this.ends(this.hover.l, this.hover.i, this.hover.j);
      ctx.strokeStyle = "#000";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      ctx.stroke();
    }
  }

  blit(ctx, bytes, node) {
    const t = this.thumb.getContext("2d");
    const img = t.createImageData(this.side, this.side);
    paintBytes(img, bytes);
    t.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.thumb, node.x, node.y, this.S, this.S);
  }

  drawNodes(ctx, f) {
    const S = this.S;
    const nodes = f && f.sections.nodes;
    const per = this.side * this.side;
    const nIn = this.layout.inputs.length;
    ctx.font = `${Math.min(13, Math.max(9, S / 2.3))}px sans-serif`;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    this.features.forEach((name, r) => {
      const node = this.cols[0][r];
      const on = this.active.includes(name);
      ctx.globalAlpha = on ? 1 : 0.25;
      this.blit(ctx, this.localThumbs[name], node);
      ctx.fillStyle = "#333";
      ctx.fillText(this.labels[name] || name, node.x - 6, node.y + S / 2);
      ctx.globalAlpha = 1;
    });
    let o = nIn;
    for (let c = 1; c < this.cols.length - 1; c++) {
      for (const node of this.cols[c]) {
        if (nodes) this.blit(ctx, nodes.subarray(o * per, (o + 1) * per), node);
        o++;
      }
    }
    const out = this.cols[this.cols.length - 1];
    out.forEach((node, k) => {
      if (this.layout.kind === "multiclass") {
        ctx.fillStyle = css(CLASS_COLORS[k % CLASS_COLORS.length]);
        ctx.fillRect(node.x, node.y, S, S);
      } else if (this.outputImage) {
        ctx.drawImage(this.outputImage, node.x, node.y, S, S);
      }
    });
    ctx.strokeStyle = "#888";
    ctx.lineWidth = 1;
    for (const col of this.cols) for (const n of col) ctx.strokeRect(n.x + 0.5, n.y + 0.5, S - 1, S - 1);
    if (this.hover && this.hover.type === "node") {
      const n = this.cols[this.hover.c][this.hover.r];
      ctx.strokeStyle = "#000";
      ctx.lineWidth = 2;
      ctx.strokeRect(n.x - 1, n.y - 1, S + 2, S + 2);
    }
    this.drawMarks(ctx);
  }

  // The diagnostics' unit figures of the last epoch (frame header "units", one entry per Dense
  // layer): a cross over a dead ReLU, a red ring around a unit saturated on most probe inputs.
  drawMarks(ctx) {
    const S = this.S;
    this.marks = { dead: [], saturated: [] };
    if (!this.units) return;
    for (let c = 1; c < this.cols.length - 1; c++) {
      const u = this.units[c - 1];
      if (!u) continue;
      for (const r of u.dead || []) {
        const n = this.cols[c][r];
        if (!n) continue;
        this.marks.dead.push([c - 1, r]);
        ctx.strokeStyle = "#d62728";
        ctx.lineWidth = 2.5;
        ctx.beginPath();
        ctx.moveTo(n.x + 3, n.y + 3);
        ctx.lineTo(n.x + S - 3, n.y + S - 3);
        ctx.moveTo(n.x + S - 3, n.y + 3);
        ctx.lineTo(n.x + 3, n.y + S - 3);
        ctx.stroke();
      }
      (u.saturated || []).forEach((share, r) => {
        const n = this.cols[c][r];
        if (!n || share <= 0.5) return;
        this.marks.saturated.push([c - 1, r]);
        ctx.strokeStyle = "#d62728";
        ctx.lineWidth = 2.5;
        ctx.beginPath();
        ctx.arc(n.x + S / 2, n.y + S / 2, S / 2 + 3, 0, 2 * Math.PI);
        ctx.stroke();
      });
    }
  }

  // -- hover and click ------------------------------------------------------------------------
  at(e) {
    const rect = this.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    for (let c = 0; c < (this.cols || []).length; c++) {
      const r = this.cols[c].findIndex((n) => x >= n.x && x <= n.x + this.S && y >= n.y && y <= n.y + this.S);
      if (r >= 0) return { type: "node", c, r, x, y };
    }
    if (!this.frame || !this.frame.sections.weights) return null;
    let best = null;
    this.weights(this.frame.sections.weights).forEach((L, l) => {
      for (let i = 0; i < L.nIn; i++) {
        for (let j = 0; j < L.nOut; j++) {
          const [x0, y0, x1, y1] = this.ends(l, i, j);
          if (x < x0 - 2 || x > x1 + 2) continue;
          const t = Math.max(0, Math.min(1, ((x - x0) * (x1 - x0) + (y - y0) * (y1 - y0)) / ((x1 - x0) ** 2 + (y1 - y0) ** 2)));
          const d = Math.hypot(x0 + t * (x1 - x0) - x, y0 + t * (y1 - y0) - y);
          if (d < 4 && (!best || d < best.d)) best = { type: "link", l, i, j, d, x, y, w: L.W[i * L.nOut + j] };
        }
      }
    });
    return best;
  }

  onMove(e) {
    if (this.editing) return;
    this.setHover(this.at(e));
  }

  setHover(h) {
    if (this.editing) return;
    const old = this.hover;
    this.hover = h;
    const same = old && h && old.type === h.type && old.c === h.c && old.r === h.r && old.l === h.l && old.i === h.i && old.j === h.j;
    if (!same) {
      const focus = h && h.type === "node" && this.focusOf(h);
      this.cb.focus(focus ? focus[0] : null, focus ? focus[1] : 0);
    }
    this.showCard(h);
    this.draw();
  }

  // [layer, index] of a node in the frames' numbering (0: the model's inputs), or null.
  focusOf(h) {
    if (h.c === 0) {
      const i = this.inputRows.indexOf(h.r);
      return i >= 0 ? [0, i] : null;
    }
    return h.c < this.cols.length - 1 ? [h.c, h.r] : null;
  }

  bias(h) {
    if (!this.frame || h.c === 0 || h.c >= this.cols.length - 1 || !this.frame.sections.weights) return null;
    return this.weights(this.frame.sections.weights)[h.c - 1].b[h.r];
  }

  showCard(h, edit = false) {
    const card = this.card;
    if (!h) {
      card.hidden = true;
      return;
    }
    let text;
    if (h.type === "link") {
      const from = h.l === 0 ? this.labels[this.layout.inputs[h.i]] : `neuron ${h.i + 1} of layer ${h.l}`;
      text = `weight ${from} → ${h.l + 1 < this.cols.length - 1 ? `neuron ${h.j + 1} of layer ${h.l + 1}` : "output"}: ${h.w.toPrecision(4)}`;
    } else if (h.c === 0) {
      const name = this.features[h.r];
      text = `${this.labels[name]}: ${this.active.includes(name) ? "an input (click to remove)" : "not used (click to add)"}`;
    } else if (h.c < this.cols.length - 1) {
      text = `neuron ${h.r + 1} of layer ${h.c} (${this.layout.activations[h.c - 1]}), bias ${this.bias(h)?.toPrecision(4)}`;
    } else {
      text = "output";
    }
    const editable = h.type === "link" || (h.c > 0 && h.c < this.cols.length - 1);
    card.innerHTML = "";
    const span = document.createElement("span");
    const hint = this.stepping && (h.type === "link" || h.c > 0) ? " (click: its backpropagation)" : " (click to edit)";
    span.textContent = text + ((editable || this.stepping) && !edit ? hint : "");
    card.append(span);
    if (edit) {
      const input = document.createElement("input");
      input.type = "number";
      input.step = "any";
      input.id = "edit-value";
      input.value = (h.type === "link" ? h.w : this.bias(h)).toPrecision(4);
      input.addEventListener("keydown", (e) => {
        if (e.key === "Enter") {
          const v = Number(input.value);
          if (Number.isFinite(v)) {
            if (h.type === "link") this.cb.setWeight(h.l, h.i, h.j, v);
            else this.cb.setWeight(h.c - 1, null, h.r, v);
          }
          this.editing = false;
          card.hidden = true;
        } else if (e.key === "Escape") {
          this.editing = false;
          card.hidden = true;
        }
      });
      card.append(input);
      setTimeout(() => input.focus(), 0);
    }
    const rect = this.canvas.getBoundingClientRect();
    card.style.left = `${rect.left + window.scrollX + h.x + 12}px`;
    card.style.top = `${rect.top + window.scrollY + h.y + 12}px`;
    card.hidden = false;
  }

  onClick(e) {
    const h = this.at(e);
    if (!h) {
      this.editing = false;
      this.showCard(null);
      return;
    }
    if (this.stepping && (h.type === "link" || h.c > 0)) {
      if (h.type === "link") this.cb.inspect(h.l, h.i, h.j);
      else this.cb.inspect(h.c - 1, null, h.r);
      return;
    }
    if (h.type === "node" && h.c === 0) {
      this.cb.toggleFeature(this.features[h.r]);
      return;
    }
    if (h.type === "link" || (h.c > 0 && h.c < this.cols.length - 1)) {
      this.hover = h;
      this.editing = true;
      this.showCard(h, true);
    }
  }

  // Page coordinates of a node's centre and of a link's middle (for tests).
  nodeCenter(c, r) {
    const rect = this.canvas.getBoundingClientRect();
    const n = this.cols[c][r];
    return [rect.left + n.x + this.S / 2, rect.top + n.y + this.S / 2];
  }

  linkMiddle(l, i, j) {
    const rect = this.canvas.getBoundingClientRect();
    const [x0, y0, x1, y1] = this.ends(l, i, j);
    return [rect.left + (x0 + x1) / 2, rect.top + (y0 + y1) / 2];
  }
}
