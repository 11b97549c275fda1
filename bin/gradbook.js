#!/usr/bin/env node
// Entry point for `npx gradbook`: compiled sources live in dist/ (npm run build).
// Magic modules register themselves with the kernel's registry when imported; the kernel itself
// never imports magics/.
await import('../dist/magics/index.js');
const { main } = await import('../dist/kernel/cli.js');
const code = await main(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;
