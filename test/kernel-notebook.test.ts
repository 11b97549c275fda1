// notebooks/ run end to end by `jupyter nbconvert --execute`, as CI and a person would run them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, buildKernel, buildRuntime, ROOT } from './kernel-harness.js';

interface Output {
  output_type: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
}

const join2 = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join('') : (t ?? ''));
let outputs: Output[][];
let tensors: Output[][];

/** Runs notebooks/NAME with `jupyter nbconvert --execute`; returns each code cell's outputs. */
function execute(prefix: string, name: string): Output[][] {
  const out = join(prefix, name);
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
      join(ROOT, 'notebooks', name),
    ],
    { env: { ...process.env, JUPYTER_PATH: join(prefix, 'share', 'jupyter') }, stdio: 'pipe', cwd: prefix },
  );
  const nb = JSON.parse(readFileSync(out, 'utf8')) as { cells: { cell_type: string; outputs?: Output[] }[] };
  return nb.cells.filter((c) => c.cell_type === 'code').map((c) => c.outputs ?? []);
}

beforeAll(() => {
  buildKernel();
  // tensors.ipynb imports 'gradbook', which resolves to dist/runtime/index.js.
  buildRuntime();
  const prefix = mkdtempSync(join(tmpdir(), 'gradbook-nbconvert-'));
  execFileSync('node', [BIN, 'install', '--prefix', prefix]);
  outputs = execute(prefix, 'kernel-tour.ipynb');
  tensors = execute(prefix, 'tensors.ipynb');
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

describe('notebooks/tensors.ipynb under nbconvert', () => {
  it("imports 'gradbook' and shows a tensor as the cell's result, as PyTorch prints it", () => {
    expect(tensors[0]).toHaveLength(1);
    expect(tensors[0]![0]).toMatchObject({ output_type: 'execute_result' });
    expect(join2(tensors[0]![0]!.data!['text/plain'])).toBe('tensor([[1., 2.],\n        [3., 4.]])');
  });

  it('trains with awaits between steps, updating the displayed weights in place', () => {
    // nbconvert folds update_display_data into the display it updates: the final weights show.
    const shown = tensors[1]![0]!;
    expect(shown.output_type).toBe('display_data');
    expect(join2(shown.data!['text/plain'])).toMatch(/^tensor\(\[\[ 2\.0000, -1\.0000\]\], requires_grad=True\)$/);
    expect(join2(tensors[2]![0]!.data!['text/plain'])).toBe('true');
  });

  it('stops the loop at its next op with Interrupted and keeps every variable', () => {
    expect(tensors[3]).toHaveLength(1);
    expect(tensors[3]![0]).toMatchObject({ output_type: 'error', ename: 'Interrupted' });
    expect(join2(tensors[4]![0]!.data!['text/plain'])).toMatch(/^\{ step: 70, loss: 0(\.\d+)? \}$/);
    expect(join2(tensors[5]![0]!.data!['text/plain'])).toBe('tensor([0.5000], requires_grad=True)');
  });
});
