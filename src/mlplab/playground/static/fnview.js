// The 1-D view (data sets reg-sine, reg-step, reg-bump): the function to fit, the training
// points, the network's output along x1 and, for one hidden layer, each hidden unit's share
// w_j a_j(x1): the universal approximation theorem's sum of units, drawn. A slider sets the
// width of the hidden layer.

const $ = (id) => document.getElementById(id);
const DOMAIN = 6;
const Y = 1.6; // the view's y range: [-Y, Y]

export class FunctionView {
  constructor(onChange) {
    const slider = $("fn-width");
    slider.oninput = () => ($("fn-width-value").textContent = slider.value);
    slider.onchange = () => onChange({ networkShape: [Number(slider.value)] });
  }

  // Show the view for a 1-D data set (the data message has the target curve), else hide it.
  setRun(cfg, data) {
    const on = Boolean(data && data.target);
    $("fn-box").hidden = !on;
    $("heat-wrap").classList.toggle("one-d", on);
    if (!on) return;
    const widths = cfg.networkShape;
    $("fn-width").value = widths.length === 1 ? widths[0] : 1;
    $("fn-width-value").textContent = widths.length === 1 ? widths[0] : `(${widths.length} layers)`;
    $("fn-width").disabled = widths.length !== 1;
  }

  draw(frame, data, showTest) {
    const s = frame.sections;
    if (!s.fn || !data || !data.target) return;
    const canvas = $("fn-chart");
    const ctx = canvas.getContext("2d");
    const { width: w, height: h } = canvas;
    ctx.clearRect(0, 0, w, h);
    const sx = (x) => ((x + DOMAIN) / (2 * DOMAIN)) * w;
    const sy = (y) => h / 2 - (y / Y) * (h / 2);
    const n = s.fn.length;
    const xs = Array.from({ length: n }, (_, i) => -DOMAIN + (2 * DOMAIN * i) / (n - 1));
    const curve = (ys, color, width, dash = []) => {
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.setLineDash(dash);
      ctx.beginPath();
      ys.forEach((y, i) => (i ? ctx.lineTo(sx(xs[i]), sy(y)) : ctx.moveTo(sx(xs[i]), sy(y))));
      ctx.stroke();
      ctx.setLineDash([]);
    };
    ctx.strokeStyle = "#ddd";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(0, sy(0));
    ctx.lineTo(w, sy(0));
    ctx.stroke();
    if (s.fn_units) {
      const k = s.fn_units.length / n;
      for (let j = 0; j < k; j++) curve(s.fn_units.subarray(j * n, (j + 1) * n), `hsla(${(j * 47) % 360}, 60%, 50%, 0.55)`, 1);
    }
    curve(data.target, "#888", 2, [6, 4]);
    const sets = [[data.train_x, data.train_y, "#0877bd"]];
    if (showTest) sets.push([data.test_x, data.test_y, "#f59322"]);
    for (const [X, y, color] of sets) {
      ctx.fillStyle = color;
      for (let i = 0; i < y.length; i++) {
        ctx.beginPath();
        ctx.arc(sx(X[2 * i]), sy(y[i]), 2.5, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    curve(s.fn, "#111", 2.5);
    canvas.dataset.frame = frame.header.frame;
    $("fn-note").textContent = s.fn_units
      ? `Black: the network's output, the sum of the ${s.fn_units.length / n} coloured units' shares w_j a_j(x1) ` +
        `plus the output bias ${frame.header.fn_bias.toFixed(3)}. Dashed: the function to fit.`
      : "Black: the network's output. Dashed: the function to fit. (Each unit's share is drawn for one hidden layer.)";
  }
}
