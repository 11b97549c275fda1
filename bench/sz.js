// `npm run sz`: the line budget (tinygrad's sz.py). Lines of source per folder, code lines (not
// blank, not comment-only) beside all lines, the primitive op count from runtime/ops.ts, and the
// files over STYLE.md's ~600 lines.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const TOP = ['runtime', 'kernel', 'magics', 'bin', 'bench', 'test'];
const SOURCE = new Set(['.ts', '.js', '.mjs', '.cc', '.cpp', '.h', '.hpp', '.cu', '.cuh', '.py']);
const SKIP_DIRS = new Set(['node_modules', 'dist', 'build', '.git', '.cache']);
const FILE_LIMIT = 600;

function* files(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) yield* files(p);
    } else if (e.isFile() && SOURCE.has(extname(e.name)) && !e.name.endsWith('.d.ts')) {
      yield p;
    }
  }
}

/** All lines, and those that are neither blank nor only a comment. */
function count(path) {
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const py = path.endsWith('.py');
  let code = 0;
  let inBlock = false;
  for (const raw of lines) {
    const l = raw.trim();
    if (inBlock) {
      if (l.includes('*/')) inBlock = false;
      continue;
    }
    if (l === '') continue;
    if (py ? l.startsWith('#') : l.startsWith('//')) continue;
    if (!py && l.startsWith('/*')) {
      inBlock = !l.includes('*/');
      continue;
    }
    code++;
  }
  return { all: lines.length, code };
}

const byDir = new Map();
const big = [];
for (const top of TOP) {
  const dir = join(root, top);
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) continue;
  for (const f of files(dir)) {
    const c = count(f);
    const d = relative(root, dirname(f));
    const acc = byDir.get(d) ?? { files: 0, all: 0, code: 0 };
    acc.files++;
    acc.all += c.all;
    acc.code += c.code;
    byDir.set(d, acc);
    if (c.all > FILE_LIMIT) big.push([relative(root, f), c.all]);
  }
}

const row = (name, r) => console.log(`${name.padEnd(36)}${String(r.files).padStart(6)}${String(r.code).padStart(9)}${String(r.all).padStart(9)}`);
console.log(`${'folder'.padEnd(36)}${'files'.padStart(6)}${'code'.padStart(9)}${'lines'.padStart(9)}`);
for (const top of TOP) {
  const dirs = [...byDir.keys()].filter((d) => d === top || d.startsWith(`${top}/`)).sort();
  if (dirs.length === 0) continue;
  const total = { files: 0, all: 0, code: 0 };
  for (const d of dirs) {
    const r = byDir.get(d);
    for (const k of Object.keys(total)) total[k] += r[k];
    if (dirs.length > 1) row(`  ${d}`, r);
  }
  row(`${top} (total)`, total);
}

// the op list is read from ops.ts itself, compiled in memory, so it cannot drift from this count
const { outputFiles } = await build({
  entryPoints: [join(root, 'runtime', 'ops.ts')],
  bundle: true,
  format: 'esm',
  platform: 'node',
  write: false,
  logLevel: 'error',
});
const ops = await import(`data:text/javascript;base64,${Buffer.from(outputFiles[0].text).toString('base64')}`);
const groups = ['UNARY_OPS', 'BINARY_OPS', 'COMPARE_OPS', 'REDUCE_OPS', 'ARG_REDUCE_OPS', 'VIEW_OPS', 'DATA_OPS']
  .filter((g) => Array.isArray(ops[g]))
  .map((g) => `${g.replace(/_OPS$/, '').toLowerCase()} ${ops[g].length}`);
console.log('');
console.log(`primitive ops: ${ops.PRIMITIVE_OPS.length} (${groups.join(', ')})`);
if (big.length) {
  console.log(`files over ${FILE_LIMIT} lines: ${big.map(([f, n]) => `${f} (${n})`).join(', ')}`);
}
