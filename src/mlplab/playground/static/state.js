// The configuration in the URL hash, TF Playground's way: key=value pairs joined by "&",
// numbers as numbers, booleans as true/false, lists comma-separated. TF Playground's keys
// mean the same here, so its links open; its keys this page lacks (tutorial, hideText,
// collectStats, cosX, cosY, initZero, *_hide) are ignored. Optimizer and schedule
// hyper-parameters are "opt.NAME" and "sched.NAME"; the race's runs are "race=LANE,LANE" (lanes
// such as "adam:0.003" or "sgd:0.1:momentum=0.9", spec.lane_config).

export const IGNORED = ["tutorial", "hideText", "collectStats", "cosX", "cosY", "initZero"];

// decodeURIComponent, or null for text that is not a valid escape ("%", "%%%").
function decode(raw) {
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

function parseValue(text, def) {
  if (typeof def === "boolean") return text !== "false";
  if (typeof def === "number") return Number(text);
  if (Array.isArray(def)) return text.trim() === "" ? [] : text.split(",").map(Number);
  return text;
}

// The configuration a hash describes, over the defaults; unknown keys, and pairs that are not
// valid URL text (a lone "%"), are reported.
export function parseHash(hash, defaults) {
  const cfg = structuredClone(defaults);
  const unknown = [];
  for (const pair of hash.replace(/^#/, "").split("&")) {
    if (!pair) continue;
    const at = pair.indexOf("=");
    const key = decode(at < 0 ? pair : pair.slice(0, at));
    const text = decode(at < 0 ? "" : pair.slice(at + 1));
    if (key === null || text === null) {
      unknown.push(pair);
    } else if (key.startsWith("opt.") || key.startsWith("sched.")) {
      const [group, name] = key.split(".", 2);
      cfg[group][name] = parseParam(text);
    } else if (key === "race") {
      cfg.race = text.split(",").filter(Boolean);
    } else if (key === "activation") {
      const names = text.split(",").filter(Boolean);
      if (names.length) cfg.activation = names.length === 1 ? names[0] : names;
    } else if (Object.hasOwn(defaults, key)) {
      if (text.trim() === "" && !Array.isArray(defaults[key])) continue;
      cfg[key] = parseValue(text, defaults[key]);
    } else if (!IGNORED.includes(key) && !key.endsWith("_hide")) {
      unknown.push(key);
    }
  }
  return { cfg, unknown };
}

function parseParam(t) {
  if (t === "true" || t === "false") return t === "true";
  if (t === "none") return null;
  if (t.includes(",")) return t.split(",").map(Number);
  return Number(t);
}

function show(v) {
  if (Array.isArray(v)) return v.join(",");
  if (v === null) return "none";
  return encodeURIComponent(String(v));
}

// The hash of a configuration: every key, in the defaults' order.
export function serialize(cfg, defaults) {
  const parts = [];
  for (const key of Object.keys(defaults)) {
    if (key === "opt" || key === "sched") {
      for (const [name, v] of Object.entries(cfg[key] || {})) parts.push(`${key}.${name}=${show(v)}`);
    } else {
      parts.push(`${key}=${show(cfg[key])}`);
    }
  }
  return "#" + parts.join("&");
}
