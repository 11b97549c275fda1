// Builds kernel/ and magics/ into dist/ (as `npm run build` lays them out, without type checking,
// so a half-written runtime/ cannot block the kernel's tests) and runs the Jupyter driver.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
