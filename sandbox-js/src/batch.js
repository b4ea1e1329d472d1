// Batching of postMessage traffic between the bridge and the iframe.
// Messages posted during one turn of the event loop leave together when its
// microtasks run out, as a single {type: "batch", messages} (a lone message
// goes as itself). Nothing waits for a timer: a message leaves in the same
// task it was posted in, and under load the fixed cost of a postMessage is
// paid once per batch instead of once per call.

export function batcher(deliver) {
  let pending = null;
  return (m) => {
    if (pending === null) {
      pending = [];
      queueMicrotask(() => {
        const messages = pending;
        pending = null;
        deliver(messages.length === 1 ? messages[0] : { type: 'batch', messages });
      });
    }
    pending.push(m);
  };
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
