#!/usr/bin/env node
'use strict';
// Runs the TypeScript sources directly through tsx (esbuild) so `npx bulksms` works right after `npm ci`.
// If `npm run build` produced dist/, the compiled output is used instead (faster start, no transpiler).
const path = require('node:path');
const fs = require('node:fs');
const compiled = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (process.env.BULKSMS_USE_DIST === '1' && fs.existsSync(compiled)) {
  require(compiled).main(process.argv);
} else {
  require('tsx/cjs');
  require('../src/cli/main.ts').main(process.argv);
}
