// Drawing: TF Playground's colours, the output heat map, the points (charts: charts.js).

// TF Playground's colour scale over [-1, 1]: orange, light grey, blue.
const STOPS = [[245, 147, 34], [232, 234, 235], [8, 119, 189]];
export const CLASS_COLORS = [[245, 147, 34], [8, 119, 189], [44, 160, 44], [148, 103, 189], [214, 39, 40]];

function mix(a, b, t) {
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t));
}

// The colour of a value v in [-1, 1].
export function colorOf(v) {
  v = Math.max(-1, Math.min(1, v));
  return v < 0 ? mix(STOPS[1], STOPS[0], -v) : mix(STOPS[1], STOPS[2], v);
}

// THUMB_PALETTE[b]: the colour of a byte b = round(255 (v + 1) / 2) (frames.py), TF's scale.
export const THUMB_PALETTE = Array.from({ length: 256 }, (_, b) => colorOf((2 * b) / 255 - 1));
// The output's heat map: the same scale, a quarter of the way to white, so points show on it.
const WHITE = [255, 255, 255];
export const PALETTE = THUMB_PALETTE.map((c) => mix(c, WHITE, 0.25));
const SIGN = Array.from({ length: 256 }, (_, b) => PALETTE[b >= 128 ? 255 : 0]);
export const css = (c) => `rgb(${c[0]},${c[1]},${c[2]})`;

// A multi-class pixel: the class colour over the grey, by confidence (byte).
export function classColor(k, conf, discretize) {
  const t = discretize ? 1 : 0.25 + (0.75 * conf) / 255;
  return mix(mix(STOPS[1], CLASS_COLORS[k % CLASS_COLORS.length], t), WHITE, 0.25);
}

// Fill an ImageData from the boundary sections of a frame (or a focus map).
export function paintBoundary(image, sections, discretize) {
  if (sections.classes && !sections.focus) {
    const px = image.data;
    const { classes, confidence } = sections;
    for (let i = 0; i < classes.length; i++) {
      const c = classColor(classes[i], confidence[i], discretize);
      px.set([c[0], c[1], c[2], 255], 4 * i);
    }
    return;
  }
  const lut = sections.focus ? THUMB_PALETTE : discretize ? SIGN : PALETTE;
  paintBytes(image, sections.focus || sections.boundary, lut);
}

// Bytes into an ImageData through a palette (a thumbnail: TF's scale).
export function paintBytes(image, bytes, lut = THUMB_PALETTE) {
  const px = image.data;
  for (let i = 0; i < bytes.length; i++) {
    const c = lut[bytes[i]];
    px[4 * i] = c[0];
    px[4 * i + 1] = c[1];
    px[4 * i + 2] = c[2];
    px[4 * i + 3] = 255;
  }
}

// The colour of a point: its class, or its regression target.
export function pointColor(label, kind) {
  if (kind === "regression") return css(colorOf(label));
  return css(CLASS_COLORS[Math.round(label) % CLASS_COLORS.length]);
}

// The points over the heat map: training points with a white ring, test points with a black one.
export function drawPoints(canvas, data, showTest, domain) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width;
  ctx.clearRect(0, 0, w, w);
  if (!data) return;
  const scale = w / (2 * domain);
  const r = Math.max(2, w / 110);
  const sets = [[data.train_x, data.train_y, "#fff"]];
  if (showTest) sets.push([data.test_x, data.test_y, "#000"]);
  for (const [X, y, ring] of sets) {
    ctx.lineWidth = Math.max(1, r / 3);
    ctx.strokeStyle = ring;
    for (let i = 0; i < y.length; i++) {
      const px = (X[2 * i] + domain) * scale;
      const py = (domain - X[2 * i + 1]) * scale;
      ctx.beginPath();
      ctx.arc(px, py, r, 0, 2 * Math.PI);
      ctx.fillStyle = pointColor(y[i], data.kind);
      ctx.fill();
      ctx.stroke();
    }
  }
}
