// The demo page: an ordinary app that knows only window.isogate.
const $ = (id) => document.getElementById(id);

isogate.ready.then(() => {
  $('status').textContent = 'connected through the isolation iframe';
  $('status').classList.add('ok');
});

$('greet-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = $('greet-out');
  try {
    const r = await isogate.invoke('demo.greet', { name: $('greet-name').value });
    out.textContent = r.greeting;
    out.className = 'ok';
  } catch (e) {
    out.textContent = `${e.code}: ${e.message}`;
    out.className = 'blocked';
  }
});

const attacks = {
  unknown: () => isogate.invoke('fs.readFile', { path: '/etc/passwd' }),
  schema: () => isogate.invoke('demo.greet', { name: 42, admin: true }),
  denied: () => isogate.invoke('demo.secret', {}),
  blocked: () => isogate.invoke('demo.greet', { name: 'root' }),
  markup: () => isogate.invoke('demo.greet', { name: '<img src=x onerror=alert(1)>' }),
};

for (const button of document.querySelectorAll('[data-attack]')) {
  button.addEventListener('click', async () => {
    const span = button.nextElementSibling;
    try {
      await attacks[button.dataset.attack]();
      span.textContent = 'got through!';
      span.className = 'bad';
    } catch (e) {
      span.textContent = `blocked: ${e.code}`;
      span.className = 'blocked';
    }
  });
}
