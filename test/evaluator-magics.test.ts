import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CellEvaluator, type ExecuteOutcome } from '../kernel/evaluator.js';
import { MagicRegistry, magicRegistry } from '../kernel/magics-registry.js';
import { splitCell } from '../kernel/segments.js';
import '../magics/index.js';
import { formatTime, formatTimeit } from '../magics/timing.js';
import { RecordingSink } from './evaluator-fake-sink.js';

let evaluator: CellEvaluator;
let count = 0;

async function run(code: string): Promise<{ outcome: ExecuteOutcome; sink: RecordingSink }> {
  const sink = new RecordingSink();
  return { outcome: await evaluator.execute(code, sink, { executionCount: ++count }), sink };
}

beforeAll(() => {
  evaluator = new CellEvaluator();
});

describe('cell splitting', () => {
  it('splits line magics from code and keeps code on its own line numbers', () => {
    expect(splitCell('const a = 1\n%who\na')).toEqual([
      { kind: 'code', code: 'const a = 1' },
      { kind: 'line', name: 'who', args: '', body: '' },
      { kind: 'code', code: '\n\na' },
    ]);
  });

  it('reads a cell magic with its body', () => {
    expect(splitCell('%%writefile x.txt\nline 1\nline 2')).toEqual([
      { kind: 'cell', name: 'writefile', args: 'x.txt', body: 'line 1\nline 2' },
    ]);
  });

  it('reads x?, ?x and x?? as inspection', () => {
    expect(splitCell('Math.max?')).toEqual([{ kind: 'inspect', expression: 'Math.max', detail: 0 }]);
    expect(splitCell('?foo')).toEqual([{ kind: 'inspect', expression: 'foo', detail: 0 }]);
    expect(splitCell('foo??')).toEqual([{ kind: 'inspect', expression: 'foo', detail: 1 }]);
    expect(splitCell('a ? b : c')[0]?.kind).toBe('code');
  });
});

describe('magics', () => {
  it('names the known magics when a magic is unknown', async () => {
    const { outcome } = await run('%nosuch');
    expect(outcome).toMatchObject({ status: 'error', ename: 'UsageError' });
    if (outcome.status === 'error') {
      expect(outcome.evalue).toContain('unknown magic %nosuch');
      expect(outcome.evalue).toContain('%timeit');
      expect(outcome.evalue).toContain('%%writefile');
    }
  });

  it('%lsmagic lists every registered magic', async () => {
    const text = (await run('%lsmagic')).sink.text();
    for (const name of magicRegistry.names()) expect(text).toContain(name);
  });

  it('%timeit prints IPython-style mean ± std. dev. with an auto-ranged loop count', async () => {
    const text = (await run('%timeit -r 3 Math.sqrt(2)')).sink.text();
    expect(text).toMatch(
      /^\d+(\.\d+)? (ns|µs|ms|s) ± \d+(\.\d+)? (ns|µs|ms|s) per loop \(mean ± std\. dev\. of 3 runs, [\d,]+ loops each\)\n$/,
    );
  });

  it('%time and %%time print CPU and wall time and keep the value', async () => {
    const line = await run('%time 6 * 7');
    expect(line.sink.text()).toMatch(/CPU times: user .*, sys: .*, total: .*\nWall time: /);
    expect(line.outcome).toMatchObject({ status: 'ok', result: { 'text/plain': '42' } });
    const cell = await run('%%time\nconst timedValue = 5;\ntimedValue + 1');
    expect(cell.outcome).toMatchObject({ status: 'ok', result: { 'text/plain': '6' } });
  });

  it('%who and %whos list declared variables', async () => {
    await run('const whoA = 1; const whoB = "text"');
    expect((await run('%who')).sink.text()).toMatch(/whoA\twhoB/);
    const whos = (await run('%whos')).sink.text();
    expect(whos).toMatch(/whoA\s+number\s+1/);
    expect(whos).toMatch(/whoB\s+string\s+'text'/);
  });

  it('%env sets and reads environment variables', async () => {
    await run('%env GRADBOOK_TEST_VAR=hello');
    expect(process.env.GRADBOOK_TEST_VAR).toBe('hello');
    expect((await run('%env GRADBOOK_TEST_VAR')).outcome).toMatchObject({
      result: { 'text/plain': "'hello'" },
    });
  });

  it('%%writefile, %cd and %load work together', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradbook-magic-'));
    const before = process.cwd();
    try {
      await run(`%cd ${dir}`);
      expect(process.cwd()).toBe(dir);
      await run('%%writefile snippet.ts\nconst loaded: number = 40;\nloaded + 2');
      expect(readFileSync(join(dir, 'snippet.ts'), 'utf8')).toBe('const loaded: number = 40;\nloaded + 2\n');
      expect((await run('%load snippet.ts')).outcome).toMatchObject({ result: { 'text/plain': '42' } });
    } finally {
      process.chdir(before);
    }
  });

  it('%typecheck on reports type errors before running the cell', async () => {
    await run('%typecheck on');
    try {
      await run('const typed: number = 1');
      const { outcome } = await run('globalThis.sideEffect = 1;\nconst bad: string = typed');
      expect(outcome).toMatchObject({ status: 'error', ename: 'TypeError' });
      if (outcome.status === 'error') expect(outcome.evalue).toMatch(/2:7 - error TS2322/);
      expect((globalThis as Record<string, unknown>).sideEffect).toBeUndefined();
      expect((await run('const typed = "re-declared is fine"; typed')).outcome.status).toBe('ok');
    } finally {
      await run('%typecheck off');
    }
  }, 30_000);

  it('a new registry entry is picked up without touching the kernel', async () => {
    magicRegistry.register({
      name: 'shout',
      kind: 'line',
      help: 'upper-cases its argument',
      run: ({ args }) => args.toUpperCase(),
    });
    expect((await run('%shout hey')).outcome).toMatchObject({ result: { 'text/plain': "'HEY'" } });
    expect(new MagicRegistry().names()).toEqual([]);
  });
});

describe('time formatting', () => {
  it('formats like IPython with three significant digits', () => {
    expect(formatTime(0.000_012_34)).toBe('12.3 µs');
    expect(formatTime(0.000_000_056_7)).toBe('56.7 ns');
    expect(formatTime(1.5)).toBe('1.5 s');
    expect(formatTime(0.25)).toBe('250 ms');
    expect(formatTime(125)).toBe('2min 5s');
    expect(formatTimeit({ perLoop: [1e-6, 1e-6], loops: 100000 })).toBe(
      '1 µs ± 0 ns per loop (mean ± std. dev. of 2 runs, 100,000 loops each)',
    );
  });
});
