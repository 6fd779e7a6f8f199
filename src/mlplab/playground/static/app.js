// The page: connects to the server, keeps the configuration in the URL hash, draws frames
// (the main run's, and the race's other runs' in their panes: frames are routed by header.run).

import { connect } from "./protocol.js";
import { parseHash, serialize } from "./state.js";
import { Controls } from "./controls.js";
import { drawPoints, paintBoundary, PALETTE, CLASS_COLORS, css } from "./draw.js";
import { NetworkView } from "./network.js";
import { RaceView } from "./race.js";
import { DiagView } from "./diag.js";
import { BackpropView } from "./backprop.js";
import { LRFinderView } from "./lrfinder.js";
import { FunctionView } from "./fnview.js";
import { TourView, TOURS, splitTour } from "./tours.js";

const $ = (id) => document.getElementById(id);
const S = { cfg: null, rev: 0, layout: null, data: null, frame: null, pending: {}, playing: false, hasCustom: false, tour: null };
const stats = { frames: 0, drawn: 0, total: 0, since: performance.now(), fps: 0, msDraw: 0 };
// what tests and curious users can read: window.mlplab
window.mlplab = { S, stats, palette: PALETTE, classColors: CLASS_COLORS, errors: [], notices: [], exports: [], lanes: {} };

let controls, net, link, race, diag, backprop, finder, fnView, tours;
const boundary = $("boundary");
const points = $("points");

function message(text, kind) {
  (kind === "error" ? window.mlplab.errors : window.mlplab.notices).push(text);
  const box = $("messages");
  const p = document.createElement("p");
  p.className = kind;
  p.textContent = text;
  box.prepend(p);
  while (box.children.length > 6) box.lastChild.remove();
}

function writeHash() {
  const tour = S.tour ? `&tour=${S.tour}` : "";
  history.replaceState(null, "", serialize(S.cfg, window.mlplab.options.defaults) + tour);
}

// The configuration of a URL hash: a tour's preset (#tour=NAME) under the hash's own keys.
function fromHash(hash) {
  const { name, unknown, rest } = splitTour(hash);
  const { cfg, unknown: keys } = parseHash(name ? `${TOURS[name].hash}&${rest}` : rest, window.mlplab.options.defaults);
  if (unknown) keys.push(`tour=${unknown}`);
  S.tour = name;
  tours.show(name);
  return { cfg, unknown: keys };
}

function closeTour() {
  S.tour = null;
  tours.show(null);
  writeHash();
}

// Keys that change only the view (spec.VIEW_KEYS): the server keeps the run.
const VIEW_KEYS = ["showTestData", "discretize", "speed"];

function change(updates) {
  S.cfg = { ...S.cfg, ...updates };
  if (Object.keys(updates).every((k) => VIEW_KEYS.includes(k))) S.good = { ...S.good, ...updates };
  writeHash();
  link.send("config", { config: updates });
}

function onJson(msg) {
  if (msg.type === "hello") {
    window.mlplab.options = msg.options;
    controls = new Controls(msg.options, change);
    net = new NetworkView($("network"), $("card"), msg.options.features, {
      toggleFeature: (name) => change({ [name]: !S.cfg[name] }),
      focus: (layer, index) => link.send("focus", { layer, index }),
      setWeight: (layer, from, to, value) => link.send("set_weight", from === null ? { layer, to, value } : { layer, from, to, value }),
      inspect: (layer, from, to) => backprop.select(layer, from, to),
    });
    window.mlplab.net = net;
    race = new RaceView(change, link.send);
    diag = new DiagView();
    backprop = new BackpropView(link.send, msg.options.features);
    finder = new LRFinderView(link.send, (lr) => change({ learningRate: lr }));
    fnView = new FunctionView(change);
    tours = new TourView(closeTour);
    const { cfg, unknown } = fromHash(location.hash);
    if (unknown.length) message(`Ignored in the link: ${unknown.join(", ")} (not settings of this playground).`, "notice");
    S.cfg = cfg;
    link.send("config", { config: cfg, link: true });
  } else if (msg.type === "run") {
    S.rev = msg.rev;
    S.cfg = S.good = msg.config;
    S.layout = msg.layout;
    if (S.cfg.dataset === "custom" || S.cfg.regDataset === "custom") S.hasCustom = true;
    writeHash();
    controls.update(S.cfg, S.layout, S.hasCustom);
    const active = Object.keys(msg.options_features || window.mlplab.options.features).filter((k) => S.cfg[k]);
    net.setLayout(S.layout, S.layout.imported ? ["x", "y"] : active);
    controls.layerControls(S.cfg, net.colX);
    $("acc-row").hidden = $("confusion-wrap").hidden = S.layout.kind === "regression";
    S.lanes = msg.lanes;
    window.mlplab.lanes = {};
    race.setRuns(S.cfg, S.layout, msg.lanes);
    backprop.stop();
    net.stepping = false;
    net.units = null;
    fnView.setRun(S.cfg, S.data);
    finder.setRun(S.cfg);
    net.draw(null);
    setTimeout(() => tours.place());
  } else if (msg.type === "error") {
    message(msg.message, "error");
    if (msg.about === "lr_find") $("lr-find").disabled = false;
    if (msg.about === "config" && S.good) {  // a refused change: back to the configuration the server runs
      S.cfg = { ...S.good };
      writeHash();
      controls.update(S.cfg, S.layout, S.hasCustom);
    }
  } else if (msg.type === "notice") {
    message(msg.message, "notice");
  } else if (msg.type === "export") {
    window.mlplab.exports.push(msg);
    showExport(msg);
  } else if (msg.type === "trace") {
    window.mlplab.trace = msg;
    backprop.onTrace(msg, S.layout);
    net.stepping = true;
  } else if (msg.type === "inspect") {
    window.mlplab.inspect = msg;
    backprop.onInspect(msg);
  } else if (msg.type === "lr_find") {
    window.mlplab.lrFind = msg;
    finder.show(msg);
    window.mlplab.lrChart = finder.chart;
    if (S.tour) tours.place();  // the result's chart and "Use" button moved what the notes avoid
  }
}

function onBinary({ header, sections }) {
  if (header.type === "data") {
    S.data = { ...sections, kind: header.kind };
    drawPoints(points, S.data, S.cfg && S.cfg.showTestData, 6);
    fnView.setRun(S.cfg, S.data);
    return;
  }
  stats.frames++;
  if (header.rev !== S.rev) {
    link.send("ack");
    return;
  }
  S.pending[header.run] = { header, sections };
  requestAnimationFrame(drawPending);
}

// Every frame waiting: the main run's in the page, the others in the race's panes; one ack each.
function drawPending() {
  const pending = S.pending;
  S.pending = {};
  for (const [run, f] of Object.entries(pending)) {
    if (run === "main") drawMain(f);
    else window.mlplab.lanes[run] = f.header;
    race.draw(f, S.cfg.discretize);
    link.send("ack");
  }
}

const pad = (n) => String(n).padStart(6, "0").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
const num = (v, d = 3) => (v === null || v === undefined ? "NaN" : v.toFixed(d));

function drawMain(f) {
  const t0 = performance.now();
  const h = f.header;
  S.frame = f;
  S.playing = h.playing;
  $("play").textContent = h.playing ? "❚❚" : "▶";
  $("play").classList.toggle("playing", h.playing);
  $("epoch").textContent = pad(h.epoch);
  $("loss-train").textContent = num(h.train.loss);
  $("loss-test").textContent = num(h.test.loss);
  if (h.train.accuracy !== undefined) {
    $("acc-train").textContent = num(h.train.accuracy);
    $("acc-test").textContent = num(h.test.accuracy);
    confusion(h.test.confusion);
  }
  diag.draw(h);
  net.units = h.units;
  if (boundary.width !== h.density) boundary.width = boundary.height = h.density;  // 100, or 50 for big networks
  const ctx = boundary.getContext("2d");
  const image = ctx.createImageData(h.density, h.density);
  paintBoundary(image, f.sections, S.cfg.discretize);
  ctx.putImageData(image, 0, 0);
  boundary.dataset.frame = h.frame;
  boundary.dataset.epoch = h.epoch;
  boundary.dataset.focus = f.sections.focus ? "1" : "";
  net.outputImage = boundary;
  net.draw(f);
  $("links-note").textContent = net.shownLinks < net.totalLinks
    ? `Drawing the ${net.shownLinks.toLocaleString("en")} links of largest |w| of ${net.totalLinks.toLocaleString("en")}.`
    : "";
  const banner = $("banner");
  banner.hidden = !["diverged", "stopped", "done", "error"].includes(h.status);
  banner.className = h.status;
  banner.textContent = h.message || "";
  fnView.draw(f, S.data, S.cfg.showTestData);
  if (S.tour && (S.placed !== h.rev || stats.drawn % 30 === 0)) {  // a tour's notes follow what frames show
    S.placed = h.rev;
    tours.place();
  }
  window.mlplab.header = h;
  stats.drawn++;
  stats.total++;
  stats.msDraw = 0.9 * stats.msDraw + 0.1 * (performance.now() - t0);
  const now = performance.now();
  if (now - stats.since > 1000) {
    stats.fps = (1000 * stats.drawn) / (now - stats.since);
    stats.drawn = 0;
    stats.since = now;
    $("fps").textContent = `${stats.fps.toFixed(0)} frames/s, ${h.ms_per_step.toFixed(3)} ms per update, ` +
      `${h.ms_render.toFixed(1)} ms to render a frame, ${stats.msDraw.toFixed(1)} ms to draw it`;
  }
}

function confusion(m) {
  const t = $("confusion");
  t.innerHTML = "";
  const head = t.insertRow();
  head.insertCell().textContent = "true \\ predicted";
  m.forEach((_, k) => {
    const c = head.insertCell();
    c.textContent = k;
    c.style.color = css(CLASS_COLORS[k % CLASS_COLORS.length]);
  });
  m.forEach((row, k) => {
    const r = t.insertRow();
    const c = r.insertCell();
    c.textContent = k;
    c.style.color = css(CLASS_COLORS[k % CLASS_COLORS.length]);
    row.forEach((v, j) => {
      const cell = r.insertCell();
      cell.textContent = v;
      if (j === k) cell.className = "diag";
    });
  });
}

function showExport(msg) {
  const script = new Blob([msg.script], { type: "text/x-python" });
  const bytes = Uint8Array.from(atob(msg.model), (ch) => ch.charCodeAt(0));
  $("script-link").href = URL.createObjectURL(script);
  $("script-link").download = msg.script_name;
  $("model-link").href = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  $("model-link").download = msg.model_name;
  $("script-text").textContent = msg.script;
  $("export-out").hidden = false;
  message(`Exported epoch ${msg.epoch}: the script reproduces training loss ${num(msg.train_loss, 6)}.`, "notice");
}

function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function readFile(input, limit, asText, send) {
  const file = input.files[0];
  input.value = "";
  if (!file) return;
  if (file.size > limit) {
    message(`${file.name} is ${file.size.toLocaleString("en")} bytes: at most ${limit.toLocaleString("en")} can be read.`, "error");
    return;
  }
  const reader = new FileReader();
  reader.onload = () => send(asText ? reader.result : toBase64(reader.result), file.name);
  if (asText) reader.readAsText(file);
  else reader.readAsArrayBuffer(file);
}

function bind() {
  $("play").onclick = () => {
    if (!S.playing) {
      backprop.stop();
      net.stepping = false;
    }
    link.send(S.playing ? "pause" : "play");
  };
  $("step").onclick = () => {
    backprop.stop();  // an epoch step leaves the step-through
    net.stepping = false;
    link.send("step");
  };
  $("reset").onclick = () => link.send("reset");
  $("regenerate").onclick = () => link.send("regenerate");
  $("export").onclick = () => link.send("export");
  $("csv-file").onchange = (e) => readFile(e.target, 1_000_000, true, (text) => link.send("upload_csv", { text }));
  $("model-file").onchange = (e) => readFile(e.target, 4_000_000, false, (data, name) => link.send("import_model", { data, file_name: name }));
  points.onclick = (e) => {
    const r = points.getBoundingClientRect();
    const x = -6 + (12 * (e.clientX - r.left)) / r.width;
    const y = 6 - (12 * (e.clientY - r.top)) / r.height;
    const reg = S.cfg.problem === "regression";
    const label = reg ? (e.shiftKey ? -1 : 1) : e.shiftKey ? 0 : Number($("click-class").value);
    link.send("add_point", { x, y, label });
  };
  const size = () => {
    const w = $("heat-wrap").clientWidth;
    points.width = points.height = w * devicePixelRatio;
    drawPoints(points, S.data, S.cfg && S.cfg.showTestData, 6);
  };
  new ResizeObserver(size).observe($("heat-wrap"));
  $("showTestData").addEventListener("change", () => setTimeout(() => drawPoints(points, S.data, S.cfg.showTestData, 6)));
  window.addEventListener("hashchange", () => {
    const { cfg, unknown } = fromHash(location.hash);
    if (unknown.length) message(`Ignored in the link: ${unknown.join(", ")} (not settings of this playground).`, "notice");
    S.cfg = cfg;
    link.send("config", { config: cfg, link: true });
  });
}

link = connect({ onJson, onBinary, onClose: () => message("The connection to the server closed: restart `mlplab playground` and reload.", "error") });
window.mlplab.link = link;
bind();
