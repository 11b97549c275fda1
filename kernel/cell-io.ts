// Where a cell's output goes. The sink is passed in per cell; a timer remembers the cell that
// scheduled it, so its console.log reaches that cell's output even after the cell finished.
// See Note [no AsyncLocalStorage].
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import type { MimeBundle } from './protocol.js';

export interface DisplayOptions {
  displayId?: string;
  /** true sends update_display_data for an existing displayId. */
  update?: boolean;
  metadata?: Record<string, unknown>;
}

/** Everything a running cell can send to the person; the kernel and the REPL each implement it. */
export interface OutputSink {
  stream(name: 'stdout' | 'stderr', text: string): void;
  display(bundle: MimeBundle, options: DisplayOptions): void;
  clearOutput(wait: boolean): void;
  input(prompt: string, password: boolean): Promise<string>;
  /** Blocks the calling thread until the person answers (see DESIGN.md, "synchronous pause"). */
  pause(prompt: string, password: boolean): string;
}

type Timer = ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate>;

// The kernel's own timers (output batching) must not count as the cell's, which an interrupt cancels.
const kernelSetImmediate = setImmediate;

export class CellContext {
  readonly timers = new Set<Timer>();
  #buffer: { name: 'stdout' | 'stderr'; text: string }[] = [];
  #bufferedBytes = 0;
  #firstBufferedAt = 0;
  #flushScheduled = false;

  constructor(
    readonly id: number,
    readonly sink: OutputSink,
  ) {}

  /**
   * Stream text is batched: a cell printing 10,000 lines becomes a few messages, in order.
   * Batches go out after 50 ms or 64 KiB even while the cell still runs, and always before any
   * display message, so output order is kept.
   */
  write(name: 'stdout' | 'stderr', text: string): void {
    if (text.length === 0) return;
    const last = this.#buffer[this.#buffer.length - 1];
    if (last && last.name === name) last.text += text;
    else this.#buffer.push({ name, text });
    if (this.#bufferedBytes === 0) this.#firstBufferedAt = performance.now();
    this.#bufferedBytes += text.length;
    if (this.#bufferedBytes > 65536 || performance.now() - this.#firstBufferedAt > 50) this.flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      kernelSetImmediate(() => {
        this.#flushScheduled = false;
        this.flush();
      });
    }
  }

  flush(): void {
    const chunks = this.#buffer;
    this.#buffer = [];
    this.#bufferedBytes = 0;
    for (const c of chunks) this.sink.stream(c.name, c.text);
  }

  cancelTimers(): void {
    for (const t of this.timers) {
      clearTimeout(t as ReturnType<typeof setTimeout>);
      clearImmediate(t as ReturnType<typeof setImmediate>);
    }
    this.timers.clear();
  }
}

/**
 * Note [no AsyncLocalStorage]
 * AsyncLocalStorage would follow every callback, but on Node 20 it turns on async hooks, and with
 * async hooks on, stopping a cell with V8's terminateExecution (the only way to stop a loop that
 * spins after an `await`, see io-worker.ts) trips a CHECK in node::InternalCallbackScope and
 * aborts the process. It also slows every promise. So attribution is explicit: the cell running
 * now, else the cell whose timer is firing, else the running or last cell.
 */
let active: CellContext | undefined;

export function runInCell<T>(cell: CellContext, fn: () => T): T {
  const previous = active;
  active = cell;
  try {
    return fn();
  } finally {
    active = previous;
  }
}

let running: () => CellContext | undefined = () => undefined;
let last: () => CellContext | undefined = () => undefined;

/** The real process streams, for front ends (the REPL) that write to the terminal themselves. */
export const terminal = {
  stdout: process.stdout.write.bind(process.stdout) as (text: string) => boolean,
  stderr: process.stderr.write.bind(process.stderr) as (text: string) => boolean,
};
let installed = false;

/** The cell whose code is running now, or scheduled the callback that is, else the last one. */
export function currentCell(): CellContext | undefined {
  return active ?? running() ?? last();
}

/**
 * Routes console and process.stdout/stderr writes to the current cell; writes outside any cell
 * (the kernel's own) go where they always went. Timers are recorded per cell so that an
 * interrupt can cancel what the interrupted cell scheduled.
 */
export function installCellIo(find: {
  running: () => CellContext | undefined;
  last: () => CellContext | undefined;
}): void {
  running = find.running;
  last = find.last;
  if (installed) return;
  installed = true;
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = process[name];
    const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      // Not the last cell: between cells these streams belong to the front end (readline's
      // echo in the REPL), not to whichever cell ran last.
      const cell = active ?? running();
      if (!cell) return original(chunk, ...rest);
      cell.write(name, typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }) as typeof stream.write;
  }
  // _write runs synchronously inside console.log (the callback is called at once, so nothing
  // queues), which keeps the async context of the caller.
  const routed = (name: 'stdout' | 'stderr') =>
    new Writable({
      decodeStrings: false,
      write(chunk: string | Buffer, _encoding, callback) {
        const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
        const cell = currentCell();
        if (cell) cell.write(name, text);
        else terminal[name](text);
        callback();
      },
    });
  globalThis.console = new Console({ stdout: routed('stdout'), stderr: routed('stderr'), colorMode: false });
  trackTimers();
}

function trackTimers(): void {
  const g = globalThis as unknown as Record<string, (...a: unknown[]) => Timer>;
  for (const name of ['setTimeout', 'setInterval', 'setImmediate']) {
    const original = g[name]!;
    const wrapped = (...args: unknown[]): Timer => {
      const cell = currentCell();
      if (!cell || typeof args[0] !== 'function') return original(...args);
      const fn = args[0] as (...a: unknown[]) => unknown;
      const once = name !== 'setInterval';
      const handle: Timer = original(
        (...cbArgs: unknown[]) => {
          if (once) cell.timers.delete(handle);
          return runInCell(cell, () => fn(...cbArgs));
        },
        ...args.slice(1),
      );
      cell.timers.add(handle);
      return handle;
    };
    // util.promisify(setTimeout) relies on a symbol property of the original; keep them all.
    Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(original));
    g[name] = wrapped;
  }
}
