// Compiled by `tsc --noEmit` in make test: the declarations must describe the
// API as pages use it, and refuse what is wrong.
import type { IsogateError, UnlistenFn } from '../../index';

async function page(): Promise<void> {
  await window.isogate.ready;
  const r = await isogate.invoke<{ greeting: string }>('demo.greet', { name: 'Ada' });
  const greeting: string = r.greeting;
  const bytes = await isogate.invoke<{ data: Uint8Array }>('demo.bytes.invert', { data: new Uint8Array(4) });
  bytes.data.byteLength;
  await isogate.emit('demo.clicked', { button: 'x' });
  const un: UnlistenFn = await isogate.listen<{ n: number }>('demo.tick', (e) => { const n: number = e.payload.n; });
  un();
  await isogate.once('demo.tick', () => {});
  try {
    await isogate.invoke('demo.secret');
  } catch (err) {
    const e = err as IsogateError;
    if (e.code === 'denied' || e.code === 'rate_limited') console.log(e.message, greeting);
  }
  // @ts-expect-error functions cannot be sent
  await isogate.invoke('x', { f: () => 1 });
  // @ts-expect-error codes are a closed set
  const bad: IsogateError['code'] = 'nope';
}
page();
