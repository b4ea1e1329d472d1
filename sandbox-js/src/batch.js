// Batching of postMessage traffic between the bridge and the iframe.
// Messages posted during one turn of the event loop leave together when its
// microtasks run out, as a single {type: "batch", messages} (a lone message
// goes as itself). Nothing waits for a timer: a message leaves in the same
// task it was posted in, and under load the fixed cost of a postMessage is
// paid once per batch instead of once per call.

// Buffers given with a message (transfer) are handed over with the batch.
// send.now(m) delivers m at once instead, when nothing is waiting to leave
// (send.idle()): a call that is alone pays for no microtask, and
// postMessage's own copy is its only copy.
export function batcher(deliver) {
  let pending = null;
  let transfer = [];
  // open starts the batch of this turn: what is sent until the microtasks
  // run out leaves with it (nothing, if nothing was).
  const open = () => {
    pending = [];
    queueMicrotask(() => {
      const messages = pending;
      const moved = transfer;
      pending = null;
      transfer = [];
      if (messages.length > 0) deliver(messages.length === 1 ? messages[0] : { type: 'batch', messages }, moved);
    });
  };
  const send = (m, buffers) => {
    if (pending === null) open();
    pending.push(m);
    if (buffers) transfer.push(...buffers);
  };
  send.idle = () => pending === null;
  send.now = (m) => {
    if (pending !== null) throw new Error('batcher: a batch is waiting; send.now would overtake it');
    deliver(m, []);
    open(); // what follows in this turn is batched behind it
  };
  return send;
}

// unbatch calls each for every message in data: the messages of a batch,
// or data itself. Batches do not nest: a batch inside a batch is passed to
// each as it is, and is dropped there as an unknown type.
export function unbatch(data, each) {
  if (data !== null && typeof data === 'object' && data.type === 'batch' && Array.isArray(data.messages)) {
    for (const m of data.messages) each(m);
    return;
  }
  each(data);
}

// On the wire, the iframe and the core batch the other way: what is ready to
// send while a frame is being sealed leaves in the next frame, as one
// {"type":"batch","messages":[...]} plaintext (docs/protocol.md). These
// build and group such plaintexts; a message with binary values (first byte
// 0x01) always travels alone.

const enc = new TextEncoder();
const OPEN = enc.encode('{"type":"batch","messages":[');
const CLOSE = enc.encode(']}');

// frames groups items ({body}) in order into the lists that share a frame,
// each list's JSON within max bytes and at most maxMessages long (the
// core's bounds, from the frame config).
export function frames(items, max, maxMessages) {
  const out = [];
  let group = [];
  let size = OPEN.length + CLOSE.length;
  const flush = () => {
    if (group.length) out.push(group);
    group = [];
    size = OPEN.length + CLOSE.length;
  };
  for (const it of items) {
    const alone = it.body[0] === 0x01 || it.body.length + OPEN.length + CLOSE.length > max;
    if (alone || size + it.body.length + 1 > max || group.length === maxMessages) flush();
    if (alone) {
      out.push([it]);
      continue;
    }
    group.push(it);
    size += it.body.length + 1;
  }
  flush();
  return out;
}

// joinBatch is the plaintext of a batch of JSON plaintexts.
export function joinBatch(bodies) {
  let n = OPEN.length + CLOSE.length + bodies.length - 1;
  for (const b of bodies) n += b.length;
  const out = new Uint8Array(n);
  out.set(OPEN, 0);
  let at = OPEN.length;
  bodies.forEach((b, i) => {
    if (i > 0) out[at++] = 0x2c; // ,
    out.set(b, at);
    at += b.length;
  });
  out.set(CLOSE, at);
  return out;
}
