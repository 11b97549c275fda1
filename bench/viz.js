// `npm run bench:viz`: the views' costs, each part in a fresh process (bench/viz-<part>.ts):
//   tensor  a 1000x1000 tensor's display bundle: milliseconds (median of several) and bytes
//   graph   laying out a 500-node autograd graph with Graphviz (WebAssembly)
//   live    10,000 live-plot updates inside a 1 ms training step: the share of the step they cost
//
//   node bench/viz.js [PART ...]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleRuntime } from './bundle.js';

const here = dirname(fileURLToPath(import.meta.url));
const parts = process.argv.slice(2).length ? process.argv.slice(2) : ['tensor', 'graph', 'live'];
let failed = false;
for (const part of parts) {
  const entry = join(here, `viz-${part}.ts`);
  if (!existsSync(entry)) {
    console.log(`${part}: no bench/viz-${part}.ts`);
    failed = true;
    continue;
  }
  const bundle = await bundleRuntime(entry, `gradbook-bench-viz-${part}`);
  console.log(`\n## ${part}`);
  const child = spawnSync(process.execPath, [bundle], { stdio: 'inherit', timeout: 600_000 });
  if (child.status !== 0) {
    console.log(`${part}: failed (${child.status ?? child.signal})`);
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;
