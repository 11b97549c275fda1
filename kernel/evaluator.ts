// The one evaluator behind both the Jupyter kernel and the terminal REPL. It knows nothing of
// sockets or terminals: output goes to the OutputSink each call is given.
import { randomUUID } from 'node:crypto';
import vm from 'node:vm';
import type * as TS from 'typescript';
import { CellContext, currentCell, installCellIo, runInCell, type OutputSink } from './cell-io.js';
import { toMimeBundle } from './display.js';
import { CellMaps, reportError, type ErrorReport } from './errors.js';
import { isComplete } from './is-complete.js';
import { log } from './log.js';
import { LanguageServiceClient } from './language-client.js';
import type { Completion, Inspection } from './language-service.js';
import { magicRegistry, UnknownMagicError, type MagicHost, type MagicRegistry } from './magics-registry.js';
import type { IsCompleteReply, MimeBundle } from './protocol.js';
import { importFrom } from './resolve.js';
import { splitCell, type Segment } from './segments.js';
import { compileCell, HOST, type CompiledCell } from './transform.js';

export type ExecuteOutcome = { status: 'ok'; result?: MimeBundle } | ({ status: 'error' } & ErrorReport);

export interface Evaluator {
  execute(code: string, sink: OutputSink, options: { executionCount: number }): Promise<ExecuteOutcome>;
  /** For user_expressions: evaluates without showing output. */
  evaluateExpression(code: string): Promise<ExecuteOutcome>;
  /** Resolves once cells can be compiled (TypeScript's parser takes ~0.5 s to load). */
  ready(): Promise<void>;
  /** Abandons the running cell (it rejects with Interrupted); false when nothing runs. */
  interrupt(): boolean;
  readonly running: boolean;
  complete(code: string, cursor: number): Promise<Completion>;
  inspect(code: string, cursor: number, detail: 0 | 1): Promise<Inspection>;
  isComplete(code: string): IsCompleteReply;
  /** Starts loading the language service in the background (see Note [language thread]). */
  warmLanguageService?(): void;
}

export class Interrupted extends Error {
  override name = 'Interrupted';
  constructor() {
    super('the cell was interrupted');
  }
}

class TypeCheckError extends Error {
  override name = 'TypeError';
}

export const INTERRUPT_KEY = Symbol.for('gradbook.interrupt');
export const PAUSE_KEY = Symbol.for('gradbook.pause');
export const FRONTEND_KEY = Symbol.for('gradbook.frontend');

export interface EvaluatorOptions {
  magics?: MagicRegistry;
  /** Shared with the I/O worker, which raises it on interrupt_request (see DESIGN.md). */
  interruptFlag?: Int32Array;
  /** ANSI colours in results' text/plain (the REPL on a colour terminal). */
  colors?: boolean;
  /** Language service on its own thread (default: when the compiled worker file exists). */
  languageWorker?: boolean;
  /** Where output lands, for views that update in place (runtime/viz, Note [front end]). */
  frontend?: 'notebook' | 'terminal';
}

export class CellEvaluator implements Evaluator {
  readonly #maps = new CellMaps();
  readonly #magics: MagicRegistry;
  readonly #interruptFlag: Int32Array;
  readonly #declared = new Set<string>();
  readonly #compileCache = new Map<string, CompiledCell>();
  readonly #language: LanguageServiceClient;
  #ts: Promise<typeof TS> | undefined;
  #scripts = 0;
  #lastCell: CellContext | undefined;
  #running: { cell: CellContext; reject: (e: Error) => void } | undefined;
  readonly typecheck = { enabled: false };
  readonly #colors: boolean;
  readonly #frontend: 'notebook' | 'terminal';

  constructor(options: EvaluatorOptions = {}) {
    this.#colors = options.colors ?? false;
    this.#frontend = options.frontend ?? 'notebook';
    this.#language = new LanguageServiceClient({ worker: options.languageWorker });
    this.#magics = options.magics ?? magicRegistry;
    this.#interruptFlag = options.interruptFlag ?? new Int32Array(new SharedArrayBuffer(4));
    installCellIo({ running: () => this.#running?.cell, last: () => this.#lastCell });
    this.#installGlobals();
    // A throw in a timer or a forgotten rejection is the cell's problem, not the kernel's: report
    // it where that cell's output goes and carry on.
    process.on('uncaughtException', (err) => this.#reportUncaught(err));
    process.on('unhandledRejection', (reason) => this.#reportUncaught(reason));
  }

  #reportUncaught(err: unknown): void {
    const report = reportError(err, this.#maps);
    const text = `Uncaught ${report.traceback.join('\n')}\n`;
    const cell = currentCell();
    if (cell) cell.write('stderr', text);
    else log(text);
  }

  get running(): boolean {
    return this.#running !== undefined;
  }

  /** Starts loading TypeScript (the parser the cell rewrite needs) without waiting for it. */
  warmUp(): void {
    void this.#typescript();
  }

  async ready(): Promise<void> {
    await this.#typescript();
  }

  async execute(
    code: string,
    sink: OutputSink,
    options: { executionCount: number },
  ): Promise<ExecuteOutcome> {
    const cell = new CellContext(options.executionCount, sink);
    this.#lastCell = cell;
    // The runtime resets it when it throws Interrupted; a stale 1 from an interrupt that landed
    // between cells must not stop the next cell's first op.
    Atomics.store(this.#interruptFlag, 0, 0);
    // interrupt() rejects this, abandoning whatever the cell awaits (code, a magic, input).
    const stopped = new Promise<never>((_, reject) => {
      this.#running = { cell, reject };
    });
    stopped.catch(() => undefined);
    try {
      let value: unknown;
      let show = false;
      for (const segment of splitCell(code)) {
        ({ value, show } = await Promise.race([this.#runSegment(segment, cell), stopped]));
      }
      cell.flush();
      return {
        status: 'ok',
        result: show && value !== undefined ? toMimeBundle(value, this.#colors) : undefined,
      };
    } catch (err) {
      cell.flush();
      return { status: 'error', ...reportError(err, this.#maps) };
    } finally {
      // Only if still ours: after an interrupt the kernel may have started the next cell already.
      if (this.#running?.cell === cell) this.#running = undefined;
    }
  }

  async evaluateExpression(code: string): Promise<ExecuteOutcome> {
    try {
      const { value } = await this.#runCode(code, undefined);
      return { status: 'ok', result: toMimeBundle(value) };
    } catch (err) {
      return { status: 'error', ...reportError(err, this.#maps) };
    }
  }

  interrupt(): boolean {
    Atomics.store(this.#interruptFlag, 0, 1);
    const running = this.#running;
    if (!running) return false;
    running.cell.cancelTimers();
    running.reject(new Interrupted());
    return true;
  }

  complete(code: string, cursor: number): Promise<Completion> {
    return this.#language.request('complete', code, cursor);
  }

  inspect(code: string, cursor: number, detail: 0 | 1): Promise<Inspection> {
    return this.#language.request('inspect', code, cursor, detail);
  }

  warmLanguageService(): void {
    this.#language.start();
  }

  isComplete(code: string): IsCompleteReply {
    return isComplete(code);
  }

  /** Top-level names cells declared, with current values (for %who and %whos). */
  variables(): [string, unknown][] {
    const g = globalThis as Record<string, unknown>;
    return [...this.#declared].sort().map((n) => [n, g[n]]);
  }

  async #runSegment(segment: Segment, cell: CellContext): Promise<{ value: unknown; show: boolean }> {
    switch (segment.kind) {
      case 'code': {
        if (this.typecheck.enabled) await this.#check(segment.code);
        const { value, hasResult } = await this.#runCode(segment.code, cell);
        this.#language.addCell(segment.code);
        return { value, show: hasResult };
      }
      case 'inspect': {
        const found = await this.inspect(segment.expression, segment.expression.length, segment.detail);
        cell.flush();
        cell.sink.display(
          found.found ? found.data : { 'text/plain': `no information about ${segment.expression}` },
          {},
        );
        return { value: undefined, show: false };
      }
      case 'line':
      case 'cell': {
        const magic = this.#magics.get(segment.kind, segment.name);
        if (!magic) {
          const known = this.#magics.names().join(' ');
          const sigil = segment.kind === 'line' ? '%' : '%%';
          throw new UnknownMagicError(`unknown magic ${sigil}${segment.name}; known magics: ${known}`);
        }
        const value = await runInCell(cell, () =>
          magic.run({ args: segment.args, body: segment.body, host: this.#host(cell) }),
        );
        return { value, show: value !== undefined };
      }
    }
  }

  async #runCode(
    code: string,
    cell: CellContext | undefined,
  ): Promise<{ value: unknown; hasResult: boolean }> {
    const compiled = await this.#compile(code);
    const fileName = `cell${++this.#scripts}.ts`;
    const { sourceMap, shifts, sourceShifts } = compiled;
    this.#maps.add(fileName, { sourceMap, shifts, sourceShifts, lastLine: compiled.script.split('\n').length });
    for (const name of compiled.declared) this.#declared.add(name);
    const script = new vm.Script(compiled.script, { filename: fileName });
    if (!cell)
      return { value: await (script.runInThisContext() as Promise<unknown>), hasResult: compiled.hasResult };
    let promise: Promise<unknown>;
    try {
      promise = runInCell(cell, () => script.runInThisContext({ breakOnSigint: true }) as Promise<unknown>);
    } catch (err) {
      // breakOnSigint throws a plain Error; say what happened in the runtime's own terms.
      if (err instanceof Error && /interrupted by .?SIGINT/.test(err.message)) throw new Interrupted();
      throw err;
    }
    return { value: await promise, hasResult: compiled.hasResult };
  }

  async #compile(code: string): Promise<CompiledCell> {
    const cached = this.#compileCache.get(code);
    if (cached) return cached;
    const compiled = compileCell(await this.#typescript(), code, 'cell.ts');
    // Re-running the same cell (benchmarks, loops in a notebook) skips esbuild entirely.
    if (this.#compileCache.size > 500) this.#compileCache.clear();
    this.#compileCache.set(code, compiled);
    return compiled;
  }

  async #check(code: string): Promise<void> {
    const problems = await this.#language.request('check', code);
    if (problems.length > 0) throw new TypeCheckError(problems.join('\n'));
  }

  #typescript(): Promise<typeof TS> {
    this.#ts ??= import('typescript').then(
      (m) => ((m as unknown as { default?: typeof TS }).default ?? m) as typeof TS,
    );
    return this.#ts;
  }

  #host(cell: CellContext): MagicHost {
    return {
      run: async (code) => (await this.#runCode(code, cell)).value,
      compile: async (code) => {
        const compiled = await this.#compile(code);
        // The script evaluates to the wrapper function itself when its trailing call is dropped.
        const fn = new vm.Script(compiled.script.slice(0, -2), { filename: `cell${++this.#scripts}.ts` });
        return fn.runInThisContext() as () => unknown;
      },
      variables: () => this.variables(),
      print: (text) => cell.write('stdout', text.endsWith('\n') ? text : text + '\n'),
      typecheck: this.typecheck,
      magicNames: () => this.#magics.names(),
    };
  }

  #installGlobals(): void {
    const g = globalThis as Record<string | symbol, unknown>;
    g[HOST] = { import: (specifier: string) => importFrom(specifier, process.cwd()) };
    g[INTERRUPT_KEY] = this.#interruptFlag;
    const requireCell = (what: string): CellContext => {
      const cell = currentCell();
      if (!cell) throw new Error(`${what}() was called outside a cell`);
      return cell;
    };
    g.display = (value: unknown, options: { displayId?: string } = {}) => {
      const cell = requireCell('display');
      const displayId = options.displayId ?? randomUUID();
      cell.flush();
      cell.sink.display(toMimeBundle(value), { displayId });
      return {
        displayId,
        update(next: unknown): void {
          const target = currentCell() ?? cell;
          target.flush();
          target.sink.display(toMimeBundle(next), { displayId, update: true });
        },
      };
    };
    // Views that redraw in place (live plots, progress bars) display bundles through this; it
    // takes a bundle as it is, where display() above makes one from a value.
    g[FRONTEND_KEY] = {
      kind: this.#frontend,
      display: (bundle: MimeBundle, options: { displayId: string; update?: boolean }) => {
        const cell = currentCell();
        if (!cell) return;
        cell.flush();
        cell.sink.display(bundle, { displayId: options.displayId, update: options.update ?? false });
      },
    };
    g.clearOutput = (options: { wait?: boolean } = {}) => {
      const cell = requireCell('clearOutput');
      cell.flush();
      cell.sink.clearOutput(options.wait ?? false);
    };
    g.input = (prompt = '') => {
      const cell = requireCell('input');
      cell.flush();
      return cell.sink.input(String(prompt), false);
    };
    g.password = (prompt = '') => {
      const cell = requireCell('password');
      cell.flush();
      return cell.sink.input(String(prompt), true);
    };
    g[PAUSE_KEY] = (prompt = '') => {
      const cell = requireCell('pause');
      cell.flush();
      return cell.sink.pause(String(prompt), false);
    };
  }
}
