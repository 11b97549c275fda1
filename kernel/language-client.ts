// The TypeScript language service, kept off the thread that runs cells. See Note [language thread].
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type * as TS from 'typescript';
import type { CellLanguageService, Completion, Inspection } from './language-service.js';
import { log } from './log.js';

/**
 * Note [language thread]
 * Loading TypeScript's checker and building the first program over lib.*.d.ts and @types/node
 * takes 2-4 s of CPU. On the main thread that held up every cell queued behind the first
 * completion. A worker thread owns the language service instead: the main thread posts it each
 * cell that ran (in order, before any later request, so answers see every earlier cell) and asks
 * it for completions, inspections and %typecheck diagnostics; cells run meanwhile. The kernel
 * starts it once it has been idle a moment after its first cell (launch time and memory right
 * after start stay low), or at the first request that needs it.
 * Running from the .ts sources (vitest) there is no compiled worker file, so the service runs on
 * this thread, as before.
 */

/** Every request the language thread answers, with its arguments and reply (one typed map). */
export interface LanguageRequests {
  complete: { args: [code: string, cursor: number]; reply: Completion };
  inspect: { args: [code: string, cursor: number, detail: 0 | 1]; reply: Inspection };
  check: { args: [code: string]; reply: string[] };
}
export type LanguageMethod = keyof LanguageRequests;

export type ToLanguage =
  | { kind: 'cell'; code: string }
  | { [K in LanguageMethod]: { kind: 'request'; id: number; method: K; args: LanguageRequests[K]['args'] } }[LanguageMethod];

export type FromLanguage =
  | { kind: 'reply'; id: number; ok: true; value: unknown }
  | { kind: 'reply'; id: number; ok: false; message: string };

/** Answers one request on a loaded service (shared by the worker and the in-thread fallback). */
export function answer<K extends LanguageMethod>(
  ls: CellLanguageService,
  method: K,
  args: LanguageRequests[K]['args'],
): LanguageRequests[K]['reply'] {
  type R = LanguageRequests[K]['reply'];
  switch (method) {
    case 'complete': {
      const [code, cursor] = args as LanguageRequests['complete']['args'];
      return ls.complete(code, cursor) as R;
    }
    case 'inspect': {
      const [code, cursor, detail] = args as LanguageRequests['inspect']['args'];
      return ls.inspect(code, cursor, detail) as R;
    }
    case 'check': {
      const [code] = args as LanguageRequests['check']['args'];
      return ls.check(code) as R;
    }
    default:
      throw new Error(`unknown language request ${String(method)}`);
  }
}

const WORKER_FILE = new URL('./language-worker.js', import.meta.url);

export class LanguageServiceClient {
  readonly #cells: string[] = [];
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #useWorker: boolean;
  #worker: Worker | undefined;
  #inline: Promise<CellLanguageService> | undefined;
  #nextId = 0;

  constructor(options: { worker?: boolean } = {}) {
    this.#useWorker = options.worker ?? existsSync(fileURLToPath(WORKER_FILE));
  }

  /** Whether the service has been asked to load (it may still be loading). */
  get started(): boolean {
    return this.#worker !== undefined || this.#inline !== undefined;
  }

  /** Starts loading the service without waiting for it; harmless when already started. */
  start(): void {
    if (this.started) return;
    if (this.#useWorker) this.#startWorker();
    else this.#inline = loadInline(this.#cells);
  }

  /** Records a cell that ran; it reaches the service before any later request. */
  addCell(code: string): void {
    this.#cells.push(code);
    if (this.#worker) this.#worker.postMessage({ kind: 'cell', code } satisfies ToLanguage);
    else if (this.#inline) void this.#inline.then((ls) => ls.addCell(code));
  }

  request<K extends LanguageMethod>(
    method: K,
    ...args: LanguageRequests[K]['args']
  ): Promise<LanguageRequests[K]['reply']> {
    this.start();
    if (this.#inline) return this.#inline.then((ls) => answer(ls, method, args));
    const id = ++this.#nextId;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker!.ref();
      this.#worker!.postMessage({ kind: 'request', id, method, args } as ToLanguage);
    });
  }

  #startWorker(): void {
    const worker = new Worker(WORKER_FILE, { workerData: { languageService: true, cells: [...this.#cells] } });
    worker.on('message', (m: FromLanguage) => {
      const pending = this.#pending.get(m.id);
      if (!pending) return;
      this.#pending.delete(m.id);
      if (this.#pending.size === 0) worker.unref();
      if (m.ok) pending.resolve(m.value);
      else pending.reject(new Error(m.message));
    });
    const lost = (why: string) => {
      if (this.#worker !== worker) return;
      log(`language service thread ended: ${why}`);
      // The next request starts a new one, which replays every cell.
      this.#worker = undefined;
      for (const p of this.#pending.values()) p.reject(new Error(`the language service stopped: ${why}`));
      this.#pending.clear();
    };
    worker.on('error', (err) => lost(err.stack ?? err.message));
    worker.on('exit', (code) => lost(`exit code ${code}`));
    // Kept alive only while a request waits for its answer (the REPL exits on Ctrl-D with the
    // service loaded). After the listeners: adding a 'message' listener refs the port again.
    worker.unref();
    this.#worker = worker;
  }
}

async function loadInline(cells: string[]): Promise<CellLanguageService> {
  const [ts, { CellLanguageService }] = await Promise.all([loadTypescript(), import('./language-service.js')]);
  const ls = new CellLanguageService(ts, process.cwd());
  for (const code of cells) ls.addCell(code);
  return ls;
}

export async function loadTypescript(): Promise<typeof TS> {
  const m = await import('typescript');
  return ((m as unknown as { default?: typeof TS }).default ?? m) as typeof TS;
}
