// Builds kernel/ and magics/ (and runtime/, for notebooks that import gradbook) into dist/ as
// `npm run build` lays them out, without type checking, so a half-written runtime/ cannot block the
// kernel's tests; and runs the Jupyter driver.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'gradbook.js');
export const PYTHON = '/usr/bin/python3';

export function buildKernel(): void {
  const entryPoints = ['kernel', 'magics'].flatMap((dir) =>
    readdirSync(join(ROOT, dir))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .map((f) => join(ROOT, dir, f)),
  );
  transpileToDist(entryPoints);
}

/**
 * Lays runtime/ out in dist/runtime/ as `npm run build` does (one .js per .ts), so that
 * `import * as gb from 'gradbook'` in a notebook resolves (package.json "exports" points at
 * dist/runtime/index.js). esbuild, not tsc: files others are editing may not type-check yet, and
 * the writes must be atomic, since other test files run kernels from dist/ meanwhile.
 */
export function buildRuntime(): string {
  const entryPoints = readdirSync(join(ROOT, 'runtime'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.split(sep).includes('node_modules'))
    .map((f) => join(ROOT, 'runtime', f));
  transpileToDist(entryPoints);
  const index = join(ROOT, 'dist', 'runtime', 'index.js');
  if (!existsSync(index)) throw new Error(`building the runtime left no ${index}`);
  return index;
}

function transpileToDist(entryPoints: string[]): void {
  const result = esbuild.buildSync({
    entryPoints,
    outdir: join(ROOT, 'dist'),
    outbase: ROOT,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'error',
    write: false,
  });
  // Test files build in parallel while other files' kernels are running from dist/: write only
  // what changed, each file by an atomic rename, so no kernel ever imports a half-written file.
  for (const file of result.outputFiles) {
    let same = false;
    try {
      same = readFileSync(file.path).equals(file.contents);
    } catch {
      // not built yet
    }
    if (same) continue;
    mkdirSync(dirname(file.path), { recursive: true });
    const tmp = `${file.path}.${process.pid}.tmp`;
    writeFileSync(tmp, file.contents);
    renameSync(tmp, file.path);
  }
}

/** Runs test/jupyter_driver.py with the given scenarios; returns its JSON answer per scenario. */
export function runDriver(scenarios: string[], timeoutMs = 120_000): Record<string, any> {
  const out = spawnSync(PYTHON, [join(ROOT, 'test', 'jupyter_driver.py'), BIN, ...scenarios], {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (out.status !== 0) throw new Error(`driver failed (${out.status}): ${out.stderr}\n${out.stdout}`);
  const last = out.stdout.trim().split('\n').pop()!;
  return JSON.parse(last) as Record<string, any>;
}

export function hasJupyterClient(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import jupyter_client, zmq'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
