// A cell's value is its completion value (Note [completion value] in kernel/transform.ts), checked
// against the engines users compare with: Node's own `repl` module for cells without top-level
// await, and V8's REPL mode (what Deno's kernel evaluates with, through the inspector protocol) for
// cells with it. Node's REPL rewrites an awaiting cell into a function and loses the value of
// anything but a trailing expression, so it is no oracle for those.
import inspector from 'node:inspector';
import repl from 'node:repl';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toMimeBundle } from '../kernel/display.js';
import { CellEvaluator } from '../kernel/evaluator.js';
import { RecordingSink } from './evaluator-fake-sink.js';

/** Cells without await; names are unique because both engines keep what a cell declares. */
const PLAIN = [
  'try { null.x } catch (e) { e.message }',
  'if (true) { 1 } else { 2 }',
  'if (false) { 1 } else { 2 }',
  '1; if (false) { 2 }',
  'if (true) { }',
  '{ 3; 4 }',
  '{ let blockScoped = 4; blockScoped * 2 }',
  'for (let i = 0; i < 3; i++) { i * 10 }',
  'for (let i = 0; i < 3; i++) { if (i === 2) continue; i }',
  "for (const k of ['a', 'b']) k.toUpperCase()",
  'for (const key in { p: 1, q: 2 }) key',
  'if (true) for (const v of [1, 2]) v * 2',
  'lbl: { 5; break lbl; }',
  'outer: for (const i of [1, 2]) { for (const j of [10, 20]) { if (j === 20) continue outer; i + j } }',
  'const cvConst = 1',
  'let cvLet = 2; cvLet',
  '1; var cvVar = 3',
  'function cvFunction() { return 1 }',
  'class CvClass {}',
  'cvAssigned = 5',
  'try { 1 } finally { 2 }',
  "try { 1; throw new Error('x') } catch { }",
  "try { throw 1 } catch (e) { e } finally { 'f' }",
  "switch (2) { case 1: 'one'; break; case 2: 'two'; break; default: 'other' }",
  "switch (3) { case 1: 'a' }",
  'do { 8 } while (false)',
  '5; while (false) {}',
  'let cvCount = 0; while (cvCount < 3) cvCount++',
  '[1, 2].map((v) => { v * 2 })',
  '{ a: 1 }',
  '6 // a trailing comment',
  "'a' + 'b'",
];

/** Cells with top-level await, in the positions a notebook puts it. */
const AWAITING = [
  'await 1; if (true) { 5 }',
  'await 1; try { null.x } catch (e) { e.message }',
  "try { await Promise.reject(new Error('no')) } catch (e) { e.message }",
  'await 1; for (let i = 0; i < 3; i++) { i }',
  'const cvAwaited = await Promise.resolve(3); { cvAwaited * 2 }',
  'for (const v of [1, 2]) { await null; v + 100 }',
  "lbl2: { await 0; 'kept'; break lbl2; }",
  'await 0; 1; if (false) { 2 }',
  "switch (await Promise.resolve(1)) { case 1: 'one' }",
  'await 7',
  'const cvAwaitedOnly = await 4',
  "try { await 1 } finally { 'ignored' }",
];

let evaluator: CellEvaluator;
let count = 0;
let nodeRepl: repl.REPLServer;
let session: inspector.Session;

beforeAll(() => {
  evaluator = new CellEvaluator({ languageWorker: false });
  nodeRepl = repl.start({ input: new PassThrough(), output: new PassThrough(), prompt: '', terminal: false });
  session = new inspector.Session();
  session.connect();
});

afterAll(() => {
  nodeRepl.close();
  session.disconnect();
});

async function ours(code: string): Promise<string | undefined> {
  const outcome = await evaluator.execute(code, new RecordingSink(), { executionCount: ++count });
  if (outcome.status !== 'ok') throw new Error(`${code}: ${outcome.evalue}`);
  return outcome.result?.['text/plain'] as string | undefined;
}

/** What a kernel shows for a value: nothing for undefined, else its text/plain. */
function shown(value: unknown): string | undefined {
  return value === undefined ? undefined : (toMimeBundle(value)['text/plain'] as string);
}

function nodeReplValue(code: string): Promise<unknown> {
  return new Promise((resolve, reject) =>
    nodeRepl.eval(code, nodeRepl.context, 'repl', (err, value) => (err ? reject(err) : resolve(value))),
  );
}

function replModeValue(code: string): Promise<unknown> {
  return new Promise((resolve, reject) =>
    session.post(
      'Runtime.evaluate',
      { expression: code, replMode: true, awaitPromise: true, returnByValue: true },
      (err, reply) => {
        const r = reply as inspector.Runtime.EvaluateReturnType | undefined;
        if (err || !r) return reject(err);
        if (r.exceptionDetails) return reject(new Error(`${code}: ${r.exceptionDetails.text}`));
        resolve(r.result.value);
      },
    ),
  );
}

describe("a cell's value follows JavaScript's completion-value rules", () => {
  it('has at least 20 cell shapes each way', () => {
    expect(PLAIN.length + AWAITING.length).toBeGreaterThanOrEqual(40);
  });

  it.each(PLAIN)('shows what Node’s REPL shows for %s', async (code) => {
    expect(await ours(code)).toEqual(shown(await nodeReplValue(code)));
  });

  it.each(AWAITING)('shows what V8’s REPL mode shows for %s', async (code) => {
    // Both run in this one global scope: the cell's declarations take other names than V8's.
    expect(await ours(code.replaceAll('cvAwaited', 'oursAwaited'))).toEqual(shown(await replModeValue(code)));
  });

  it('reads a cell that starts with { as an object literal, even with a trailing comment', async () => {
    expect(await ours('{ a: 1, b: [2] } // an object, as the REPL reads it')).toBe('{ a: 1, b: [ 2 ] }');
    expect(await ours('{ cvShorthand: 1 }\n{ 2 }')).toBe('2');
  });

  it('keeps values esbuild would fold away as having no effect', async () => {
    expect(await ours('-1')).toBe('-1');
    expect(await ours('!0')).toBe('true');
    expect(await ours("if (true) { 'a' + 'b' }")).toBe("'ab'");
  });

  it('agrees with Node’s REPL on the awaiting cells once their awaits are taken out', async () => {
    for (const code of AWAITING) {
      const plain = code.replaceAll('await ', '').replaceAll(/Promise\.resolve\(([^)]*)\)/g, '$1');
      if (plain.includes('Promise.reject')) continue;
      const renamed = plain.replaceAll('cvAwaited', 'cvUnawaited');
      expect(await ours(renamed), renamed).toEqual(shown(await nodeReplValue(renamed)));
    }
  });

  it("reports an error thrown inside a rewritten block at the cell's own line and column", async () => {
    const outcome = await evaluator.execute('if (true) {\n  null.boom }', new RecordingSink(), {
      executionCount: ++count,
    });
    expect(outcome).toMatchObject({ status: 'error', ename: 'TypeError' });
    if (outcome.status === 'error') expect(outcome.traceback.join('\n')).toMatch(/cell\d+\.ts:2:8/);
  });
});
