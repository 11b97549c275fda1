// The main-thread half of the Jupyter kernel: takes decoded requests from the I/O worker in order,
// answers them through the typed request→reply map, and runs cells with the evaluator.
import type { Worker } from 'node:worker_threads';
import type { OutputSink } from './cell-io.js';
import { CommManager, COMMS_KEY } from './comms.js';
import { Interrupted, type Evaluator, type ExecuteOutcome } from './evaluator.js';
import { log } from './log.js';
import {
  assertNever,
  isCommMessageType,
  isRequestType,
  replyType,
  type ExecuteRequest,
  type HistoryReply,
  type HistoryRequest,
  type ReplyContent,
  type RequestContent,
  type RequestType,
} from './protocol.js';
import {
  PAUSE_INTERRUPTED,
  STATE,
  type Channel,
  type ToMain,
  type ToWorker,
  type WireMessage,
  wallClock,
} from './threads.js';
import { codePointsToUtf16, utf16ToCodePoints } from './unicode.js';

/** The history session number this kernel's cells are kept under (one per kernel process). */
const SESSION = 1;

interface HistoryEntry {
  line: number;
  input: string;
  /** The result's text/plain, as IPython keeps `Out[n]`; null for a cell that showed none. */
  output: string | null;
}

/** Quiet time after a cell before the language service starts loading (Note [language thread]). */
const WARM_LANGUAGE_AFTER_IDLE_MS = 400;

interface QueuedRequest {
  channel: 'shell' | 'control';
  message: WireMessage;
  receivedAt: number;
}

export interface KernelThreads {
  worker: Worker;
  state: Int32Array;
  pause: Uint8Array;
}

export class JupyterKernel {
  readonly #worker: Worker;
  readonly #state: Int32Array;
  readonly #pause: Uint8Array;
  readonly #evaluator: Evaluator;
  readonly #queue: QueuedRequest[] = [];
  readonly #history: HistoryEntry[] = [];
  readonly comms: CommManager;
  #executionCount = 0;
  #pumping = false;
  /** After an error with stop_on_error, requests received before this moment are aborted. */
  #abortBefore = 0;
  #current: WireMessage | undefined;
  #pendingInput: { resolve: (v: string) => void; reject: (e: Error) => void } | undefined;
  #onExit: (code: number) => void;
  #terminated: (() => void) | undefined;
  #ranACell = false;
  #warmTimer: NodeJS.Timeout | undefined;

  constructor(threads: KernelThreads, evaluator: Evaluator, onExit: (code: number) => void) {
    this.#worker = threads.worker;
    this.#state = threads.state;
    this.#pause = threads.pause;
    this.#evaluator = evaluator;
    this.#onExit = onExit;
    this.comms = new CommManager((msgType, content) => this.#send('iopub', msgType, content, this.#current));
    (globalThis as Record<symbol, unknown>)[COMMS_KEY] = this.comms;
  }

  /** SIGINT from the front end (interrupt_mode "signal") or the terminal. */
  interrupt(): void {
    this.#pendingInput?.reject(new Interrupted());
    this.#pendingInput = undefined;
    this.#evaluator.interrupt();
  }

  /** A message from the I/O worker (launch.ts subscribes this, and replays what came early). */
  receive(m: ToMain): void {
    switch (m.kind) {
      case 'request':
        this.#queue.push(m);
        if (!this.#pumping) void this.#pump();
        break;
      case 'input_reply':
        this.#pendingInput?.resolve(m.value);
        this.#pendingInput = undefined;
        break;
      case 'interrupted':
        this.interrupt();
        // The termination may have landed in the evaluator's own code, killing the frames that
        // would have settled the cell; the kernel stops waiting for them.
        this.#terminated?.();
        break;
      case 'shutdown':
        this.#post({ kind: 'close' });
        break;
      case 'closed':
        this.#onExit(0);
        break;
      case 'bound':
        break;
      default:
        assertNever(m);
    }
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    clearTimeout(this.#warmTimer);
    while (this.#queue.length > 0) {
      const request = this.#queue.shift()!;
      const type = request.message.header.msg_type;
      const failed = (err: unknown) => log(`error handling ${type}: ${(err as Error).stack}`);
      // Answered by the language thread, which may still be loading: cells queued behind a
      // completion must not wait for it (Note [language thread]).
      if (type === 'complete_request' || type === 'inspect_request') {
        this.#handle(request, false).catch(failed);
        continue;
      }
      try {
        await this.#handle(request);
      } catch (err) {
        failed(err);
      }
      if (type === 'execute_request') this.#ranACell = true;
    }
    this.#pumping = false;
    if (this.#ranACell && this.#evaluator.warmLanguageService) {
      const warm = this.#evaluator.warmLanguageService.bind(this.#evaluator);
      this.#warmTimer = setTimeout(warm, WARM_LANGUAGE_AFTER_IDLE_MS);
      this.#warmTimer.unref();
    }
  }

  async #handle({ channel, message, receivedAt }: QueuedRequest, ownsCurrent = true): Promise<void> {
    const type = message.header.msg_type;
    if (ownsCurrent) this.#current = message;
    this.#send('iopub', 'status', { execution_state: 'busy' }, message);
    try {
      if (isCommMessageType(type)) {
        if (type === 'comm_open') this.comms.handleOpen(message.content);
        else if (type === 'comm_msg') this.comms.handleMessage(message.content);
        else this.comms.handleClose(message.content);
      } else if (isRequestType(type)) {
        await this.#answer(channel, type, message, receivedAt);
      } else {
        log(`ignored a message of unknown type ${type}`);
      }
    } finally {
      this.#send('iopub', 'status', { execution_state: 'idle' }, message);
    }
  }

  async #answer(
    channel: 'shell' | 'control',
    type: RequestType,
    m: WireMessage,
    receivedAt: number,
  ): Promise<void> {
    const reply = <K extends RequestType>(k: K, content: ReplyContent<K>): void =>
      this.#send(channel, replyType(k), content, m);
    switch (type) {
      case 'execute_request':
        try {
          return reply(type, await this.#execute(m, m.content as unknown as ExecuteRequest, receivedAt));
        } finally {
          // The last queued cell is done: an interrupt left for "the next cell" has no cell left.
          if (Atomics.sub(this.#state, STATE.QUEUED, 1) === 1) {
            Atomics.store(this.#state, STATE.PENDING_INTERRUPT, 0);
          }
        }
      case 'complete_request': {
        const { code, cursor } = codeAndCursor(m.content);
        const c = await this.#evaluator.complete(code, cursor);
        const toCp = (i: number) => utf16ToCodePoints(code, i);
        return reply(type, {
          status: 'ok',
          matches: c.matches,
          cursor_start: toCp(c.cursorStart),
          cursor_end: toCp(c.cursorEnd),
          metadata: {
            _jupyter_types_experimental: c.types.map((t) => ({
              ...t,
              start: toCp(t.start),
              end: toCp(t.end),
            })),
          },
        });
      }
      case 'inspect_request': {
        const { code, cursor } = codeAndCursor(m.content);
        const detail = m.content.detail_level === 1 ? 1 : 0;
        const found = await this.#evaluator.inspect(code, cursor, detail);
        return reply(type, { status: 'ok', found: found.found, data: found.data, metadata: {} });
      }
      case 'is_complete_request':
        return reply(type, this.#evaluator.isComplete(String(m.content.code ?? '')));
      case 'history_request':
        return reply(type, {
          status: 'ok',
          history: this.#historyFor(m.content as unknown as HistoryRequest),
        });
      case 'comm_info_request': {
        const target = (m.content as RequestContent<typeof type>).target_name;
        return reply(type, { status: 'ok', comms: this.comms.info(target) });
      }
      // The I/O worker answers these three itself (they must work while a cell runs); one that
      // reaches this thread was answered already and must not be answered twice.
      case 'kernel_info_request':
      case 'interrupt_request':
      case 'shutdown_request':
        log(`${type} reached the main thread; the I/O worker should have answered it`);
        return;
      default:
        return assertNever(type);
    }
  }

  async #execute(
    m: WireMessage,
    req: ExecuteRequest,
    receivedAt: number,
  ): Promise<ReplyContent<'execute_request'>> {
    const silent = Boolean(req.silent);
    // As in IPython, silent forces store_history off (no count, no history entry).
    const storeHistory = !silent && (req.store_history ?? true);
    const code = String(req.code ?? '');
    if (receivedAt <= this.#abortBefore) return { status: 'aborted', execution_count: this.#executionCount };
    if (storeHistory) this.#executionCount++;
    const count = this.#executionCount;
    const entry: HistoryEntry | undefined = storeHistory ? { line: count, input: code, output: null } : undefined;
    if (entry) this.#history.push(entry);
    if (!silent) this.#send('iopub', 'execute_input', { code, execution_count: count }, m);
    // Loading TypeScript is the kernel's own work: an interrupt escalated to terminateExecution
    // must never land in it, so the cell counts as running only once it is loaded.
    await this.#evaluator.ready();
    Atomics.add(this.#state, STATE.CELL, 1);
    Atomics.store(this.#state, STATE.RUNNING, 1);
    let outcome: ExecuteOutcome;
    try {
      if (Atomics.exchange(this.#state, STATE.PENDING_INTERRUPT, 0) === 1) {
        // Interrupted before it started (see interrupt() in io-worker.ts): report, do not run.
        outcome = interruptedOutcome();
      } else {
        const terminated = new Promise<ExecuteOutcome>((resolve) => {
          this.#terminated = () => resolve(interruptedOutcome());
        });
        const sink = this.#sink(m, req.allow_stdin !== false);
        outcome = await Promise.race([
          this.#evaluator.execute(code, sink, { executionCount: count }),
          terminated,
        ]);
      }
    } finally {
      this.#terminated = undefined;
      Atomics.store(this.#state, STATE.RUNNING, 0);
    }
    if (outcome.status === 'error') {
      const { ename, evalue, traceback } = outcome;
      this.#send('iopub', 'error', { ename, evalue, traceback }, m);
      if (req.stop_on_error !== false) this.#abortBefore = wallClock();
      return { status: 'error', execution_count: count, ename, evalue, traceback };
    }
    if (outcome.result && !silent) {
      if (entry) entry.output = String(outcome.result['text/plain'] ?? '');
      this.#send(
        'iopub',
        'execute_result',
        { execution_count: count, data: outcome.result, metadata: {} },
        m,
      );
    }
    const userExpressions: Record<string, unknown> = {};
    for (const [name, expr] of Object.entries(req.user_expressions ?? {})) {
      const r = await this.#evaluator.evaluateExpression(String(expr));
      userExpressions[name] =
        r.status === 'ok' ? { status: 'ok', data: r.result ?? {}, metadata: {} } : { ...r, status: 'error' };
    }
    return { status: 'ok', execution_count: count, user_expressions: userExpressions, payload: [] };
  }

  /** As IPython's history manager: entries of this session, with the outputs when asked. */
  #historyFor(req: HistoryRequest): HistoryReply['history'] {
    const shape = (e: HistoryEntry): HistoryReply['history'][number] =>
      req.output ? [SESSION, e.line, [e.input, e.output]] : [SESSION, e.line, e.input];
    // Session 0 (or none) is the current one, as is a negative offset of 0; this kernel keeps no
    // earlier sessions.
    if (req.session !== undefined && req.session !== 0 && req.session !== SESSION) return [];
    switch (req.hist_access_type) {
      case 'tail':
        return this.#history.slice(-(req.n ?? 10)).map(shape);
      case 'range':
        return this.#history
          .filter((e) => e.line >= (req.start ?? 0) && (req.stop === undefined || e.line < req.stop))
          .map(shape);
      case 'search': {
        const escaped = String(req.pattern ?? '*').replace(/[.+^${}()|[\]\\]/g, '\\$&');
        const pattern = new RegExp('^' + escaped.replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 's');
        let found = this.#history.filter((e) => pattern.test(e.input));
        // unique: each input once, where it was last run.
        if (req.unique) {
          const last = new Map(found.map((e, i) => [e.input, i]));
          found = found.filter((e, i) => last.get(e.input) === i);
        }
        return (req.n ? found.slice(-req.n) : found).map(shape);
      }
      default:
        return [];
    }
  }

  #sink(parent: WireMessage, allowStdin: boolean): OutputSink {
    const noStdin = () => new Error('this front end does not accept input (allow_stdin is false)');
    return {
      stream: (name, text) => this.#send('iopub', 'stream', { name, text }, parent),
      display: (data, { displayId, update, metadata }) =>
        this.#send(
          'iopub',
          update ? 'update_display_data' : 'display_data',
          { data, metadata: metadata ?? {}, transient: displayId ? { display_id: displayId } : {} },
          parent,
        ),
      clearOutput: (wait) => this.#send('iopub', 'clear_output', { wait }, parent),
      input: (prompt, password) => {
        if (!allowStdin) return Promise.reject(noStdin());
        return new Promise<string>((resolve, reject) => {
          this.#pendingInput = { resolve, reject };
          this.#post({ kind: 'input', prompt, password, parent, sync: false });
        });
      },
      pause: (prompt, password) => {
        if (!allowStdin) throw noStdin();
        Atomics.store(this.#state, STATE.PAUSE, 0);
        this.#post({ kind: 'input', prompt, password, parent, sync: true });
        // Blocks this thread on purpose: the caller (a debugger inside an op) cannot await.
        Atomics.wait(this.#state, STATE.PAUSE, 0);
        if (Atomics.load(this.#state, STATE.PAUSE) === PAUSE_INTERRUPTED) throw new Interrupted();
        const length = Atomics.load(this.#state, STATE.PAUSE_LENGTH);
        return Buffer.from(this.#pause.subarray(0, length)).toString('utf8');
      },
    };
  }

  #send(channel: Channel, msgType: string, content: unknown, parent: WireMessage | undefined): void {
    this.#post({ kind: 'send', channel, msgType, content, parent });
  }

  #post(m: ToWorker): void {
    this.#worker.postMessage(m);
  }
}

/** A client's code and cursor_pos (code points), made safe to use: a bad request gets a reply too. */
function codeAndCursor(content: Record<string, unknown>): { code: string; cursor: number } {
  const code = typeof content.code === 'string' ? content.code : '';
  const cp = typeof content.cursor_pos === 'number' ? content.cursor_pos : [...code].length;
  return { code, cursor: codePointsToUtf16(code, Math.max(0, cp)) };
}

function interruptedOutcome(): ExecuteOutcome {
  const { name, message } = new Interrupted();
  return { status: 'error', ename: name, evalue: message, traceback: [`${name}: ${message}`] };
}
