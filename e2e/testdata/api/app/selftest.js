// Run in the desktop window (WebKitGTK), where no test driver can reach the
// page: the same calls the Chromium test makes, reported back through the
// gate itself, as a note the API server logs.
isogate.ready.then(async () => {
  const out = {};
  try {
    const r = await fetch('/api/notes', { headers: { Accept: 'application/json' } });
    out.get = r.status;
    out.getHeader = r.headers.get('x-api');
    out.getNotes = (await r.json()).notes.length;
    const p = await axios.post('/api/notes', { text: 'from webkit' });
    out.post = p.status;
    out.postText = p.data.text;
    const d = await fetch('/api/notes/1', { method: 'DELETE' });
    out.del = d.status;
    out.delCode = d.headers.get('x-isogate-code');
    out.delBody = await d.text();
    out.axiosDel = await axios.delete('/api/notes/1').then(() => 0, (e) => (e.response ? e.response.status : -1));
    const bad = await fetch('/api/notes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 7 }) });
    out.schema = bad.status;
    out.schemaBody = await bad.text();
    out.cookie = document.cookie;
    const big = new Uint8Array(await (await fetch('/api/notes/big')).arrayBuffer());
    out.big = big.length;
    out.bigInOrder = big.every((b, i) => b === i % 251);
  } catch (e) {
    out.error = String(e && e.stack || e);
  }
  await fetch('/api/notes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'report', report: out }) });
});
