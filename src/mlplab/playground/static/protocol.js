// The WebSocket protocol (mlplab/playground/session.py and frames.py): JSON text messages
// both ways, binary messages from the server: uint32 header length, a JSON header, then the
// sections it lists as [name, dtype, shape], each padded to 4 bytes.

export function decode(buffer) {
  const view = new DataView(buffer);
  const n = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, n)));
  const sections = {};
  let o = 4 + n;
  for (const [name, code, shape] of header.sections) {
    const count = shape.reduce((a, b) => a * b, 1);
    const size = count * (code === "u1" ? 1 : 4);
    sections[name] = code === "u1" ? new Uint8Array(buffer, o, count) : new Float32Array(buffer.slice(o, o + size));
    o += size + ((4 - (size % 4)) % 4);
  }
  return { header, sections };
}

// Connect to the page's server; handlers: onJson(msg), onBinary({header, sections}), onClose().
export function connect(handlers) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws`);
  ws.binaryType = "arraybuffer";
  ws.onmessage = (e) => {
    if (typeof e.data === "string") handlers.onJson(JSON.parse(e.data));
    else handlers.onBinary(decode(e.data));
  };
  ws.onclose = () => handlers.onClose();
  return {
    send(type, fields = {}) {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type, ...fields }));
    },
    get open() {
      return ws.readyState === WebSocket.OPEN;
    },
  };
}
