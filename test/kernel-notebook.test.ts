// notebooks/ run end to end by `jupyter nbconvert --execute`, as CI and a person would run them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, buildKernel, ROOT } from './kernel-harness.js';

interface Output {
  output_type: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
}

const join2 = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join('') : (t ?? ''));
let outputs: Output[][];

beforeAll(() => {
  buildKernel();
  const prefix = mkdtempSync(join(tmpdir(), 'gradbook-nbconvert-'));
  execFileSync('node', [BIN, 'install', '--prefix', prefix]);
  const out = join(prefix, 'tour.ipynb');
  execFileSync(
    'jupyter',
    [
      'nbconvert',
      '--execute',
      '--to',
      'notebook',
      '--ExecutePreprocessor.timeout=60',
      '--output',
      out,
      join(ROOT, 'notebooks', 'kernel-tour.ipynb'),
    ],
    { env: { ...process.env, JUPYTER_PATH: join(prefix, 'share', 'jupyter') }, stdio: 'pipe', cwd: prefix },
  );
  const nb = JSON.parse(readFileSync(out, 'utf8')) as { cells: { cell_type: string; outputs?: Output[] }[] };
  outputs = nb.cells.filter((c) => c.cell_type === 'code').map((c) => c.outputs ?? []);
}, 120_000);

describe('notebooks/kernel-tour.ipynb under nbconvert', () => {
  it('prints, imports built-ins and returns values', () => {
    expect(join2(outputs[0]![0]!.text)).toBe('hello notebook.ipynb\n');
    expect(join2(outputs[1]![0]!.data!['text/plain'])).toBe('5');
    expect(join2(outputs[2]![0]!.data!['text/plain'])).toBe("'HELLO AGAIN'");
  });

  it('renders Symbol.for("Jupyter.display") bundles and updated displays', () => {
    expect(join2(outputs[3]![0]!.data!['text/html'])).toContain('<table>');
    expect(join2(outputs[3]![0]!.data!['text/plain'])).toBe('Table(2 rows)');
    expect(join2(outputs[4]![0]!.data!['text/plain'])).toBe("'100%'");
  });

  it('runs magics', () => {
    expect(join2(outputs[5]![0]!.text)).toMatch(/per loop \(mean ± std\. dev\. of 3 runs, 100 loops each\)/);
    expect(join2(outputs[6]![0]!.text)).toContain('greeting');
  });

  it('records an error and keeps running later cells', () => {
    expect(outputs[7]![0]).toMatchObject({ output_type: 'error', ename: 'TypeError' });
    expect(join2(outputs[8]![0]!.data!['text/plain'])).toBe("'still running after the error'");
  });
});
