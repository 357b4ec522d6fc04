#!/usr/bin/env node
'use strict';
// Runs the TypeScript sources directly through tsx (esbuild) so `npx bulksms` works right after `npm ci`.
// With BULKSMS_USE_DIST=1 (the Docker image) and a dist/ from `npm run build`, the compiled output runs instead
// (faster start, no transpiler); only when asked, so a dist/ older than the sources is never run by surprise.
const path = require('node:path');
const fs = require('node:fs');
// `simulator` loads only what it runs (src/cli/simulator-main.ts says why).
const entry = process.argv[2] === 'simulator' ? 'simulator-main' : 'main';
const compiled = path.join(__dirname, '..', 'dist', 'src', 'cli', `${entry}.js`);
if (process.env.BULKSMS_USE_DIST === '1' && fs.existsSync(compiled)) {
  require(compiled).main(process.argv);
} else {
  require('tsx/cjs');
  require(`../src/cli/${entry}.ts`).main(process.argv);
}
