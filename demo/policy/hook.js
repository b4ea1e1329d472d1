// The demo's isolation hook. isogate loads this file into the isolation
// iframe, where it runs on every message before the message is sealed; the
// page cannot reach or change it. Return exactly true to let a message
// through; return false or a reason, throw, or take longer than 5 s, and the
// call rejects with code "hook_rejected".
self.isogateHook = (message) => {
  // Refuse markup in anything sent to the core: a cheap extra line against
  // stored XSS, enforced before the message ever leaves the browser.
  if (/[<>]/.test(JSON.stringify(message.args))) {
    return 'markup is not allowed in arguments';
  }
  return true;
};
