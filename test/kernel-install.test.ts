import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, buildKernel } from './kernel-harness.js';

function gradbook(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

beforeAll(() => {
  buildKernel();
});

describe('gradbook CLI', () => {
  it('install --prefix writes a kernelspec that launches this checkout', () => {
    const prefix = mkdtempSync(join(tmpdir(), 'gradbook-prefix-'));
    const r = gradbook(['install', '--prefix', prefix]);
    expect(r.status).toBe(0);
    const spec = JSON.parse(
      readFileSync(join(prefix, 'share', 'jupyter', 'kernels', 'gradbook', 'kernel.json'), 'utf8'),
    );
    expect(spec).toEqual({
      argv: [process.execPath, BIN, 'kernel', '-f', '{connection_file}'],
      display_name: 'TypeScript (gradbook)',
      language: 'typescript',
      interrupt_mode: 'message',
      metadata: {},
    });
  });

  it("install --user writes into Jupyter's per-user data folder", () => {
    const data = mkdtempSync(join(tmpdir(), 'gradbook-data-'));
    expect(gradbook(['install', '--user'], { JUPYTER_DATA_DIR: data }).status).toBe(0);
    const spec = JSON.parse(readFileSync(join(data, 'kernels', 'gradbook', 'kernel.json'), 'utf8'));
    expect(spec.display_name).toBe('TypeScript (gradbook)');
  });

  it('explains its usage and rejects unknown commands', () => {
    expect(gradbook(['--help']).stdout).toContain('gradbook install');
    const bad = gradbook(['frobnicate']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown command frobnicate');
    expect(gradbook(['kernel']).status).toBe(2);
  });
});
