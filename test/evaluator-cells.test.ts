import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CellEvaluator, INTERRUPT_KEY, PAUSE_KEY, type ExecuteOutcome } from '../kernel/evaluator.js';
import { RecordingSink } from './evaluator-fake-sink.js';

let evaluator: CellEvaluator;
let count = 0;

async function run(
  code: string,
  sink = new RecordingSink(),
): Promise<{ outcome: ExecuteOutcome; sink: RecordingSink }> {
  const outcome = await evaluator.execute(code, sink, { executionCount: ++count });
  return { outcome, sink };
}

function resultText(outcome: ExecuteOutcome): unknown {
  return outcome.status === 'ok' ? outcome.result?.['text/plain'] : outcome;
}

beforeAll(() => {
  evaluator = new CellEvaluator();
});

describe('evaluator', () => {
  it('returns the value of the last expression', async () => {
    expect(resultText((await run('const a: number = 20;\na + 22')).outcome)).toBe('42');
  });

  it('shows no result when the cell ends in a declaration', async () => {
    expect((await run('const nothing = 1')).outcome).toEqual({ status: 'ok', result: undefined });
  });

  it('keeps declarations across cells and allows re-running const and class declarations', async () => {
    await run(
      'const kept = 1; class Box { v = 1 }; function f() { return 3 }; let { p, q: [r] } = { p: 4, q: [5] }',
    );
    expect(resultText((await run('kept + new Box().v + f() + p + r')).outcome)).toBe('14');
    expect((await run('const kept = 10; class Box { v = 20 }')).outcome.status).toBe('ok');
    expect(resultText((await run('kept + new Box().v')).outcome)).toBe('30');
  });

  it('supports top-level await', async () => {
    expect(resultText((await run('await new Promise((r) => setTimeout(() => r(7), 5))')).outcome)).toBe('7');
  });

  it('imports Node built-ins with static import syntax', async () => {
    await run("import { basename } from 'node:path';\nimport * as os from 'node:os';");
    expect(resultText((await run("basename('/a/b.txt') + typeof os.cpus")).outcome)).toBe("'b.txtfunction'");
  });

  it('imports CommonJS and ESM packages installed beside the notebook', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradbook-nb-'));
    mkdirSync(join(dir, 'node_modules', 'cjs-pkg'), { recursive: true });
    writeFileSync(
      join(dir, 'node_modules', 'cjs-pkg', 'package.json'),
      '{"name":"cjs-pkg","main":"main.js"}',
    );
    writeFileSync(join(dir, 'node_modules', 'cjs-pkg', 'main.js'), 'module.exports = { kind: "cjs" };');
    mkdirSync(join(dir, 'node_modules', 'esm-pkg'), { recursive: true });
    writeFileSync(
      join(dir, 'node_modules', 'esm-pkg', 'package.json'),
      '{"name":"esm-pkg","type":"module","exports":{".":{"import":"./index.js"}}}',
    );
    writeFileSync(join(dir, 'node_modules', 'esm-pkg', 'index.js'), 'export const kind = "esm";');
    const before = process.cwd();
    process.chdir(dir);
    try {
      await run("import cjs from 'cjs-pkg';\nimport { kind } from 'esm-pkg';");
      expect(resultText((await run('cjs.kind + kind')).outcome)).toBe("'cjsesm'");
      expect(resultText((await run("(await import('esm-pkg')).kind")).outcome)).toBe("'esm'");
    } finally {
      process.chdir(before);
    }
  });

  it('sends console output to the sink of the cell that wrote it', async () => {
    const { sink } = await run("console.log('out', 1); console.error('err'); process.stdout.write('raw\\n')");
    expect(sink.text('stdout')).toBe('out 1\nraw\n');
    expect(sink.text('stderr')).toBe('err\n');
  });

  it('sends output from a timer to the cell that scheduled it, after that cell finished', async () => {
    const first = await run("setTimeout(() => console.log('late'), 30)");
    const second = await run('await new Promise((r) => setTimeout(r, 80)); 1');
    expect(first.sink.text()).toContain('late');
    expect(second.sink.text()).toBe('');
  });

  it("reports an error's name, message and the cell's own line numbers", async () => {
    const { outcome } = await run(
      'const ok: number = 1;\n\nfunction boom(): never {\n  throw new RangeError("too far");\n}\nboom()',
    );
    expect(outcome.status).toBe('error');
    if (outcome.status !== 'error') return;
    expect(outcome.ename).toBe('RangeError');
    expect(outcome.evalue).toBe('too far');
    expect(outcome.traceback[0]).toBe('RangeError: too far');
    expect(outcome.traceback.join('\n')).toMatch(/at boom \(cell\d+\.ts:4:9\)/);
    expect(outcome.traceback.join('\n')).toMatch(/cell\d+\.ts:6:1/);
  });

  it('reports a syntax error with its position', async () => {
    const { outcome } = await run('const = 1');
    expect(outcome).toMatchObject({ status: 'error', ename: 'SyntaxError' });
  });

  it('renders objects that answer Symbol.for("Jupyter.display"), keeping text/plain', async () => {
    const { outcome } = await run(
      "({ [Symbol.for('Jupyter.display')]() { return { 'text/html': '<i>x</i>' } } })",
    );
    expect(outcome.status === 'ok' && outcome.result).toMatchObject({
      'text/html': '<i>x</i>',
      'text/plain': expect.any(String),
    });
  });

  it('display() returns a handle whose update() targets the same display id', async () => {
    const { sink } = await run(
      "const hd = display(1, { displayId: 'abc' }); hd.update(2); clearOutput({ wait: true })",
    );
    expect(sink.events).toEqual([
      { kind: 'display', bundle: { 'text/plain': '1' }, options: { displayId: 'abc' } },
      { kind: 'display', bundle: { 'text/plain': '2' }, options: { displayId: 'abc', update: true } },
      { kind: 'clear', wait: true },
    ]);
  });

  it('flushes stream text before a display so order is kept', async () => {
    const { sink } = await run("console.log('before'); display('shown'); console.log('after')");
    expect(sink.events.map((e) => e.kind)).toEqual(['stream', 'display', 'stream']);
  });

  it('reads input and passwords through the sink', async () => {
    const sink = new RecordingSink();
    sink.answers = ['Ada', 'pw'];
    const { outcome } = await run("(await input('name? ')) + '/' + (await password('pw? '))", sink);
    expect(resultText(outcome)).toBe("'Ada/pw'");
    expect(sink.events).toEqual([
      { kind: 'input', prompt: 'name? ', password: false },
      { kind: 'input', prompt: 'pw? ', password: true },
    ]);
  });

  it('publishes a blocking pause(prompt) for code that cannot await', async () => {
    const sink = new RecordingSink();
    sink.answers = ['step'];
    const { outcome } = await run("globalThis[Symbol.for('gradbook.pause')]('dbg> ')", sink);
    expect(resultText(outcome)).toBe("'step'");
    expect(typeof (globalThis as Record<symbol, unknown>)[PAUSE_KEY]).toBe('function');
  });

  it('interrupt() stops a cell that is awaiting and keeps earlier variables', async () => {
    await run('const survives = 99');
    const pending = run('while (true) { await new Promise((r) => setTimeout(r, 5)) }');
    await new Promise((r) => setTimeout(r, 50));
    expect(evaluator.interrupt()).toBe(true);
    const { outcome } = await pending;
    expect(outcome).toMatchObject({ status: 'error', ename: 'Interrupted' });
    expect(resultText((await run('survives')).outcome)).toBe('99');
  });

  it('raises the shared interrupt flag on interrupt and clears it when a cell starts', async () => {
    const flag = (globalThis as Record<symbol, unknown>)[INTERRUPT_KEY] as Int32Array;
    expect(flag).toBeInstanceOf(Int32Array);
    expect(flag.buffer).toBeInstanceOf(SharedArrayBuffer);
    evaluator.interrupt();
    expect(Atomics.load(flag, 0)).toBe(1);
    expect(resultText((await run("globalThis[Symbol.for('gradbook.interrupt')][0]")).outcome)).toBe('0');
  });

  it('evaluates user expressions without output', async () => {
    await run('const ue = 5');
    expect(await evaluator.evaluateExpression('ue * 2')).toEqual({
      status: 'ok',
      result: { 'text/plain': '10' },
    });
  });

  it('tells complete, incomplete and invalid code apart', () => {
    expect(evaluator.isComplete('const x = 1').status).toBe('complete');
    expect(evaluator.isComplete('function f() {')).toEqual({ status: 'incomplete', indent: '  ' });
    expect(evaluator.isComplete('const s = `abc').status).toBe('incomplete');
    expect(evaluator.isComplete('const = ;').status).toBe('invalid');
    expect(evaluator.isComplete('%%writefile a.txt\nhello').status).toBe('incomplete');
    expect(evaluator.isComplete('%%writefile a.txt\nhello\n').status).toBe('complete');
  });

  it('completes members with their types from every cell run so far', async () => {
    await run('const m = new Map<string, number>()');
    const c = await evaluator.complete('m.se', 4);
    expect(c.matches).toEqual(['set']);
    expect([c.cursorStart, c.cursorEnd]).toEqual([2, 4]);
    expect(c.types[0]?.signature).toBe('set: (key: string, value: number) => Map<string, number>');
  }, 30_000);

  it('inspects a name with its signature and doc comment', async () => {
    await run('/** Adds one. */\nfunction inc(n: number) { return n + 1 }');
    const found = await evaluator.inspect('inc', 3, 0);
    expect(found.found).toBe(true);
    expect(found.data['text/plain']).toContain('function inc(n: number): number');
    expect(found.data['text/plain']).toContain('Adds one.');
  }, 30_000);
});
