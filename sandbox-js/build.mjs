// Builds the two bundles the Go package isolation embeds. The output is
// committed; `make test` rebuilds it and fails if it differs.
import { build } from 'esbuild';

const common = { bundle: true, format: 'iife', target: 'es2020', legalComments: 'none', logLevel: 'warning' };
await build({ ...common, entryPoints: ['src/isolation-main.js'], outfile: '../isolation/assets/isolation.js' });
await build({ ...common, entryPoints: ['src/bridge-main.js'], outfile: '../isolation/assets/bridge.js' });
