// Guided tours: one per chapter of the lecture (Carlier and Tourneret, "Neural networks").
// A tour is a link, #tour=NAME: a preset configuration (URL keys, over the defaults), a short
// text for a student of the lecture, and notes placed beside the controls it uses. Changing
// a setting keeps the tour open and the link (#...&tour=NAME) addressable.

export const TOURS = {
  capacity: {
    title: "1. The multi-layer perceptron and its capacity",
    hash: "dataset=circle&networkShape=&activation=tanh&learningRate=0.03&speed=1",
    text: [
      "With no hidden layer the network is a single neuron, ŷ = σ(w₁x₁ + w₂x₂ + b): its decision boundary is a straight line, and no straight line separates the blue disc from the orange ring. Press play: the test loss stays near 0.69, a coin toss.",
      "Add a hidden layer, then neurons in it. Each hidden neuron computes h = f(w₁x₁ + w₂x₂ + b) and draws one line; the output combines them, as in the lecture's ŷ = σ(w₁h₁ + w₂h₂ + b₃). Three tanh neurons are enough for the circle: hover each one to see its line.",
      "More layers and more neurons give the network more capacity (the lecture's 'separating ability'). Choose the spiral and find out how many it needs.",
    ],
    notes: [
      ["#add-layer", "Add a hidden layer"],
      ["#layers-label", "Then add neurons to it with the + above the layer"],
      ["#play", "Train"],
      ['#datasets canvas[data-name="spiral"]', "Then try the spiral"],
    ],
  },
  vanishing: {
    title: "2. Activation functions and the vanishing gradient",
    hash: "networkShape=8,8,8,8&activation=relu&learningRate=0.3&seed=4&race=sgd:0.3:act=sigmoid&speed=1",
    text: [
      "Two networks with four hidden layers of 8 units, the same data, the same mini-batches: ReLU in the main run, sigmoid in lane1 of the race. Press play.",
      "Back-propagation multiplies the gradient, layer after layer, by f′(z). The sigmoid's derivative is at most 1/4, so the first layer of the sigmoid network gets a gradient about a hundred times smaller than the last one's (the small gradient-norm chart in its pane: one line per layer, log scale). Its first layers hardly learn: it stays at chance (test loss near 0.69) for hundreds of epochs (about 500 here) before it finds the circle, while the ReLU network learns it in about ten. The point is how much slower. Under the chart, the diagnostics say 'vanishing gradient' in plain words.",
      "ReLU's derivative is 1 wherever the unit is active, so the gradient keeps its size through the layers and the ReLU network learns the circle in a few epochs. On the network, a dead ReLU (output 0 for every input) is crossed out and a saturated unit gets a red ring.",
    ],
    notes: [
      ["#race", "Sigmoid beside ReLU, same start"],
      ["#diag-grad", "Gradient norm of each layer"],
      ["#diag-warnings", "The warnings, in plain words"],
      ["#network", "× dead, ○ saturated units"],
    ],
  },
  optimizers: {
    title: "3. Optimizers and learning-rate schedules",
    hash: "dataset=spiral&networkShape=8,8&activation=tanh&sinX=true&sinY=true&learningRate=0.1&schedule=cosine" +
      "&sched.T_max=300&epochs=300&speed=1&race=sgd:0.03,sgd:0.03:momentum=0.9,adam:0.003",
    text: [
      "Four runs from the same initial weights on the same mini-batches. The main run is SGD whose learning rate follows a cosine schedule, from 0.1 down towards 0 over 300 epochs (drawn under the loss chart, with a cursor at the current epoch); the runs stop there, as torch's CosineAnnealingLR would climb back up after its T_max. Beside it in the race: plain SGD, SGD with momentum (the lecture's v ← ηv − α ∂J/∂β, β ← β + v) and Adam. The race's chart compares their test losses epoch by epoch.",
      "Momentum keeps moving through the flat stretches of J and damps the zig-zag across its valleys; Adam scales each weight's step by the history of its own gradient. A large rate early and a small one late is what the schedule buys: fast progress first, then a settled minimum.",
      "Which learning rate? Run the learning-rate finder: it trains a copy of the network for 200 mini-batches at growing rates and draws the loss against the rate. Read the curve yourself: a good rate sits a little below the one where the smoothed (blue) loss is lowest, where it still falls fast. The suggestion follows that rule and 'Use' applies it; on a curve that is noisy from its very start it can be far too small, so compare it with the curve. Step through one mini-batch to see each update with the optimizer's state (momentum buffer, Adam's m and v).",
    ],
    notes: [
      ["#race", "Three optimizers beside the main run"],
      ["#lr-chart", "The learning rate per epoch"],
      ["#lr-find", "Find a learning rate"],
      ["#step-batch", "One mini-batch at a time"],
    ],
  },
  regularization: {
    title: "4. Regularization and early stopping",
    hash: "dataset=circle&noise=35&numSamples=200&percTrainData=30&networkShape=16,16,16&activation=relu" +
      "&optimizer=adam&learningRate=0.01&patience=30&showTestData=true&speed=1",
    text: [
      "60 noisy training points and a large network (three layers of 16 ReLUs): it can learn the noise by heart. Press play: the training loss keeps falling while the test loss, the lecture's validation error, turns up. That is overfitting.",
      "Early stopping watches the test loss and waits 'patience' epochs for it to improve: the bar fills with the epochs waited, the green line marks the best epoch. When the bar is full, training stops.",
      "Then add L2 regularization (λ = 0.01 or 0.03) or dropout and train again: smaller weights, a smoother boundary, a test loss that turns up later or not at all.",
    ],
    notes: [
      ["#early", "Epochs without improvement"],
      ["#chart", "Green: the best epoch"],
      ["#regularization", "Then try L2"],
      ["#dropout", "… or dropout"],
    ],
  },
  approximation: {
    title: "5. The universal approximation theorem",
    hash: "problem=regression&regDataset=reg-sine&x=true&y=false&networkShape=3&activation=sigmoid&optimizer=adam" +
      "&learningRate=0.03&numSamples=200&speed=1",
    text: [
      "Cybenko (1989): any continuous function on an interval can be approximated by a network with one hidden layer of sigmoid units, if it has enough of them (and with ReLU too).",
      "The function to fit is sin(πx/3) (dashed) and the network has one hidden layer. Each coloured curve is one unit's share, w_j σ(a_j x + b_j), a smoothed step; the output (black) is their sum plus a bias.",
      "Three units cannot follow both periods. Slide the width to 10, then 20, and train again: more steps, a closer fit. Try the step and the bump too. The step is not continuous, so the theorem's uniform closeness cannot hold right at its jump; it still holds on average (in the L^p sense): the fit gets close everywhere except in a strip around the jump that narrows as units are added. The theorem says such a network exists; it does not say how to find its weights (that is training), nor how many units are enough.",
    ],
    notes: [
      ["#fn-width", "The width of the hidden layer"],
      ["#fn-chart", "Each unit, and their sum"],
      ["#play", "Train"],
    ],
  },
};

const $ = (id) => document.getElementById(id);

// (tour name or null, the hash without its tour key).
export function splitTour(hash) {
  const pairs = hash.replace(/^#/, "").split("&").filter(Boolean);
  const tour = pairs.find((p) => p.startsWith("tour="));
  const rest = pairs.filter((p) => !p.startsWith("tour="));
  let name = tour ? tour.slice(5) : null;
  try {
    name = name && decodeURIComponent(name);
  } catch {}  // not valid URL text: reported as an unknown tour
  const known = name !== null && Object.hasOwn(TOURS, name);
  return { name: known ? name : null, unknown: name && !known ? name : null, rest: rest.join("&") };
}

export class TourView {
  constructor(onClose) {
    this.name = null;
    const select = $("tour-select");
    for (const [name, t] of Object.entries(TOURS)) {
      const o = document.createElement("option");
      o.value = name;
      o.textContent = t.title;
      select.append(o);
    }
    select.onchange = () => select.value && (location.hash = `#tour=${select.value}`);
    $("tour-close").onclick = () => onClose();
    window.addEventListener("resize", () => this.place());
  }

  show(name) {
    this.name = name;
    const panel = $("tour-panel");
    document.querySelectorAll(".callout").forEach((c) => c.remove());
    document.querySelectorAll(".tour-target").forEach((e) => e.classList.remove("tour-target"));
    panel.hidden = !name;
    $("tour-select").value = name || "";
    if (!name) return;
    const t = TOURS[name];
    panel.dataset.tour = name;
    $("tour-title").textContent = t.title;
    const body = $("tour-text");
    body.innerHTML = "";
    for (const text of t.text) body.append(Object.assign(document.createElement("p"), { textContent: text }));
    const list = document.createElement("ol");
    list.className = "tour-notes";
    t.notes.forEach(([selector, text], k) => {
      list.append(Object.assign(document.createElement("li"), { textContent: text }));
      const note = Object.assign(document.createElement("div"), { className: "callout" });
      Object.assign(note.dataset, { target: selector, text: `${k + 1}. ${text}`, number: String(k + 1) });
      document.body.append(note);
    });
    body.append(Object.assign(document.createElement("p"), { textContent: "Notes on the page:" }), list);
    this.place();
  }

  // Each note beside its control, where it covers neither the control nor anything that reads
  // (text, inputs, charts, other notes): the first free place among right, left, above and
  // below it; with none free, the note shrinks to its number (its text is in the tour panel).
  place() {
    const obstacles = visibleContent();
    for (const note of document.querySelectorAll(".callout")) {
      const target = document.querySelector(note.dataset.target);
      const r = target && target.getBoundingClientRect();
      note.hidden = !r || (r.width === 0 && r.height === 0);
      if (note.hidden) continue;
      target.classList.add("tour-target");
      note.classList.remove("mark");
      note.textContent = note.dataset.text;
      let at = freePlace(note, r, obstacles);
      if (!at) {
        note.classList.add("mark");
        note.textContent = note.dataset.number;
        at = freePlace(note, r, obstacles) || spots(r, note.offsetWidth, note.offsetHeight, true)[4];
      }
      note.style.left = `${window.scrollX + at.left}px`;
      note.style.top = `${window.scrollY + at.top}px`;
      obstacles.push({ left: at.left, top: at.top, right: at.left + note.offsetWidth, bottom: at.top + note.offsetHeight });
    }
  }
}

const NOTE_GAP = 8;

// Places for a w x h note beside the rectangle r (viewport coordinates), in order of preference;
// a number (a small mark) keeps closer.
function spots(r, w, h, mark = false) {
  const GAP = mark ? 1 : NOTE_GAP;
  return [
    { left: r.right + GAP, top: r.top },
    { left: r.left - GAP - w, top: r.top },
    { left: r.left, top: r.top - GAP - h },
    { left: r.right - w, top: r.top - GAP - h },
    { left: r.left, top: r.bottom + GAP },
    { left: r.right - w, top: r.bottom + GAP },
    { left: r.right + GAP, top: r.bottom - h },
    { left: r.left - GAP - w, top: r.bottom - h },
  ];
}

const meets = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

function freePlace(note, r, obstacles) {
  const w = note.offsetWidth;
  const h = note.offsetHeight;
  const width = document.documentElement.clientWidth;
  const top = -window.scrollY;
  for (const at of spots(r, w, h, note.classList.contains("mark"))) {
    const box = { left: at.left, top: at.top, right: at.left + w, bottom: at.top + h };
    if (box.left < 0 || box.right > width || box.top < top) continue;
    if (!meets(box, r) && !obstacles.some((o) => meets(box, o))) return at;
  }
  return null;
}

// What a note must not cover: every visible control and chart, and the box of every piece of text.
const SOLID = new Set(["BUTTON", "INPUT", "SELECT", "CANVAS", "TABLE", "TEXTAREA", "svg"]);
function visibleContent() {
  const out = [];
  const range = document.createRange();
  for (const e of document.body.querySelectorAll("*")) {
    if (e.closest(".callout") || (e.parentElement && e.parentElement.closest("table, svg, button, select"))) continue;
    const boxes = [];
    if (SOLID.has(e.tagName)) boxes.push(e.getBoundingClientRect());
    else {
      for (const n of e.childNodes) {
        if (n.nodeType !== 3 || !n.textContent.trim()) continue;
        range.selectNodeContents(n);
        boxes.push(...range.getClientRects());
      }
    }
    out.push(...boxes.filter((b) => b.width > 0 && b.height > 0));
  }
  return out;
}
