// Builds the two bundles the Go package isolation embeds. The output is
// committed; `node build.mjs --check` (run by `make test`) rebuilds in memory
// and fails if the committed files differ from their sources.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';

const check = process.argv.includes('--check');
const bundles = {
  'src/isolation-main.js': '../isolation/assets/isolation.js',
  'src/bridge-main.js': '../isolation/assets/bridge.js',
  'src/tauri-global.js': '../isolation/assets/tauri-global.js',
  'src/tauri-hook-main.js': '../isolation/assets/tauri-hook.js',
  'src/audit-main.js': '../audit/assets/audit.js',
};
// Copied as they are: third parties' files the Go side embeds.
const copies = { 'node_modules/uplot/dist/uPlot.min.css': '../audit/assets/uPlot.min.css' };

let stale = 0;
// emit writes text to out, or with --check counts out as stale if it differs.
function emit(out, text) {
  let current = '';
  try { current = readFileSync(out, 'utf8'); } catch {}
  if (current === text) return;
  if (check) {
    console.error(`${out} is stale: run 'npm run build' in sandbox-js and commit it`);
    stale++;
  } else {
    writeFileSync(out, text);
  }
}
for (const [entry, out] of Object.entries(bundles)) {
  const r = await build({
    entryPoints: [entry], bundle: true, format: 'iife', target: 'es2020',
    minify: entry === 'src/tauri-global.js' || entry === 'src/audit-main.js', // mostly third parties' code, read in its own repository
    legalComments: 'none', logLevel: 'warning', write: false, outfile: out,
  });
  emit(out, r.outputFiles[0].text);
}
for (const [from, out] of Object.entries(copies)) emit(out, readFileSync(from, 'utf8'));
process.exit(stale ? 1 : 0);
