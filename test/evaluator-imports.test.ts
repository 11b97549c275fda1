// Relative imports of TypeScript files beside a notebook (Note [TypeScript beside a notebook]).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CellEvaluator, type ExecuteOutcome } from '../kernel/evaluator.js';
import { typeScriptFile } from '../kernel/resolve.js';
import '../magics/index.js';
import { RecordingSink } from './evaluator-fake-sink.js';

let evaluator: CellEvaluator;
let count = 0;
let dir: string;
const before = process.cwd();

async function run(code: string): Promise<ExecuteOutcome> {
  return evaluator.execute(code, new RecordingSink(), { executionCount: ++count });
}

function resultText(outcome: ExecuteOutcome): unknown {
  return outcome.status === 'ok' ? outcome.result?.['text/plain'] : outcome;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gradbook-nb-ts-'));
  // helpers.ts imports another local .ts file (with the .js spelling), a built-in and a package
  // installed beside the notebook.
  writeFileSync(
    join(dir, 'helpers.ts'),
    [
      "import { basename } from 'node:path';",
      "import { scale } from './lib/scale.js';",
      "import { kind } from 'local-pkg';",
      'export interface Point { x: number; y: number }',
      'export const VERSION: string = "v1";',
      'export function f(n: number): number { return scale(n) + 1 }',
      'export const where = (p: string): string => `${basename(p)} ${kind}`;',
      'export enum Colour { Red = 1, Green }',
    ].join('\n'),
  );
  mkdirSync(join(dir, 'lib'));
  writeFileSync(join(dir, 'lib', 'scale.ts'), 'export const scale = (n: number): number => n * 10;\n');
  mkdirSync(join(dir, 'node_modules', 'local-pkg'), { recursive: true });
  writeFileSync(
    join(dir, 'node_modules', 'local-pkg', 'package.json'),
    JSON.stringify({ name: 'local-pkg', type: 'module', exports: './index.js' }),
  );
  writeFileSync(join(dir, 'node_modules', 'local-pkg', 'index.js'), 'export const kind = "from local-pkg";');
  process.chdir(dir);
  evaluator = new CellEvaluator();
});

afterAll(() => process.chdir(before));

describe('relative imports of TypeScript files', () => {
  it('finds the .ts file meant by ./f.ts, ./f.js and ./f', () => {
    expect(typeScriptFile(join(dir, 'helpers.ts'))).toBe(join(dir, 'helpers.ts'));
    expect(typeScriptFile(join(dir, 'helpers.js'))).toBe(join(dir, 'helpers.ts'));
    expect(typeScriptFile(join(dir, 'helpers'))).toBe(join(dir, 'helpers.ts'));
    expect(typeScriptFile(join(dir, 'node_modules', 'local-pkg', 'index.js'))).toBeUndefined();
    expect(typeScriptFile(join(dir, 'missing.ts'))).toBeUndefined();
  });

  it("imports ./helpers.ts, transpiled on the fly with its own imports (local .ts, built-in, package)", async () => {
    expect(resultText(await run("import { f, where, Colour } from './helpers.ts'\nf(2)"))).toBe('21');
    expect(resultText(await run("where('/a/b/c.txt')"))).toBe("'c.txt from local-pkg'");
    expect(resultText(await run('Colour.Green'))).toBe('2');
  });

  it("resolves './helpers.js' to helpers.ts, giving the same module instance while unchanged", async () => {
    await run("import * as a from './helpers.ts'");
    expect(resultText(await run("import * as b from './helpers.js'\na === b"))).toBe('true');
    expect(resultText(await run("import { VERSION as extensionless } from './helpers'\nextensionless"))).toBe("'v1'");
  });

  it('loads an edited helper afresh on the next import', async () => {
    writeFileSync(join(dir, 'lib', 'scale.ts'), 'export const scale = (n: number): number => n * 100;\n');
    expect(resultText(await run("import { f as f2 } from './helpers.ts'\nf2(2)"))).toBe('201');
  });

  it('reports a type error in a helper nowhere but a syntax error clearly', async () => {
    writeFileSync(join(dir, 'broken.ts'), 'export const x: number = ;\n');
    const outcome = await run("import { x } from './broken.ts'");
    expect(outcome.status).toBe('error');
    if (outcome.status === 'error') expect(outcome.evalue).toMatch(/broken\.ts/);
  });

  it('type-checks a cell that imports ./helpers.ts under %typecheck on', async () => {
    expect(await run('%typecheck on')).toEqual({ status: 'ok', result: undefined });
    try {
      expect(resultText(await run("import { f as checked } from './helpers.ts'\nchecked(1)"))).toBe('101');
      const bad = await run("import { f as g2 } from './helpers.ts'\nconst s: string = g2(1)");
      expect(bad).toMatchObject({ status: 'error', ename: 'TypeError' });
      if (bad.status === 'error') expect(bad.evalue).toMatch(/TS2322/);
    } finally {
      await run('%typecheck off');
    }
  }, 30_000);
});
